import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines } from '../../../src/util/deadlines.js';

describe('Deadlines (many timeouts on one timer)', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('expires items in deadline order, whatever the order they were added in', () => {
    const fired: string[] = [];
    const d = new Deadlines<string>((x) => fired.push(x));
    d.add('c', 300);
    d.add('a', 100);
    d.add('b', 200);
    d.add('a2', 100);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired.sort()).toEqual(['a', 'a2']);
    vi.advanceTimersByTime(200);
    expect(fired).toEqual(['a', 'a2', 'b', 'c']);
    expect(d.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a cancelled item never expires, and the last cancel leaves no timer behind', () => {
    const fired: number[] = [];
    const d = new Deadlines<number>((x) => fired.push(x));
    const one = d.add(1, 50);
    const two = d.add(2, 60);
    d.cancel(one);
    d.cancel(one);
    expect(d.size).toBe(1);
    vi.advanceTimersByTime(55);
    expect(fired).toEqual([]);
    d.cancel(two);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
  });

  it('an earlier deadline added later re-arms the timer', () => {
    const fired: string[] = [];
    const d = new Deadlines<string>((x) => fired.push(x));
    d.add('late', 1000);
    d.add('early', 10);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['early']);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('stays correct through compaction of a mostly cancelled heap', () => {
    const fired: number[] = [];
    const d = new Deadlines<number>((x) => fired.push(x));
    const entries = Array.from({ length: 1000 }, (_, i) => d.add(i, 1000 - i));
    for (const e of entries) if (e.item % 10 !== 0) d.cancel(e);
    expect(d.size).toBe(100);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(Array.from({ length: 100 }, (_, i) => 990 - i * 10));
  });
});
