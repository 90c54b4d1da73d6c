/**
 * Celery result semantics over a few key-value primitives (Celery's BaseKeyValueStoreBackend idea):
 * keys `celery-task-meta-<id>`, expiry, never overwriting SUCCESS, and waiting through one shared
 * change listener per backend instead of a poll per waiter.
 */
import { BackendError } from '../errors.js';
import { mayOverwrite, parseResultMeta, pendingMeta, type ResultMeta } from '../protocol/result-meta.js';
import { CHANGE_PAGE, KeyValueWaiters } from './kv-waiters.js';
import type { KeyValueStore, Update } from './kv-store.js';
import { KeyValueLeases } from './lease.js';
import { REVOKED_KEY, type LeaseOutcome, type ResultBackend, type WaitOptions } from './types.js';
import type { ChordPart, ChordPartReturn } from './groups.js';
import { KeyValueGroups } from './kv-groups.js';

export { CHANGE_PAGE };
export type { KeyValueStore, MaybePromise, Update } from './kv-store.js';

export const TASK_KEY_PREFIX = 'celery-task-meta-';

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
  /** The pending `waitFor` calls and the one change listener they share (./kv-waiters.ts). */
  private readonly waiting: KeyValueWaiters;
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
    this.waiting = new KeyValueWaiters(store, this.taskPrefix, options.pollInterval);
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
    this.waiting.failAll((taskId) => new BackendError(`result backend ${this.url} was closed while waiting for task ${taskId}`));
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
    return this.waiting.waitFor(taskId, options);
  }
}
