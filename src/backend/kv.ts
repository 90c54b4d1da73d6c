/**
 * Celery result semantics over a few key-value primitives (Celery's BaseKeyValueStoreBackend idea):
 * keys `celery-task-meta-<id>`, expiry, never overwriting SUCCESS, and waiting through one shared
 * change listener per backend instead of a poll per waiter.
 */
import { BackendError, ResultTimeoutError } from '../errors.js';
import { mayOverwrite, parseResultMeta, pendingMeta, type ResultMeta } from '../protocol/result-meta.js';
import { isReady } from '../protocol/states.js';
import { REVOKED_KEY, type ResultBackend, type WaitOptions } from './types.js';

export type MaybePromise<T> = T | Promise<T>;

/** The primitives a store provides. `update` must be atomic (read, decide, write). */
export interface KeyValueStore {
  open(): MaybePromise<void>;
  close(): MaybePromise<void>;
  get(key: string): MaybePromise<string | undefined>;
  mget(keys: readonly string[]): MaybePromise<(string | undefined)[]>;
  /** Atomically replaces the value with `fn(current)`; `undefined` leaves it as is. ttlMs 0 = no expiry. */
  update(key: string, fn: (current: string | undefined) => string | undefined, ttlMs: number): MaybePromise<void>;
  /** Optional: several updates in one round trip / transaction, each atomic as `update` is. */
  updateMany?(items: readonly Update[]): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
  /** Calls `listener` with a changed key, or with no key when "something may have changed". */
  watch(listener: (key?: string) => void): () => void;
  /**
   * Optional change feed: keys written after `cursor` (undefined = the current end, nothing returned), in
   * write order, with their values. Lets waiters read only what changed instead of every awaited key.
   */
  changes?(cursor: number | undefined): MaybePromise<{ cursor: number; entries: [key: string, value: string][] }>;
}

export interface Update {
  key: string;
  fn: (current: string | undefined) => string | undefined;
  ttlMs: number;
}

export const TASK_KEY_PREFIX = 'celery-task-meta-';

/** Most entries a store returns from one `changes()` call. */
export const CHANGE_PAGE = 5000;

interface Waiter {
  taskId: string;
  resolve(meta: ResultMeta): void;
  reject(error: Error): void;
}

export interface KeyValueBackendOptions {
  /** Seconds results are kept (0 = forever). */
  resultExpires: number;
  /** Fallback check of waiting results, ms, for stores that cannot signal every change. */
  pollInterval: number;
}

function liveRevoked(text: string | undefined, now: number): Record<string, number> {
  if (!text) return {};
  try {
    const map = JSON.parse(text) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(map).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > now));
  } catch {
    return {};
  }
}

export class KeyValueBackend implements ResultBackend {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private unwatch: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private recheck = false;
  /** Awaited ids to read one by one (a new waiter, or a key the store said changed). */
  private readonly dirty = new Set<string>();
  /** Something changed but the store could not say what: read the change feed, or every awaited key. */
  private unknownChange = false;
  private cursor: number | undefined;
  private pendingWrites: { update: Update; done: () => void; fail: (e: unknown) => void }[] = [];
  private opened: Promise<void> | undefined;

  constructor(
    readonly url: string,
    protected readonly store: KeyValueStore,
    private readonly options: KeyValueBackendOptions,
  ) {}

  connect(): Promise<void> {
    this.opened ??= Promise.resolve(this.store.open());
    return this.opened;
  }

  /** Closes the store; waiters still pending fail with BackendError instead of hanging. */
  async close(): Promise<void> {
    for (const set of [...this.waiters.values()]) {
      for (const w of [...set]) w.reject(new BackendError(`result backend ${this.url} was closed while waiting for task ${w.taskId}`));
    }
    this.stopWatching();
    if (this.opened) {
      this.opened = undefined;
      await this.store.close();
    }
  }

  key(taskId: string): string {
    return TASK_KEY_PREFIX + taskId;
  }

  /**
   * Stores a result. Writes made in the same tick go to the store together (one transaction or round
   * trip where the store has `updateMany`); each caller still learns whether its own write failed.
   */
  async storeResult(meta: ResultMeta): Promise<void> {
    await this.connect();
    const text = JSON.stringify(meta);
    const ttlMs = this.options.resultExpires > 0 ? this.options.resultExpires * 1000 : 0;
    const fn = (current: string | undefined): string | undefined => {
      if (current === undefined) return text;
      let status: string | undefined;
      try {
        status = (JSON.parse(current) as ResultMeta).status;
      } catch {
        status = undefined;
      }
      return mayOverwrite(status, meta.status) ? text : undefined;
    };
    try {
      await this.enqueueWrite({ key: this.key(meta.task_id), fn, ttlMs });
    } catch (cause) {
      throw new BackendError(`cannot store the result of task ${meta.task_id} in ${this.url}: ${(cause as Error).message}`, { cause });
    }
  }

