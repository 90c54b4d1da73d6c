/**
 * memory:// result backend: results in this process's memory, for tests and single-process apps.
 * Connection string: `memory://`. Options: `resultExpires` (seconds, default 1 day).
 *
 * Celery's result semantics come from KeyValueBackend; results and waits take a shorter path here: a result
 * is written and its waiters found with one map lookup, and a wait parks on the result's own entry
 * (./store.ts), with no batching tick or change listener between the worker and `get()`.
 */
import { BackendError } from '../../errors.js';
import { copyFlatMeta, mayOverwrite, type ResultMeta } from '../../protocol/result-meta.js';
import type { TaskState } from '../../protocol/states.js';
import { KeyValueBackend } from '../kv.js';
import type { BackendFactory, WaitOptions } from '../types.js';
import { MemoryKeyValueStore } from './store.js';

export { MemoryKeyValueStore } from './store.js';

const done = Promise.resolve();

class MemoryResultBackend extends KeyValueBackend {
  private readonly ttlMs: number;

  constructor(
    url: string,
    private readonly memory: MemoryKeyValueStore,
    resultExpires: number,
  ) {
    // Keyed by the bare task id: nothing else reads this store, and a prefixed key costs a rope flatten per lookup.
    super(url, memory, { resultExpires, pollInterval: 60_000, taskKeyPrefix: '' });
    this.ttlMs = resultExpires > 0 ? resultExpires * 1000 : 0;
  }

  /**
   * Stores at once (the store is this process's memory): never overwrites SUCCESS nor a ready state with a
   * non-ready one. A record of JSON scalars is kept as a copy of its own, with no JSON text made; any other as text.
   */
  override storeResult(meta: ResultMeta): Promise<void> {
    let value: string | ResultMeta | undefined = copyFlatMeta(meta, meta.task_id);
    if (value === undefined) {
      try {
        value = JSON.stringify(meta);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    try {
      const key = this.key(meta.task_id);
      const entry = this.memory.lookup(key);
      if (mayOverwrite(this.memory.statusOf(entry) as TaskState | undefined, meta.status)) this.memory.write(key, entry, value, meta.status, this.ttlMs);
    } catch (cause) {
      return Promise.reject(new BackendError(`cannot store the result of task ${meta.task_id} in ${this.url}: ${(cause as Error).message}`, { cause }));
    }
    return done;
  }

  override waitFor(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    return this.memory.waitResult(taskId, options);
  }

  override close(): Promise<void> {
    this.memory.failWaiters((taskId) => new BackendError(`result backend ${this.url} was closed while waiting for task ${taskId}`));
    return super.close();
  }
}

export const createBackend: BackendFactory = (url, options) => new MemoryResultBackend(url, new MemoryKeyValueStore(), options.resultExpires ?? 86_400);
