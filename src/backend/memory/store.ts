/**
 * The memory:// store: one Map of entries, each holding a key's value, its expiry, the task state of a stored
 * result, and the `waitFor` calls parked on the key. A result write finds its waiters with the same lookup
 * that reads the old value, and a wait finds the value with the lookup that parks it: one map of every result
 * kept for `resultExpires`, instead of a second map of waiters beside it.
 */
import { copyFlatMeta, parseResultMeta, type ResultMeta } from '../../protocol/result-meta.js';
import { isReady } from '../../protocol/states.js';
import type { KeyValueStore } from '../kv-store.js';
import type { WaitOptions } from '../types.js';
import { waitNew, waiterDeadlines, type Waiter } from '../waiter.js';

/**
 * What a key holds: its text, or a result record kept as an object of its own when every field is a JSON
 * scalar (`copyFlatMeta`: no JSON text made or parsed for it; the text is made only if something reads it).
 */
export type Stored = string | ResultMeta;

/** A key's record. `value` undefined: nothing stored (the entry only holds waiters). */
export class Entry {
  /** The state of a text result written by the backend (spares a parse of `value`); undefined when unknown. */
  status: string | undefined = undefined;
  waiters: Waiter | Waiter[] | undefined = undefined;
  constructor(
    public value: Stored | undefined,
    /** ms since the epoch; 0 = never. */
    public expiresAt: number,
  ) {}
}

const textOf = (value: Stored): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** A new copy of a stored result for one reader. */
function copyOf(value: Stored, taskId: string): ResultMeta {
  return (typeof value === 'string' ? undefined : copyFlatMeta(value, taskId)) ?? parseResultMeta(textOf(value), taskId);
}

