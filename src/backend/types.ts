/**
 * The result-store contract. The app and the worker store and read Celery result meta only through
 * `ResultBackend`; keys, tables and connections stay inside each plug-in.
 *
 * @remarks Left out on purpose: listing or scanning results (Celery has no such API either), and
 * transactions across tasks. Group and chord bookkeeping is the optional `GroupStore` part (./groups.ts):
 * a backend without it cannot run chords (the canvas says so when one is sent).
 */
import type { ResultMeta } from '../protocol/result-meta.js';
import type { GroupStore } from './groups.js';

export interface WaitOptions {
  /** Give up after this many ms (ResultTimeoutError). Undefined waits forever. */
  timeout?: number;
  signal?: AbortSignal;
}

export interface ResultBackend extends Partial<GroupStore> {
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
}

export interface BackendOptions {
  /** Seconds a result is kept (Celery's result_expires; default 1 day; 0 keeps forever). */
  resultExpires?: number;
  [option: string]: unknown;
}

export type BackendFactory = (url: string, options: BackendOptions) => ResultBackend;
