/** The async pool (default): tasks run on the worker's own event loop, N at a time. Right for I/O-bound work. */
import { BasePool } from './base.js';
import type { TaskCall } from './types.js';

/** Runs a task call in this process (the app's runTask: lookup, context, invoke). */
export type TaskRunner = (call: TaskCall) => unknown;

export class AsyncPool extends BasePool {
  readonly name = 'async';

  constructor(
    concurrency: number,
    private readonly runTask: TaskRunner,
  ) {
    super(concurrency);
  }

  protected async onApply(call: TaskCall): Promise<unknown> {
    return this.runTask(call);
  }
}
