/**
 * The waiting half of KeyValueBackend: pending `waitFor` calls (one waiter object each, timeouts on one
 * shared timer), one change listener on the store for all of them, settled from the written value when the
 * store passes it, else from its change feed or a read of the awaited keys.
 */
import { parseResultMeta, type ResultMeta } from '../protocol/result-meta.js';
import { isReady } from '../protocol/states.js';
import type { KeyValueStore, MaybePromise } from './kv-store.js';
import type { WaitOptions } from './types.js';
import { waitNew, waiterDeadlines, type Waiter } from './waiter.js';

/** Most entries a store returns from one `changes()` call. */
export const CHANGE_PAGE = 5000;
/** ms the store's watch stays up after the last waiter left. */
const WATCH_LINGER_MS = 2000;

export class KeyValueWaiters {
  /** One timer for every waiter's timeout. */
  private readonly failWaiter = (w: Waiter, e: Error): void => this.fail(w, e);
  private readonly deadlines = waiterDeadlines(this.failWaiter);
  /** Awaited task ids: one waiter, or several waiting on the same id. */
  private readonly waiters = new Map<string, Waiter | Waiter[]>();
  private unwatch: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private linger: NodeJS.Timeout | undefined;
  private checking = false;
  private recheck = false;
  /** Awaited ids to read one by one (a new waiter, or a key the store said changed). */
  private readonly dirty = new Set<string>();
  /** Something changed but the store could not say what: read the change feed, or every awaited key. */
  private unknownChange = false;
  private cursor: number | undefined;

  constructor(
    private readonly store: KeyValueStore,
    private readonly taskPrefix: string,
    private readonly pollInterval: number,
  ) {}

  /** Fails every pending waiter (the backend is closing) and stops listening. */
  failAll(error: (taskId: string) => Error): void {
    for (const entry of [...this.waiters.values()]) {
      for (const w of Array.isArray(entry) ? [...entry] : [entry]) this.fail(w, error(w.taskId));
    }
    this.stopWatching();
    this.unwatchNow();
  }

