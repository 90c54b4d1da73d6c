/** `AsyncResult`: a handle on a sent task's state and result, typed by the task's return type. */
import { fromWireException, TaskError, TaskRevokedError } from '../errors.js';
import type { ResultBackend } from '../backend/types.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import { isReady, States, type TaskState } from '../protocol/states.js';

/** Where an AsyncResult reads from: the app, lazily connected. */
export interface ResultSource {
  resultBackend(): Promise<ResultBackend>;
  /** The backend when already connected, else undefined. */
  readyResultBackend?(): ResultBackend | undefined;
  /** Remote control, for `revoke()`. */
  readonly control?: { revoke(taskIds: string, options?: RevokeOptions): Promise<unknown> };
}

export interface RevokeOptions {
  /** Also stop the task if it is running. */
  terminate?: boolean;
  /** Signal for terminate (default SIGTERM). */
  signal?: string;
  /** Wait for workers' replies for this many ms (they are returned); no waiting by default. */
  reply?: boolean;
  timeout?: number;
}

export interface GetOptions {
  /** ms to wait; undefined waits forever. */
  timeout?: number;
  /** Re-throw the task's error (default true); false returns the error instead. */
  propagate?: boolean;
  signal?: AbortSignal;
}

export class AsyncResult<T = unknown> {
  constructor(
    readonly id: string,
    private readonly source: ResultSource,
  ) {}

  /** The stored meta (PENDING when nothing is stored). */
  async meta(): Promise<ResultMeta> {
    return (await this.source.resultBackend()).getMeta(this.id);
  }

  async state(): Promise<TaskState> {
    return (await this.meta()).status;
  }

  async ready(): Promise<boolean> {
    return isReady(await this.state());
  }

  async successful(): Promise<boolean> {
    return (await this.state()) === States.SUCCESS;
  }

  async failed(): Promise<boolean> {
    return (await this.state()) === States.FAILURE;
  }

  /** The raw `result` field: the value, the error's wire form, or a custom state's meta (progress). */
  async info(): Promise<unknown> {
    return (await this.meta()).result;
  }

  async traceback(): Promise<string | null> {
    return (await this.meta()).traceback;
  }

  /** Waits for the task to finish and returns its result, or throws its error. */
  get(options?: GetOptions & { propagate?: true }): Promise<T>;
  get(options: GetOptions & { propagate: false }): Promise<T | TaskError>;
  get(options: GetOptions = {}): Promise<T | TaskError> {
    const backend = this.source.readyResultBackend?.();
    const waiting = backend
      ? backend.waitFor(this.id, options)
      : this.source.resultBackend().then((b) => b.waitFor(this.id, options));
    return waiting.then((meta) => this.outcome(meta, options.propagate !== false));
  }

  private outcome(meta: ResultMeta, propagate: boolean): T | TaskError {
    if (meta.status === States.SUCCESS) return meta.result as T;
    const error =
      meta.status === States.REVOKED ? new TaskRevokedError(`task ${this.id} was revoked${revokeReason(meta)}`) : fromWireException(meta.result, meta.traceback);
    if (!propagate) return error;
    throw error;
  }

  /** Revokes the task on every worker (Celery's AsyncResult.revoke): it will not run; `terminate` stops it if running. */
  async revoke(options: RevokeOptions = {}): Promise<unknown> {
    if (!this.source.control) throw new TaskError('this AsyncResult has no app with remote control: make it with app.AsyncResult(id)');
    return this.source.control.revoke(this.id, options);
  }

  /** Removes the stored result. */
  async forget(): Promise<void> {
    await (await this.source.resultBackend()).forget(this.id);
  }

  toString(): string {
    return this.id;
  }

  toJSON(): string {
    return this.id;
  }
}

function revokeReason(meta: ResultMeta): string {
  const r = meta.result as { exc_message?: unknown } | null;
  const msg = Array.isArray(r?.exc_message) ? r.exc_message.join(', ') : '';
  return msg && msg !== 'revoked' ? ` (${msg})` : '';
}
