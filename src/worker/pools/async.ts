/** The async pool (default): tasks run on the worker's own event loop, N at a time. Right for I/O-bound work. */
import { NotRegisteredError } from '../../errors.js';
import { BasePool } from './base.js';
import type { TaskCall } from './types.js';

export interface AsyncTaskRunner {
  invoke(args: unknown[]): unknown;
}

export class AsyncPool extends BasePool {
  readonly name = 'async';

  constructor(
    concurrency: number,
    private readonly lookup: (name: string) => AsyncTaskRunner | undefined,
  ) {
    super(concurrency);
  }

  protected async onApply(call: TaskCall): Promise<unknown> {
    const task = this.lookup(call.name);
    if (!task) throw new NotRegisteredError(call.name);
    return task.invoke(call.args);
  }
}