  private enqueueWrite(update: Update): Promise<void> {
    if (!this.store.updateMany) return Promise.resolve(this.store.update(update.key, update.fn, update.ttlMs));
    return new Promise((done, fail) => {
      this.pendingWrites.push({ update, done, fail });
      if (this.pendingWrites.length === 1) setImmediate(() => void this.flushWrites());
    });
  }

  private async flushWrites(): Promise<void> {
    const batch = this.pendingWrites;
    this.pendingWrites = [];
    try {
      await this.store.updateMany?.(batch.map((b) => b.update));
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.fail(err);
    }
  }

  async getMeta(taskId: string): Promise<ResultMeta> {
    await this.connect();
    const text = await this.store.get(this.key(taskId));
    return text === undefined ? pendingMeta(taskId) : parseResultMeta(text, taskId);
  }

  async forget(taskId: string): Promise<void> {
    await this.connect();
    await this.store.delete(this.key(taskId));
  }

  /** Revoked ids live in one JSON map `{ id: expires-at ms }`, updated atomically and pruned on write. */
  async addRevoked(ids: readonly string[], ttlMs: number): Promise<void> {
    await this.connect();
    const now = Date.now();
    await this.store.update(REVOKED_KEY, (current) => JSON.stringify({ ...liveRevoked(current, now), ...Object.fromEntries(ids.map((id) => [id, now + ttlMs])) }), 0);
  }

  async revokedIds(): Promise<string[]> {
    await this.connect();
    return Object.keys(liveRevoked(await this.store.get(REVOKED_KEY), Date.now()));
  }

  async waitFor(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    const first = await this.getMeta(taskId);
    if (isReady(first.status)) return first;
    return new Promise<ResultMeta>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(taskId);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(taskId);
        if (this.waiters.size === 0) this.stopWatching();
      };
      const waiter: Waiter = {
        taskId,
        resolve: (meta) => {
          finish();
          resolve(meta);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      const onAbort = (): void =>
        waiter.reject(options.signal?.reason instanceof Error ? options.signal.reason : new ResultTimeoutError(`waiting for task ${taskId} was aborted`));
      if (options.signal?.aborted) return onAbort();
      if (options.timeout !== undefined) {
        timer = setTimeout(() => {
          waiter.reject(new ResultTimeoutError(`task ${taskId} was not ready after ${options.timeout} ms (state ${first.status}). Is a worker consuming its queue? Raise the timeout, or check with \`celeriac result ${taskId}\`.`));
        }, options.timeout);
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let set = this.waiters.get(taskId);
      if (!set) this.waiters.set(taskId, (set = new Set()));
      set.add(waiter);
      this.startWatching();
      // The result may have landed between the first read and subscribing.
      this.changed(taskId);
    });
  }

  private startWatching(): void {
    if (this.unwatch) return;
    this.unwatch = this.store.watch((key) => {
      if (key === undefined) this.changed();
      else if (key.startsWith(TASK_KEY_PREFIX) && this.waiters.has(key.slice(TASK_KEY_PREFIX.length))) this.changed(key.slice(TASK_KEY_PREFIX.length));
    });
    // Not unref'd: a pending get() keeps the process alive, as a pending socket read would.
    this.pollTimer = setInterval(() => this.changed(), this.options.pollInterval);
  }

  private stopWatching(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    clearInterval(this.pollTimer);
    this.cursor = undefined;
  }

  /** Notes a change (of one awaited task, or of unknown keys) and runs a check. */
  private changed(taskId?: string): void {
    if (taskId === undefined) this.unknownChange = true;
    else this.dirty.add(taskId);
    this.check();
  }

  private settle(taskId: string, text: string | undefined): void {
    if (text === undefined || !this.waiters.has(taskId)) return;
    const meta = parseResultMeta(text, taskId);
    if (!isReady(meta.status)) return;
    for (const w of [...(this.waiters.get(taskId) ?? [])]) w.resolve(meta);
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
                if (key.startsWith(TASK_KEY_PREFIX)) this.settle(key.slice(TASK_KEY_PREFIX.length), value);
              }
              // The feed starts at the end: waiters registered before it began are read once directly.
              if (first) for (const id of this.waiters.keys()) ids.add(id);
            } else {
              for (const id of this.waiters.keys()) ids.add(id);
            }
          }
          const list = [...ids].filter((id) => this.waiters.has(id));
          if (list.length === 0) continue;
          const values = await this.store.mget(list.map((id) => this.key(id)));
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
