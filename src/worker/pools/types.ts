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
  /** Aborted when the task must stop (soft time limit, revoke, cold shutdown); its signal is made on first read. */
  abort: AbortController;
  /** Seconds; set only when a limit applies (no timers otherwise). */
  softTimeLimit?: number | null;
  timeLimit?: number | null;
}

/** Why a pool ended a run itself: the worker records each differently. */
export type PoolFailure = 'time-limit' | 'terminated' | 'worker-lost';

/** An error as it leaves the pool: enough to store Celery's wire form and a traceback. */
export interface PoolError {
  name: string;
  message: string;
  stack: string | null;
  /** The original error, when it did not cross a thread or process boundary. */
  error?: unknown;
  /** Set when the pool ended the run (hard time limit, terminate, the thread or child died). */
  kind?: PoolFailure;
  /** For a `task.retry()` that crossed a boundary: its options (countdown, eta as ISO, maxRetries, exc). */
  retry?: { countdown?: number; eta?: string; maxRetries?: number | null; exc?: { name: string; message: string; stack: string | null } };
}

export type TaskOutcome =
  | { ok: true; value: unknown; runtime: number }
  | { ok: false; error: PoolError; runtime: number };

/** Calls from a pool back to the worker. */
export interface PoolHooks {
  /** A task in a thread or child recorded a custom state (updateState). */
  updateState?(taskId: string, state: string, meta: unknown): Promise<void>;
  /** The pool replaced a thread or child (died, max tasks or memory reached). */
  log?(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface Pool {
  /** 'async', 'threads', 'processes': for banners and stats. */
  readonly name: string;
  /** Slots now (changes with grow/shrink and autoscale). */
  readonly concurrency: number;
  /** Calls running now. */
  readonly active: number;
  /** Free slots. */
  readonly available: number;
  start(): Promise<void>;
  apply(call: TaskCall): Promise<TaskOutcome>;
  /** Stops the pool; running calls are abandoned (the worker waits for them first on a warm stop). */
  stop(): Promise<void>;
  /** Adds `n` slots / removes up to `n` slots (busy ones leave when their task ends). */
  grow(n: number): void;
  shrink(n: number): void;
  /**
   * Stops a running task: kills its thread or child (with `signal` for processes; SIGTERM by default).
   * The async pool can only abort the task's signal. Returns false when the task is not running here.
   */
  terminate(taskId: string, signal?: string): boolean;
  /**
   * Replaces every thread or child with a new one that imports the app module afresh (Celery's pool restart);
   * running tasks finish in the old ones first. Resolves with the new pids once they take work. Pools that run
   * tasks in the worker's own process (async) have none: they cannot re-import.
   */
  restart?(): Promise<number[]>;
  /** Process ids of the children (Celery's stats `pool.processes`); the worker's own pid for in-process pools. */
  pids(): number[];
  /** The process running a task (Celery's worker_pid in inspect replies). */
  pidOf(taskId: string): number;
}
