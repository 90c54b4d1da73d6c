/**
 * The context of a running task: its request (id, retries, ...) and retry(). A task reads it through its
 * own `Task` object (`add.request`, `add.retry()`), which finds it in the app's AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Retry, type RetryOptions } from '../errors.js';
import type { TaskRequestInfo } from '../protocol/task-message.js';

export type { TaskRequestInfo };

export class TaskContext {
  constructor(
    readonly request: TaskRequestInfo,
    /** Aborted when the task must stop (soft time limit, revoke, cold shutdown). */
    readonly signal: AbortSignal | undefined,
  ) {}

  /** Ends this run and asks the worker to run the task again later (it throws; nothing after it runs). */
  readonly retry = (options: RetryOptions = {}): never => {
    throw new Retry(options);
  };
}

/** The running task's context, per app instance (no module-level state). */
export class ContextStore {
  private readonly storage = new AsyncLocalStorage<TaskContext>();

  run<T>(context: TaskContext, fn: () => T): T {
    return this.storage.run(context, fn);
  }

  current(): TaskContext | undefined {
    return this.storage.getStore();
  }
}
