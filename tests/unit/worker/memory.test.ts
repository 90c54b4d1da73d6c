// The worker's memory diagnostics: Celery's humanbytes and sample spreading, the bounded sample buffer and its
// timer (fake timers), memdump's text, and counting a heap snapshot's objects by constructor.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { countByConstructor } from '../../../src/worker/heap.js';
import { humanBytes, MAX_SAMPLES, MemorySampler, spread, type MemSample } from '../../../src/worker/memory.js';

const MB = 2 ** 20;

describe('humanBytes (Celery\'s humanbytes)', () => {
  it.each([
    [0, '0b'],
    [512, '512b'],
    [1024, '1KB'],
    [1536, '1.5KB'],
    [51.23456 * MB, '51.235MB'],
    [3 * 2 ** 30, '3GB'],
    [2 ** 41, '2TB'],
  ])('%d -> %s', (n, text) => expect(humanBytes(n)).toBe(text));
});

describe('spread (Celery\'s debug.sample)', () => {
  it('keeps short lists, spreads long ones evenly', () => {
    expect(spread([1, 2, 3], 10)).toEqual([1, 2, 3]);
    expect(spread(Array.from({ length: 100 }, (_, i) => i), 10)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });
});

describe('MemorySampler', () => {
  let rss = 10 * MB;
  const fake = (): MemSample => ({ at: Date.now(), rss: (rss += MB), heapUsed: rss / 2, heapTotal: rss, external: 0 });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('dumps the samples as Celery\'s memdump, then starts afresh', () => {
    rss = 10 * MB;
    const m = new MemorySampler(fake);
    m.sample();
    m.sample();
    expect(m.dump()).toBe(['- rss (sample):', '-    > 11MB,', '-    > 12MB,', '- heap used (sample):', '-    > 5.5MB,', '-    > 6MB,', '- rss (end): 13MB.', '- heap used (end): 6.5MB.', ''].join('\n'));
    expect(m.size).toBe(0);
    expect(m.dump()).toBe('- rss (end): 14MB.\n- heap used (end): 7MB.\n');
  });

  it('keeps at most MAX_SAMPLES, the newest', () => {
    const m = new MemorySampler(fake);
    for (let i = 0; i < MAX_SAMPLES + 5; i++) m.sample();
    expect(m.size).toBe(MAX_SAMPLES);
  });

  it('samples on a timer only while asked: `count` samples, then it stops; 0 stops it at once', () => {
    vi.useFakeTimers();
    const m = new MemorySampler(fake);
    m.every(2, 3);
    expect(m.active).toEqual({ every: true, left: 3 });
    vi.advanceTimersByTime(10_000);
    expect(m.size).toBe(3);
    expect(m.active).toEqual({ every: false, left: 0 });
    m.every(1, 100);
    vi.advanceTimersByTime(2_000);
    m.every(0, 100);
    vi.advanceTimersByTime(10_000);
    expect(m.size).toBe(5);
  });
});

describe('countByConstructor', () => {
  it('counts object nodes by name and closures apart, skipping the rest', () => {
    const meta = { node_fields: ['type', 'name', 'id', 'self_size'], node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure']] };
    const strings = ['Request', 'Object', 'hello', 'fn'];
    // type, name, id, self_size per node
    const nodes = [3, 0, 1, 40, 3, 0, 3, 40, 3, 1, 5, 16, 2, 2, 7, 10, 5, 3, 9, 32, 5, 3, 11, 32];
    expect(Object.fromEntries(countByConstructor({ snapshot: { meta }, nodes, strings }))).toEqual({ Request: 2, Object: 1, '(closure)': 2 });
  });
});
