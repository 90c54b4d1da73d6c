/**
 * The context of a running task: its request (id, retries, ...) and retry(). A task reads it through its
 * own `Task` object (`add.request`, `add.retry()`), which finds it in the app's AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Retry, type RetryOptions } from '../errors.js';
import type { TaskRequestInfo } from '../protocol/task-message.js';

export type { TaskRequestInfo };

/** Stores a custom state for a running task (the worker's result writer, or a message to it from a pool child). */
export type StateReporter = (taskId: string, state: string, meta: unknown) => Promise<void>;

export class TaskContext {
  constructor(
    readonly request: TaskRequestInfo,
    /** Aborted when the task must stop (soft time limit, revoke, cold shutdown). */
    readonly signal: AbortSignal | undefined,
    private readonly reporter?: StateReporter,
  ) {}

  /** Records a custom state (PROGRESS...) with its meta for this run; AsyncResult.state()/info() read it. */
  updateState(state: string, meta: unknown = null): Promise<void> {
    if (!this.reporter) return Promise.reject(new Error(`updateState('${state}'): this run has no worker to record states`));
    return this.reporter(this.request.id, state, meta);
  }

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
