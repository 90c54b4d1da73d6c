/**
 * Celery result semantics over a few key-value primitives (Celery's BaseKeyValueStoreBackend idea):
 * keys `celery-task-meta-<id>`, expiry, never overwriting SUCCESS, and waiting through one shared
 * change listener per backend instead of a poll per waiter.
 */
import { BackendError, ResultTimeoutError } from '../errors.js';
import { mayOverwrite, parseResultMeta, pendingMeta, type ResultMeta } from '../protocol/result-meta.js';
import { isReady } from '../protocol/states.js';
import type { ResultBackend, WaitOptions } from './types.js';

export type MaybePromise<T> = T | Promise<T>;

/** The primitives a store provides. `update` must be atomic (read, decide, write). */
export interface KeyValueStore {
  open(): MaybePromise<void>;
  close(): MaybePromise<void>;
  get(key: string): MaybePromise<string | undefined>;
  mget(keys: readonly string[]): MaybePromise<(string | undefined)[]>;
  /** Atomically replaces the value with `fn(current)`; `undefined` leaves it as is. ttlMs 0 = no expiry. */
  update(key: string, fn: (current: string | undefined) => string | undefined, ttlMs: number): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
  /** Calls `listener` with a changed key, or with no key when "something may have changed". */
  watch(listener: (key?: string) => void): () => void;
}

export const TASK_KEY_PREFIX = 'celery-task-meta-';

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

export class KeyValueBackend implements ResultBackend {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private unwatch: (() => void) | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private recheck = false;
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

  async storeResult(meta: ResultMeta): Promise<void> {
    await this.connect();
    const text = JSON.stringify(meta);
    const ttl = this.options.resultExpires > 0 ? this.options.resultExpires * 1000 : 0;
    try {
      await this.store.update(
        this.key(meta.task_id),
        (current) => {
          if (current === undefined) return text;
          let status: string | undefined;
          try {
            status = (JSON.parse(current) as ResultMeta).status;
          } catch {
            status = undefined;
          }
          return mayOverwrite(status, meta.status) ? text : undefined;
        },
        ttl,
      );
    } catch (cause) {
      throw new BackendError(`cannot store the result of task ${meta.task_id} in ${this.url}: ${(cause as Error).message}`, { cause });
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
      this.check();
    });
  }

  private startWatching(): void {
    if (this.unwatch) return;
    this.unwatch = this.store.watch((key) => {
      if (key === undefined || (key.startsWith(TASK_KEY_PREFIX) && this.waiters.has(key.slice(TASK_KEY_PREFIX.length)))) this.check();
    });
    // Not unref'd: a pending get() keeps the process alive, as a pending socket read would.
    this.pollTimer = setInterval(() => this.check(), this.options.pollInterval);
  }

  private stopWatching(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    clearInterval(this.pollTimer);
  }

  /** Reads every awaited result in one mget and settles the ready ones; coalesces overlapping calls. */
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
          const ids = [...this.waiters.keys()];
          if (ids.length === 0) break;
          const values = await this.store.mget(ids.map((id) => this.key(id)));
          ids.forEach((id, i) => {
            const text = values[i];
            if (text === undefined) return;
            const meta = parseResultMeta(text, id);
            if (!isReady(meta.status)) return;
            for (const w of [...(this.waiters.get(id) ?? [])]) w.resolve(meta);
          });
        } while (this.recheck);
      } catch {
        // A failed check is retried by the next change or poll.
      } finally {
        this.checking = false;
      }
    })();
  }
}