  /** Waits on an open store: resolves with the ready meta, now or when it is written. */
  waitFor(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    let text: MaybePromise<string | undefined>;
    try {
      text = this.store.get(this.taskPrefix + taskId);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    // A synchronous store (memory, SQLite) is read without a promise hop: this is the hot path of get().
    if (text instanceof Promise) return text.then((t) => this.waitWith(taskId, t, options, true));
    return this.waitWith(taskId, text, options, false);
  }

  /**
   * Resolves at once when `text` (the stored record) is ready, else registers a waiter. `recheck`: the
   * record was read asynchronously, so the result may have landed since.
   */
  private waitWith(taskId: string, text: string | undefined, options: WaitOptions, recheck: boolean): Promise<ResultMeta> {
    let first: ResultMeta | undefined;
    if (text !== undefined) {
      try {
        first = parseResultMeta(text, taskId);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      if (isReady(first.status)) return Promise.resolve(first);
    }
    return waitNew(taskId, options, first?.status, this.deadlines, this.failWaiter, (waiter) => {
      const entry = this.waiters.get(taskId);
      if (entry === undefined) this.waiters.set(taskId, waiter);
      else if (Array.isArray(entry)) entry.push(waiter);
      else this.waiters.set(taskId, [entry, waiter]);
      // A watch that starts now does not see a write made since the read above (another process may have
      // written in between): read once more after starting it.
      if (this.startWatching() || recheck) this.changed(taskId);
    });
  }

  /** Ends one waiter with an error. */
  private fail(waiter: Waiter, error: Error): void {
    const entry = this.waiters.get(waiter.taskId);
    if (entry === waiter) this.waiters.delete(waiter.taskId);
    else if (Array.isArray(entry)) {
      const i = entry.indexOf(waiter);
      if (i === -1) return;
      entry.splice(i, 1);
      if (entry.length === 0) this.waiters.delete(waiter.taskId);
    } else return;
    waiter.done(this.deadlines);
    if (this.waiters.size === 0) this.stopWatching();
    waiter.reject(error);
  }

  /** Listens for changes while anyone waits; returns true when the store's watch was (re)started now. */
  private startWatching(): boolean {
    if (this.linger) {
      clearTimeout(this.linger);
      this.linger = undefined;
    }
    // Not unref'd: a pending get() keeps the process alive, as a pending socket read would.
    this.pollTimer ??= setInterval(() => this.changed(), this.pollInterval);
    if (this.unwatch) return false;
    this.unwatch = this.store.watch((key, value) => {
      if (key === undefined) return this.changed();
      if (!key.startsWith(this.taskPrefix)) return;
      const taskId = this.taskPrefix ? key.slice(this.taskPrefix.length) : key;
      if (value === undefined) {
        if (this.waiters.has(taskId)) this.changed(taskId);
        return;
      }
      // settle() looks the waiters up once and returns when there are none (most writes have none).
      try {
        this.settle(taskId, value);
      } catch {
        this.changed(taskId);
      }
    });
    return true;
  }

  /**
   * Nobody waits: the poll stops now, the store's watch a moment later (WATCH_LINGER_MS), so that a run of
   * `delay().get()` calls keeps one watch instead of starting one per call (each start is a window in which
   * another process's write goes unseen) and keeps its change-feed cursor.
   */
  private stopWatching(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    if (!this.unwatch || this.linger) return;
    this.linger = setTimeout(() => this.unwatchNow(), WATCH_LINGER_MS);
    this.linger.unref();
  }

  private unwatchNow(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    this.cursor = undefined;
  }

  /** Notes a change (of one awaited task, or of unknown keys) and runs a check. */
  private changed(taskId?: string): void {
    if (taskId === undefined) this.unknownChange = true;
    else this.dirty.add(taskId);
    this.check();
  }

  /** Resolves the waiters of `taskId` when `text` holds a ready state. */
  private settle(taskId: string, text: string | undefined): void {
    if (text === undefined) return;
    const entry = this.waiters.get(taskId);
    if (entry === undefined) return;
    const meta = parseResultMeta(text, taskId);
    if (!isReady(meta.status)) return;
    this.waiters.delete(taskId);
    if (this.waiters.size === 0) this.stopWatching();
    if (Array.isArray(entry)) {
      for (const w of entry) {
        w.done(this.deadlines);
        w.resolve(meta);
      }
    } else {
      entry.done(this.deadlines);
      entry.resolve(meta);
    }
  }

  /**
   * Settles the awaited results that changed; coalesces overlapping calls. With a change feed the cost is
   * the number of writes since the last check, not the number of waiters.
   */
  private check(): void {
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    void (async () => {
      try {
        do {
          this.recheck = false;
          if (this.waiters.size === 0) break;
          const ids = new Set(this.dirty);
          this.dirty.clear();
          if (this.unknownChange) {
            this.unknownChange = false;
            if (this.store.changes) {
              const first = this.cursor === undefined;
              const feed = await this.store.changes(this.cursor);
              // A full page may have more behind it.
              if (!first && feed.cursor !== this.cursor && feed.entries.length >= CHANGE_PAGE) this.unknownChange = true;
              this.cursor = feed.cursor;
              for (const [key, value] of feed.entries) {
                if (key.startsWith(this.taskPrefix)) this.settle(key.slice(this.taskPrefix.length), value);
              }
              // The feed starts at the end: waiters registered before it began are read once directly.
              if (first) for (const id of this.waiters.keys()) ids.add(id);
            } else {
              for (const id of this.waiters.keys()) ids.add(id);
            }
          }
          const list = [...ids].filter((id) => this.waiters.has(id));
          if (list.length === 0) continue;
          const values = await this.store.mget(list.map((id) => this.taskPrefix + id));
          list.forEach((id, i) => this.settle(id, values[i]));
        } while (this.recheck || this.dirty.size > 0 || this.unknownChange);
      } catch {
        // A failed check is retried by the next change or poll.
      } finally {
        this.checking = false;
      }
    })();
  }
}
