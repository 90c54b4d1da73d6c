/**
 * The pool contract: run one task call at a time per slot and report its outcome. The worker decides
 * when to apply (it never applies more than `available`); a pool only runs. Calls and outcomes are plain
 * data, so pools that run tasks in threads or child processes can send them across.
 */

import type { TaskRequestInfo } from '../../protocol/task-message.js';

export interface TaskCall {
  id: string;
  name: string;
  /** Positional arguments, kwargs already placed. */
  args: unknown[];
  /** The request the task sees as its context (`task.request`). */
  request: TaskRequestInfo;
  /** Aborted when the task must stop (soft time limit, revoke, cold shutdown). */
  signal?: AbortSignal;
}

/** An error as it leaves the pool: enough to store Celery's wire form and a traceback. */
export interface PoolError {
  name: string;
  message: string;
  stack: string | null;
  /** The original error, when it did not cross a thread or process boundary. */
  error?: unknown;
}

export type TaskOutcome =
  | { ok: true; value: unknown; runtime: number }
  | { ok: false; error: PoolError; runtime: number };

export interface Pool {
  /** 'async', 'threads', 'processes': for banners and stats. */
  readonly name: string;
  readonly concurrency: number;
  /** Calls running now. */
  readonly active: number;
  /** Free slots. */
  readonly available: number;
  start(): Promise<void>;
  apply(call: TaskCall): Promise<TaskOutcome>;
  /** Stops the pool; running calls are abandoned (the worker waits for them first on a warm stop). */
  stop(): Promise<void>;
}
