// Pure parts of the worker engine: rates and the token bucket, the ETA heap, the revoked set, retry back-off.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { parseRate, TokenBucket } from '../../../src/util/rate.js';
import { EtaHeap } from '../../../src/worker/eta.js';
import { backoffSeconds } from '../../../src/worker/retry.js';

describe('parseRate', () => {
  it.each([
    ['10/s', 10],
    ['100/m', 100 / 60],
    ['5/h', 5 / 3600],
    ['7', 7],
    [' 2.5 / s ', 2.5],
    ['0', 0],
    [3, 3],
  ] as const)('%s -> %d per second', (rate, perSecond) => {
    expect(parseRate(rate)).toBeCloseTo(perSecond, 10);
  });

  it.each(['fast', '10/d', '/s', '-1/s', '10 per second', ''])('refuses %j with how to write one', (rate) => {
    expect(() => parseRate(rate)).toThrow(ConfigError);
    expect(() => parseRate(rate)).toThrow(/'10\/s'/);
  });

  it('refuses negative and non-finite numbers', () => {
    expect(() => parseRate(-1)).toThrow(ConfigError);
    expect(() => parseRate(Number.NaN)).toThrow(ConfigError);
  });
});

describe('TokenBucket', () => {
  it('gives one token at once, then one per 1/rate seconds', () => {
    let now = 0;
    const b = new TokenBucket(2, 1, () => now);
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    expect(b.wait()).toBe(500);
    now = 250;
    expect(b.take()).toBe(false);
    expect(b.wait()).toBe(250);
    now = 500;
    expect(b.take()).toBe(true);
    now = 10_000;
    // Capacity 1: a long idle time saves up one token only.
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
  });
});

describe('EtaHeap', () => {
  it('releases entries in due order, including ones pushed out of order, and can remove and drain', async () => {
    const out: string[] = [];
    const heap = new EtaHeap<string>((x) => out.push(x));
    const t = Date.now();
    heap.push('c', t + 60, 'c');
    heap.push('a', t + 20, 'a');
    heap.push('x', t + 40, 'x');
    heap.push('b', t + 40, 'b');
    heap.push('late', t + 60_000, 'late');
    expect(heap.remove('x')).toBe('x');
    expect(heap.entries().map((e) => e.id)).toEqual(['a', 'b', 'c', 'late']);
    await new Promise((r) => setTimeout(r, 150));
    expect(out).toEqual(['a', 'b', 'c']);
    expect(heap.drain()).toEqual(['late']);
    expect(heap.size).toBe(0);
  });

  it('an earlier entry re-arms the timer', async () => {
    const out: string[] = [];
    const heap = new EtaHeap<string>((x) => out.push(x));
    heap.push('far', Date.now() + 10_000, 'far');
    heap.push('near', Date.now() + 10, 'near');
    await new Promise((r) => setTimeout(r, 80));
    expect(out).toEqual(['near']);
    heap.drain();
  });
});

describe('retry back-off (Celery get_exponential_backoff_interval)', () => {
  it('doubles from the factor up to the cap; without retryBackoff there is none', () => {
    const opts = { retryBackoff: true, retryJitter: false } as const;
    expect([0, 1, 2, 3].map((r) => backoffSeconds(r, opts))).toEqual([1, 2, 4, 8]);
    expect(backoffSeconds(20, opts)).toBe(600);
    expect(backoffSeconds(3, { retryBackoff: 3, retryBackoffMax: 10, retryJitter: false })).toBe(10);
    expect(backoffSeconds(3, {})).toBeUndefined();
  });

  it('full jitter picks a whole number of seconds in [0, delay]', () => {
    expect(backoffSeconds(3, { retryBackoff: true }, () => 0)).toBe(0);
    expect(backoffSeconds(3, { retryBackoff: true }, () => 0.999)).toBe(8);
  });
});