/** Exported for tests of code built on KeyValueStore. */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly values = new Map<string, Entry>();
  private readonly listeners = new Set<(key?: string, value?: string) => void>();
  /** Waiters parked on entries, in all. */
  private parkedCount = 0;
  /** Keeps the process alive while a wait is parked, as a pending socket read would. */
  private keepAlive: NodeJS.Timeout | undefined;

  private readonly failWaiter = (w: Waiter, e: Error): void => {
    if (this.unpark(this.taskPrefix + w.taskId, w)) {
      w.done(this.deadlines);
      w.reject(e);
    }
  };
  /** One timer for the parked waiters' timeouts. */
  private readonly deadlines = waiterDeadlines(this.failWaiter);

  /** `taskPrefix`: what `waitResult` puts before a task id to make its key. */
  constructor(private readonly taskPrefix = '') {}

  open(): void {}
  close(): void {}

  /** The key's entry, its value dropped when expired (an entry holding no value and no waiters is removed). */
  lookup(key: string): Entry | undefined {
    const entry = this.values.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      if (entry.waiters === undefined) {
        this.values.delete(key);
        return undefined;
      }
      entry.value = undefined;
      entry.status = undefined;
      entry.expiresAt = 0;
    }
    return entry;
  }

  get(key: string): string | undefined {
    const value = this.lookup(key)?.value;
    return value === undefined ? undefined : textOf(value);
  }

  mget(keys: readonly string[]): (string | undefined)[] {
    return keys.map((k) => this.get(k));
  }

  update(key: string, fn: (current: string | undefined) => string | undefined, ttlMs: number): void {
    const entry = this.lookup(key);
    const next = fn(entry?.value === undefined ? undefined : textOf(entry.value));
    if (next !== undefined) this.write(key, entry, next, undefined, ttlMs);
  }

  /**
   * Writes `value` (text, or a flat record of its own) to the key's entry as found by `lookup` (one map lookup
   * for the whole write), and settles the entry's waiters when it is a result in a ready state. `status`: the
   * state of a text result, when the writer knows it.
   */
  write(key: string, entry: Entry | undefined, value: Stored, status: string | undefined, ttlMs: number): void {
    const expiresAt = ttlMs > 0 ? Date.now() + ttlMs : 0;
    if (entry === undefined) {
      entry = new Entry(value, expiresAt);
      this.values.set(key, entry);
    } else {
      entry.value = value;
      entry.expiresAt = expiresAt;
    }
    entry.status = status;
    if (entry.waiters !== undefined) this.settle(entry, value);
    if (this.listeners.size > 0) {
      const text = textOf(value);
      for (const l of this.listeners) l(key, text);
    }
  }

  /** The state of the key's stored result, undefined when none or unreadable. */
  statusOf(entry: Entry | undefined): string | undefined {
    const value = entry?.value;
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return value.status;
    if (entry?.status !== undefined) return entry.status;
    try {
      return (JSON.parse(value) as ResultMeta).status;
    } catch {
      return undefined;
    }
  }

  delete(key: string): void {
    const entry = this.values.get(key);
    if (entry === undefined) return;
    // Waiters parked on a forgotten key still wait for its next write.
    if (entry.waiters === undefined) this.values.delete(key);
    else {
      entry.value = undefined;
      entry.status = undefined;
      entry.expiresAt = 0;
    }
  }

  watch(listener: (key?: string, value?: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the task's record (a copy of its own) once it holds a ready state: at once when it does,
   * else when it is written.
   */
  waitResult(taskId: string, options: WaitOptions): Promise<ResultMeta> {
    const key = this.taskPrefix + taskId;
    const entry = this.lookup(key);
    let seen: string | undefined;
    if (entry?.value !== undefined) {
      let meta: ResultMeta;
      try {
        meta = copyOf(entry.value, taskId);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      if (isReady(meta.status)) return Promise.resolve(meta);
      seen = meta.status;
    }
    return waitNew(taskId, options, seen, this.deadlines, this.failWaiter, (w) => this.park(key, entry, w));
  }

  /** Fails every parked wait (the backend is closing). */
  failWaiters(error: (taskId: string) => Error): void {
    for (const [key, w] of this.parked()) {
      if (this.unpark(key, w)) {
        w.done(this.deadlines);
        w.reject(error(w.taskId));
      }
    }
  }

  /** Parks a waiter on the key's entry (`entry`: what `lookup(key)` returned just before, if anything). */
  private park(key: string, entry: Entry | undefined, waiter: Waiter): void {
    if (entry === undefined) {
      entry = new Entry(undefined, 0);
      this.values.set(key, entry);
    }
    const held = entry.waiters;
    if (held === undefined) entry.waiters = waiter;
    else if (Array.isArray(held)) held.push(waiter);
    else entry.waiters = [held, waiter];
    if (this.parkedCount++ === 0) this.keepAlive = setInterval(() => undefined, 1 << 30);
  }

  /** Takes a waiter off its key's entry; false when it is not parked (already settled or failed). */
  private unpark(key: string, waiter: Waiter): boolean {
    const entry = this.values.get(key);
    const held = entry?.waiters;
    if (entry === undefined || held === undefined) return false;
    if (held === waiter) entry.waiters = undefined;
    else if (Array.isArray(held)) {
      const i = held.indexOf(waiter);
      if (i === -1) return false;
      held.splice(i, 1);
      if (held.length === 0) entry.waiters = undefined;
    } else return false;
    if (entry.waiters === undefined && entry.value === undefined) this.values.delete(key);
    this.unparked(1);
    return true;
  }

  /** Every parked waiter with its key (to fail them all when the backend closes). */
  private parked(): [key: string, waiter: Waiter][] {
    const out: [string, Waiter][] = [];
    if (this.parkedCount === 0) return out;
    for (const [key, entry] of this.values) {
      const held = entry.waiters;
      if (held === undefined) continue;
      for (const w of Array.isArray(held) ? held : [held]) out.push([key, w]);
    }
    return out;
  }

  /** Resolves the entry's waiters, each with its own copy of the record, when `value` holds a ready state. */
  private settle(entry: Entry, value: Stored): void {
    const held = entry.waiters as Waiter | Waiter[];
    const first = Array.isArray(held) ? (held[0] as Waiter) : held;
    let meta;
    try {
      meta = copyOf(value, first.taskId);
    } catch {
      return; // Not a result record: the waiters wait for one.
    }
    if (!isReady(meta.status)) return;
    entry.waiters = undefined;
    if (Array.isArray(held)) {
      this.unparked(held.length);
      held.forEach((w, i) => {
        w.done(this.deadlines);
        w.resolve(i === 0 ? meta : copyOf(value, w.taskId));
      });
    } else {
      this.unparked(1);
      held.done(this.deadlines);
      held.resolve(meta);
    }
  }

  private unparked(n: number): void {
    this.parkedCount -= n;
    if (this.parkedCount === 0) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }
}
