/**
 * The async pool (default): tasks run on the worker's own event loop, N at a time. Right for I/O-bound work.
 * It cannot stop a running function: a hard time limit fails and abandons the run, terminate aborts its signal.
 */
import { BasePool } from './base.js';
import type { PoolHooks, TaskCall } from './types.js';

/** Records a custom state of a running task (the worker's `updateState` hook). */
export type StateReporter = (taskId: string, state: string, meta: unknown) => Promise<void>;

/** Runs a task call in this process (the app's runTask: lookup, context, invoke). */
export type TaskRunner = (call: TaskCall, report: StateReporter | undefined) => unknown;

export class AsyncPool extends BasePool {
  readonly name = 'async';
  private readonly report: StateReporter | undefined;

  constructor(
    concurrency: number,
    private readonly runTask: TaskRunner,
    hooks: PoolHooks = {},
  ) {
    super(concurrency, hooks);
    this.report = hooks.updateState?.bind(hooks);
  }

  /** The task's own return (a value or a promise): no async wrapper of its own, one promise layer less per task. */
  protected onApply(call: TaskCall): unknown {
    return this.runTask(call, this.report);
  }
}
