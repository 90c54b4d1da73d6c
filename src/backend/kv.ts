/**
 * Celery result semantics over a few key-value primitives (Celery's BaseKeyValueStoreBackend idea):
 * keys `celery-task-meta-<id>`, expiry, never overwriting SUCCESS, and waiting through one shared
 * change listener per backend instead of a poll per waiter.
 */
import { BackendError, ResultTimeoutError } from '../errors.js';
import { mayOverwrite, parseResultMeta, pendingMeta, type ResultMeta } from '../protocol/result-meta.js';
import { isReady } from '../protocol/states.js';
import { Deadlines, type Deadline } from '../util/deadlines.js';
import { KeyValueLeases } from './lease.js';
import { REVOKED_KEY, type LeaseOutcome, type ResultBackend, type WaitOptions } from './types.js';
import type { ChordPart, ChordPartReturn } from './groups.js';
import { KeyValueGroups } from './kv-groups.js';

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
  /**
   * Calls `listener` with a changed key, or with no key when "something may have changed". A store that
   * has the written value at hand passes it too, which spares the waiters a read.
   */
  watch(listener: (key?: string, value?: string) => void): () => void;
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

/** One pending `waitFor`: its promise's settle functions and what to undo when it ends. */
class Waiter {
  deadline: Deadline<Waiter> | undefined;
  /** The state seen when it started waiting, for the timeout's message. */
  seen = 'PENDING';
  timeout = 0;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  constructor(
    readonly taskId: string,
    readonly resolve: (meta: ResultMeta) => void,
    readonly reject: (error: Error) => void,
  ) {}

  /** Cancels the deadline and the abort listener. */
  done(deadlines: Deadlines<Waiter>): void {
    if (this.deadline) deadlines.cancel(this.deadline);
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
  }
}

export interface KeyValueBackendOptions {
  /** Seconds results are kept (0 = forever). */
  resultExpires: number;
  /** Fallback check of waiting results, ms, for stores that cannot signal every change. */
  pollInterval: number;
  /**
   * Prefix of task result keys (default Celery's `celery-task-meta-`). A store no other program reads
   * may use '' : V8 builds `prefix + id` as a rope that every Map lookup must flatten (~1 µs each).
   */
  taskKeyPrefix?: string;
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
  /** One timer for every waiter's timeout. */
  private readonly deadlines = new Deadlines<Waiter>((w) =>
    this.fail(w, new ResultTimeoutError(`task ${w.taskId} was not ready after ${w.timeout} ms (state ${w.seen}). Is a worker consuming its queue? Raise the timeout, or check with \`celeriac result ${w.taskId}\`.`)),
  );
  /** Awaited task ids: one waiter, or several waiting on the same id. */
  private readonly waiters = new Map<string, Waiter | Waiter[]>();
  private unwatch: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private recheck = false;
  /** Awaited ids to read one by one (a new waiter, or a key the store said changed). */
  private readonly dirty = new Set<string>();
  /** Something changed but the store could not say what: read the change feed, or every awaited key. */
  private unknownChange = false;
  private cursor: number | undefined;
  private pendingWrites: Update[] = [];
  private writeBatch: Promise<void> | undefined;
  private opened: Promise<void> | undefined;
  /** The store finished opening (lets a synchronous store be read without a promise hop). */
  private isOpen = false;
  private readonly taskPrefix: string;
  private readonly leases: KeyValueLeases;
  /** Group and chord bookkeeping (./kv-groups.ts) on the same store. */
  private readonly groups: KeyValueGroups;

  constructor(
    readonly url: string,
    protected readonly store: KeyValueStore,
    private readonly options: KeyValueBackendOptions,
  ) {
    this.taskPrefix = options.taskKeyPrefix ?? TASK_KEY_PREFIX;
    this.leases = new KeyValueLeases(store);
    this.groups = new KeyValueGroups(store, () => (options.resultExpires > 0 ? options.resultExpires * 1000 : 0), () => this.connect());
  }

  setChordSize(groupId: string, size: number): Promise<void> {
    return this.groups.setChordSize(groupId, size);
  }

  chordPartReturn(part: ChordPartReturn): Promise<ChordPart[] | null> {
    return this.groups.chordPartReturn(part);
  }

  saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    return this.groups.saveGroup(groupId, taskIds);
  }

  restoreGroup(groupId: string): Promise<string[] | null> {
    return this.groups.restoreGroup(groupId);
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.groups.deleteGroup(groupId);
  }

  connect(): Promise<void> {
    this.opened ??= Promise.resolve(this.store.open()).then(() => {
      this.isOpen = true;
    });
    return this.opened;
  }

  /** Closes the store; waiters still pending fail with BackendError instead of hanging. */
  async close(): Promise<void> {
    for (const entry of [...this.waiters.values()]) {
      for (const w of Array.isArray(entry) ? [...entry] : [entry]) {
        this.fail(w, new BackendError(`result backend ${this.url} was closed while waiting for task ${w.taskId}`));
      }
    }
    this.stopWatching();
    if (this.opened) {
      this.opened = undefined;
      this.isOpen = false;
      await this.store.close();
    }
  }

  key(taskId: string): string {
    return this.taskPrefix + taskId;
  }

  /**
   * Stores a result. Writes made in the same tick go to the store together (one transaction or round
   * trip where the store has `updateMany`); each caller still learns whether its own write failed.
   */
  async storeResult(meta: ResultMeta): Promise<void> {
    if (!this.isOpen) await this.connect();
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
    this.pendingWrites.push(update);
    // One promise per batch: the batch is one transaction, so it succeeds or fails for all its writers.
    this.writeBatch ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flushWrites());
    return this.writeBatch;
  }

  private async flushWrites(): Promise<void> {
    this.writeBatch = undefined;
    const batch = this.pendingWrites;
    this.pendingWrites = [];
    if (batch.length) await this.store.updateMany?.(batch);
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

  /** Beat's leader lease (./lease.ts). */
  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseOutcome> {
    await this.connect();
    return this.leases.acquire(name, holder, ttlMs);
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.connect();
    await this.leases.release(name, holder);
  }

  async readLeaseData(name: string): Promise<Record<string, string>> {
    await this.connect();
    return this.leases.read(name);
  }

  async writeLeaseData(name: string, holder: string, fields: Record<string, string>): Promise<boolean> {
    await this.connect();
    return this.leases.write(name, holder, fields);
  }

  waitFor(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    if (!this.isOpen) return this.connect().then(() => this.waitFor(taskId, options));
    let text: MaybePromise<string | undefined>;
    try {
      text = this.store.get(this.key(taskId));
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
    const { timeout, signal } = options;
    return new Promise<ResultMeta>((resolve, reject) => {
      const waiter = new Waiter(taskId, resolve, reject);
      if (signal) {
        const onAbort = (): void =>
          this.fail(waiter, signal.reason instanceof Error ? signal.reason : new ResultTimeoutError(`waiting for task ${taskId} was aborted`));
        if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new ResultTimeoutError(`waiting for task ${taskId} was aborted`));
        waiter.signal = signal;
        waiter.onAbort = onAbort;
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (timeout !== undefined) {
        if (first) waiter.seen = first.status;
        waiter.timeout = timeout;
        waiter.deadline = this.deadlines.add(waiter, timeout);
      }
      const entry = this.waiters.get(taskId);
      if (entry === undefined) this.waiters.set(taskId, waiter);
      else if (Array.isArray(entry)) entry.push(waiter);
      else this.waiters.set(taskId, [entry, waiter]);
      this.startWatching();
      if (recheck) this.changed(taskId);
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

  private startWatching(): void {
    if (this.unwatch) return;
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
