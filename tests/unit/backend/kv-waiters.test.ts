// KeyValueWaiters against a synchronous store whose writes come from "another process": a write that lands
// between get()'s read and the start of the store's watch sends no change event (SQLite's inotify watch
// sees only what happens after it starts). The waiter must still settle at once, not at the next poll.
import { describe, expect, it } from 'vitest';
import { KeyValueWaiters } from '../../../src/backend/kv-waiters.js';
import type { KeyValueStore } from '../../../src/backend/kv-store.js';

const done = (id: string): string => JSON.stringify({ status: 'SUCCESS', result: 42, traceback: null, children: [], date_done: '2026-11-22T00:00:00.000000', task_id: id });

/**
 * A Map-backed synchronous store; `onWatch` runs when a watch starts (a write that gets no event); `update`
 * tells the watchers "something changed" with no key, as SQLite's file watch does.
 */
function store(onWatch: (values: Map<string, string>) => void): KeyValueStore & { watches: number; unwatches: number } {
  const values = new Map<string, string>();
  const listeners = new Set<() => void>();
  const s = {
    watches: 0,
    unwatches: 0,
    open: () => undefined,
    close: () => undefined,
    get: (k: string) => values.get(k),
    mget: (ks: readonly string[]) => ks.map((k) => values.get(k)),
    update: (k: string, fn: (c: string | undefined) => string | undefined) => {
      const v = fn(values.get(k));
      if (v !== undefined) values.set(k, v);
      for (const l of listeners) l();
    },
    delete: (k: string) => void values.delete(k),
    watch: (listener: () => void) => {
      s.watches++;
      onWatch(values);
      listeners.add(listener);
      return () => {
        s.unwatches++;
        listeners.delete(listener);
      };
    },
  };
  return s;
}

describe('KeyValueWaiters', () => {
  it('settles a result written between the read and the start of the watch without waiting for the poll', async () => {
    const s = store((values) => values.set('celery-task-meta-t1', done('t1')));
    const waiters = new KeyValueWaiters(s, 'celery-task-meta-', 60_000);
    const started = Date.now();
    await expect(waiters.waitFor('t1', { timeout: 5_000 })).resolves.toMatchObject({ status: 'SUCCESS', result: 42 });
    expect(Date.now() - started).toBeLessThan(5_000);
    waiters.failAll(() => new Error('closed'));
  });

  it('keeps one watch across a run of waits and drops it when closed', async () => {
    let n = 0;
    const s = store(() => undefined);
    const waiters = new KeyValueWaiters(s, 'k-', 60_000);
    for (let i = 0; i < 5; i++) {
      const id = `t${n++}`;
      const p = waiters.waitFor(id, { timeout: 5_000 });
      await s.update(`k-${id}`, () => done(id), 0);
      await expect(p).resolves.toMatchObject({ status: 'SUCCESS', task_id: id });
    }
    expect(s.watches).toBe(1);
    waiters.failAll(() => new Error('closed'));
    expect(s.unwatches).toBe(1);
  });
});
