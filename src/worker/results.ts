/** Writes Celery result meta for the worker: STARTED, SUCCESS, FAILURE, REVOKED, with extended fields when asked. */
import { hostname } from 'node:os';
import type { ResultBackend } from '../backend/types.js';
import type { Config } from '../config/options.js';
import { toWireException } from '../errors.js';
import { buildResultMeta, dateDone, revokedException, type MetaInput } from '../protocol/result-meta.js';
import { States, type TaskState } from '../protocol/states.js';
import type { TaskRequest } from '../protocol/task-message.js';
import type { Logger } from './logger.js';

/** A received task and the queue it came from. */
export interface Held {
  task: TaskRequest;
  delivery: { queue: string };
}

export class ResultWriter {
  /** date_done of the last write: many results finish within the same millisecond. */
  private lastMs = -1;
  private lastDateDone = '';

  constructor(
    private readonly backend: ResultBackend,
    private readonly conf: Config,
    private readonly nodeName: string,
    private readonly logger: Logger,
  ) {}

  /** Not async: the backend's promise is returned as it is (one promise layer less per result). */
  private store(req: Held, status: TaskState, result: unknown, traceback: string | null = null): Promise<void> {
    const { task } = req;
    const now = Date.now();
    if (now !== this.lastMs) {
      this.lastMs = now;
      this.lastDateDone = dateDone(now);
    }
    const input: MetaInput = { taskId: task.id, status, result, traceback, now, dateDone: this.lastDateDone };
    if (task.groupId) input.groupId = task.groupId;
    if (task.parentId) input.parentId = task.parentId;
    if (this.conf.resultExtended) {
      input.extended = {
        name: task.name,
        args: task.args,
        kwargs: task.kwargs,
        worker: this.nodeName,
        retries: task.retries,
        queue: req.delivery.queue,
      };
    }
    try {
      return this.backend.storeResult(buildResultMeta(input), { replyTo: task.replyTo, correlationId: task.correlationId });
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  started(req: Held): Promise<void> {
    return this.store(req, States.STARTED, { pid: process.pid, hostname: this.nodeName || hostname() });
  }

  /** Stores SUCCESS; a value JSON cannot hold is stored as a FAILURE that says so. */
  success(req: Held, value: unknown): Promise<void> {
    const { task } = req;
    try {
      // Only objects (and bigints) can fail to serialise; spare the hot path the extra stringify.
      if ((value !== null && typeof value === 'object') || typeof value === 'bigint') JSON.stringify(value);
    } catch (err) {
      const error = new TypeError(`the result of ${task.name} is not JSON-serializable (${(err as Error).message}): return plain data`);
      this.logger.error('Task %s[%s]: %s', task.name, task.id, error.message);
      return this.failure(req, error, error.stack ?? null);
    }
    return this.store(req, States.SUCCESS, value === undefined ? null : value);
  }

  failure(req: Held, error: unknown, stack: string | null): Promise<void> {
    return this.store(req, States.FAILURE, toWireException(error), stack ?? (error instanceof Error ? (error.stack ?? null) : null));
  }

  /** Stores RETRY: the error that caused the retry (null when none was given, as Celery) and its stack. */
  retry(req: Held, cause: unknown, stack: string | null): Promise<void> {
    return this.store(req, States.RETRY, cause === undefined || cause === null ? null : toWireException(cause), stack);
  }

  /** Stores a custom state (updateState: PROGRESS...) with its meta as the result, as Celery does. */
  custom(req: Held, state: string, meta: unknown): Promise<void> {
    return this.store(req, state, meta === undefined ? null : meta);
  }

  /** Stores REVOKED with Celery's TaskRevokedError form; `reason` is 'revoked', 'expired' or 'terminated'. */
  revoked(req: Held, reason: 'revoked' | 'expired' | 'terminated'): Promise<void> {
    return this.store(req, States.REVOKED, revokedException(reason), null);
  }
}
