/** The messages between a pool and its threads or child processes: one typed union each way. */
import type { TaskRequestInfo } from '../../protocol/task-message.js';
import type { PoolError } from './types.js';

/** What a thread or child needs to start: the module that creates the app, and its export name. */
export interface ChildBoot {
  appModule: string;
  /** The export holding the app (default: `app`, then the default export). */
  exportName?: string;
}

export type ToChild =
  | { t: 'run'; id: string; args: unknown[]; request: TaskRequestInfo }
  /** Abort the task's signal with this error (soft time limit, terminate). */
  | { t: 'abort'; id: string; name: string; message: string }
  /** Finish and exit (retired, pool stopping). */
  | { t: 'exit' };

export type FromChild =
  | { t: 'ready' }
  | { t: 'load-error'; message: string }
  /** `memory`: KiB of the child's resident memory (a thread's own heap), for max-memory-per-child. */
  | { t: 'done'; id: string; ok: true; value: unknown; memory: number }
  | { t: 'done'; id: string; ok: false; error: PoolError; memory: number }
  | { t: 'state'; id: string; state: string; meta: unknown };

/** Environment variable carrying the ChildBoot (JSON) to a child process. */
export const BOOT_ENV = 'CELERIAC_POOL_BOOT';
