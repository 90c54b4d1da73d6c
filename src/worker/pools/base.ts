/** A thin pool base with template hooks (Celery's BasePool idea): slot accounting and timing live here. */
import type { Pool, PoolError, TaskCall, TaskOutcome } from './types.js';

export function toPoolError(err: unknown): PoolError {
  if (err instanceof Error) return { name: err.name || 'Error', message: err.message, stack: err.stack ?? null, error: err };
  return { name: 'Error', message: String(err), stack: null, error: err };
}

export abstract class BasePool implements Pool {
  abstract readonly name: string;
  private running = 0;

  constructor(readonly concurrency: number) {}

  get active(): number {
    return this.running;
  }

  get available(): number {
    return Math.max(0, this.concurrency - this.running);
  }

  async start(): Promise<void> {
    await this.onStart();
  }

  async apply(call: TaskCall): Promise<TaskOutcome> {
    this.running++;
    const started = performance.now();
    try {
      const value = await this.onApply(call);
      return { ok: true, value, runtime: (performance.now() - started) / 1000 };
    } catch (err) {
      return { ok: false, error: toPoolError(err), runtime: (performance.now() - started) / 1000 };
    } finally {
      this.running--;
    }
  }

  async stop(): Promise<void> {
    await this.onStop();
  }

  protected async onStart(): Promise<void> {}
  protected async onStop(): Promise<void> {}
  /** Runs the call; returns its result or throws its error. */
  protected abstract onApply(call: TaskCall): Promise<unknown>;
}
