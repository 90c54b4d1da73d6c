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
  /**
   * Leader lease (beat): takes the lease `name` for `holder` when it is free or expired, or renews it when
   * `holder` already has it without a lapse. Resolves 'acquired' (newly held: someone else may have held it
   * since, so re-read its data), 'renewed', or false (another holds it). `holder` then holds it for `ttlMs`.
   * Optional: a store without it cannot host beat's lease. Implemented by memory, sqlite and redis.
   */
  acquireLease?(name: string, holder: string, ttlMs: number): Promise<LeaseOutcome>;
  /** Gives the lease up at once if `holder` has it (a graceful stop), so another takes over without waiting. */
  releaseLease?(name: string, holder: string): Promise<void>;
  /** The fields stored with the lease `name` (beat: the last run of each entry); they outlive the lease. */
  readLeaseData?(name: string): Promise<Record<string, string>>;
  /** Sets fields with the lease, atomically with checking that `holder` still holds it: false (nothing written) when not. */
  writeLeaseData?(name: string, holder: string, fields: Record<string, string>): Promise<boolean>;
  /** Keeps revoked task ids for `ttlMs`, so workers that start later do not run them (celeriac's addition). */
  addRevoked?(ids: readonly string[], ttlMs: number): Promise<void>;
  /** The revoked ids not yet expired. */
  revokedIds?(): Promise<string[]>;
  /** Called before the app sends its first task: the rpc:// backend declares its reply queue then (Celery's on_task_call). */
  prepareReplies?(): Promise<void>;
}

/** Where a task's results go back to: the message's reply_to and correlation_id properties. */
export interface ReplyAddress {
  replyTo?: string | null;
  correlationId?: string | null;
}

/** What `acquireLease` found: newly acquired, renewed without a lapse, or held by another. */
export type LeaseOutcome = 'acquired' | 'renewed' | false;

/** The key (Redis: sorted set; key-value stores: JSON map) holding revoked ids and their expiry times. */
export const REVOKED_KEY = 'celeriac-revoked';

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
