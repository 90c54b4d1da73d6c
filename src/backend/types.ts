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
  /** Stores a task's meta. A stored SUCCESS is never overwritten; a ready state is never replaced by a non-ready one. */
  storeResult(meta: ResultMeta): Promise<void>;
  /** The stored meta, or PENDING when there is none. */
  getMeta(taskId: string): Promise<ResultMeta>;
  /** Resolves once the task is in a ready state (SUCCESS, FAILURE, REVOKED). */
  waitFor(taskId: string, options?: WaitOptions): Promise<ResultMeta>;
  forget(taskId: string): Promise<void>;
  /** Keeps revoked task ids for `ttlMs`, so workers that start later do not run them (celeriac's addition). */
  addRevoked?(ids: readonly string[], ttlMs: number): Promise<void>;
  /** The revoked ids not yet expired. */
  revokedIds?(): Promise<string[]>;
}

/** The key (Redis: sorted set; key-value stores: JSON map) holding revoked ids and their expiry times. */
export const REVOKED_KEY = 'celeriac-revoked';

export interface BackendOptions {
  /** Seconds a result is kept (Celery's result_expires; default 1 day; 0 keeps forever). */
  resultExpires?: number;
  [option: string]: unknown;
}

export type BackendFactory = (url: string, options: BackendOptions) => ResultBackend;
