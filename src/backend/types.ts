/**
 * The result-store contract. The app and the worker store and read Celery result meta only through
 * `ResultBackend`; keys, tables and connections stay inside each plug-in.
 *
 * @remarks Left out on purpose: listing or scanning results (Celery has no such API either), and
 * transactions across tasks. Group and chord bookkeeping (atomic counters) arrives with the canvas.
 */
import type { ResultMeta } from '../protocol/result-meta.js';

export interface WaitOptions {
  /** Give up after this many ms (ResultTimeoutError). Undefined waits forever. */
  timeout?: number;
  signal?: AbortSignal;
}

export interface ResultBackend {
  /** The URL with the password masked. */
  readonly url: string;
  connect(): Promise<void>;
  /** Releases the store. `waitFor` calls still pending reject with BackendError rather than hang. */
  close(): Promise<void>;
  /**
   * Stores a task's meta. A stored SUCCESS is never overwritten; a ready state is never replaced by a non-ready one.
   * `reply` is the request's reply address (the rpc:// backend sends the meta there; stores ignore it).
   */
  storeResult(meta: ResultMeta, reply?: ReplyAddress): Promise<void>;
  /** The stored meta, or PENDING when there is none. */
  getMeta(taskId: string): Promise<ResultMeta>;
  /** Resolves once the task is in a ready state (SUCCESS, FAILURE, REVOKED). */
  waitFor(taskId: string, options?: WaitOptions): Promise<ResultMeta>;
  forget(taskId: string): Promise<void>;
  /** Called before the app sends its first task: the rpc:// backend declares its reply queue then (Celery's on_task_call). */
  prepareReplies?(): Promise<void>;
}

/** Where a task's results go back to: the message's reply_to and correlation_id properties. */
export interface ReplyAddress {
  replyTo?: string | null;
  correlationId?: string | null;
}

export interface BackendOptions {
  /** Seconds a result is kept (Celery's result_expires; default 1 day; 0 keeps forever). */
  resultExpires?: number;
  /** The app's reply queue name (Celery's app.oid), set as reply_to on every task it sends. */
  replyTo?: string;
  /** The app's broker connection (a Transport), for backends that send results through it (rpc://). */
  broker?: () => Promise<unknown>;
  [option: string]: unknown;
}

export type BackendFactory = (url: string, options: BackendOptions) => ResultBackend;
