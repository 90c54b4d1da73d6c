/** `GroupResult`: the results of a group's members, in order: `get()`, `completedCount()`, progress, save/restore. */
import { setMaxListeners } from 'node:events';
import { CanvasError, fromWireException, ResultTimeoutError, TaskRevokedError, type TaskError } from '../../errors.js';
import type { ResultMeta } from '../../protocol/result-meta.js';
import { isReady, States } from '../../protocol/states.js';
import { AsyncResult, type GetOptions, type ResultSource } from '../result.js';
import type { Applied } from './apply.js';

/** How far a group has got. */
export interface GroupProgress {
  total: number;
  /** Members in a ready state (SUCCESS, FAILURE, REVOKED). */
  done: number;
  succeeded: number;
  failed: number;
}

export interface GroupGetOptions extends GetOptions {
  /** Called each time a member finishes, with the counts so far. */
  onProgress?: (progress: GroupProgress) => void;
}

/** Members read at once when counting (keeps 10,000-member groups from opening 10,000 reads together). */
const READ_BATCH = 500;

export class GroupResult<T extends unknown[] = unknown[]> {
  constructor(
    readonly id: string,
    readonly results: AsyncResult[],
    private readonly source: ResultSource,
  ) {}

  static fromApplied<T extends unknown[]>(source: ResultSource, applied: Applied): GroupResult<T> {
    return new GroupResult<T>(applied.id, (applied.members ?? []).map((m) => new AsyncResult(m.id, source)), source);
  }

  /** A group saved with `save()` (here or by Python's GroupResult.save), or null. */
  static async restore<T extends unknown[] = unknown[]>(source: ResultSource, groupId: string): Promise<GroupResult<T> | null> {
    const backend = await source.resultBackend();
    if (!backend.restoreGroup) throw new CanvasError(`the result backend ${backend.url} cannot restore groups`);
    const ids = await backend.restoreGroup(groupId);
    return ids ? new GroupResult<T>(groupId, ids.map((id) => new AsyncResult(id, source)), source) : null;
  }

  get length(): number {
    return this.results.length;
  }

  /** Stores the member ids under `celery-taskset-meta-<id>`, so another process can `restore` it. */
  async save(): Promise<void> {
    const backend = await this.source.resultBackend();
    if (!backend.saveGroup) throw new CanvasError(`the result backend ${backend.url} cannot save groups`);
    await backend.saveGroup(this.id, this.results.map((r) => r.id));
  }

  async delete(): Promise<void> {
    const backend = await this.source.resultBackend();
    await backend.deleteGroup?.(this.id);
  }

  /** Every member's state now. */
  async progress(): Promise<GroupProgress> {
    const backend = await this.source.resultBackend();
    const p: GroupProgress = { total: this.results.length, done: 0, succeeded: 0, failed: 0 };
    for (let i = 0; i < this.results.length; i += READ_BATCH) {
      const metas = await Promise.all(this.results.slice(i, i + READ_BATCH).map((r) => backend.getMeta(r.id)));
      for (const m of metas) count(p, m.status);
    }
    return p;
  }

  /** Members that succeeded (Celery's completed_count). */
  async completedCount(): Promise<number> {
    return (await this.progress()).succeeded;
  }

  async ready(): Promise<boolean> {
    const p = await this.progress();
    return p.done === p.total;
  }

  async successful(): Promise<boolean> {
    const p = await this.progress();
    return p.succeeded === p.total;
  }

  async failed(): Promise<boolean> {
    return (await this.progress()).failed > 0;
  }

  /**
   * Waits for every member and returns their results in order. The first failure (in order) is thrown,
   * unless `propagate: false`, which puts errors in its place. `timeout` bounds the whole wait.
   */
  get(options?: GroupGetOptions & { propagate?: true }): Promise<T>;
  get(options: GroupGetOptions & { propagate: false }): Promise<{ [K in keyof T]: T[K] | TaskError }>;
  async get(options: GroupGetOptions = {}): Promise<unknown[]> {
    const backend = await this.source.resultBackend();
    const controller = new AbortController();
    // One listener per member wait: 10,000 is expected, not a leak.
    setMaxListeners(0, controller.signal);
    const timer = options.timeout === undefined ? undefined : setTimeout(() => controller.abort(), options.timeout);
    const onAbort = (): void => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const p: GroupProgress = { total: this.results.length, done: 0, succeeded: 0, failed: 0 };
    try {
      const values = await Promise.all(
        this.results.map(async (r) => {
          const meta = await backend.waitFor(r.id, { signal: controller.signal });
          count(p, meta.status);
          options.onProgress?.({ ...p });
          return outcome(meta);
        }),
      );
      if (options.propagate !== false) {
        const error = values.find((v): v is TaskError => v instanceof Error);
        if (error) throw error;
      }
      return values;
    } catch (err) {
      if (controller.signal.aborted && !options.signal?.aborted) {
        throw new ResultTimeoutError(`group ${this.id}: ${p.done} of ${p.total} members ready after ${options.timeout} ms. Is a worker consuming their queue?`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  toString(): string {
    return this.id;
  }
}

function count(p: GroupProgress, status: string): void {
  if (!isReady(status)) return;
  p.done++;
  if (status === States.SUCCESS) p.succeeded++;
  else p.failed++;
}

/** A ready member's value, or its error. */
function outcome(meta: ResultMeta): unknown {
  if (meta.status === States.SUCCESS) return meta.result;
  if (meta.status === States.REVOKED) return new TaskRevokedError(`task ${meta.task_id} was revoked`);
  return fromWireException(meta.result, meta.traceback);
}
