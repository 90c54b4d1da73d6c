/**
 * A thin pool base with template hooks (Celery's BasePool idea): slot accounting, timing, time limits and
 * terminate live here; a pool implements `onApply` and, when it can, `onHardTimeout` / `onTerminate`.
 */
import { SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded } from '../../errors.js';
import type { Pool, PoolError, PoolFailure, PoolHooks, TaskCall, TaskOutcome } from './types.js';

/** A time limit in seconds that a timer can hold; undefined for none, zero, negative or past setTimeout's range. */
function timerLimit(seconds: number | null | undefined): number | undefined {
  return typeof seconds === 'number' && seconds > 0 && seconds * 1000 <= 2_147_483_647 ? seconds : undefined;
}

/** Marks an error as the pool's own ending of a run (so the worker tells it from the task's errors). */
export function poolFailure(kind: PoolFailure, error: Error): Error {
  return Object.assign(error, { poolFailure: kind });
}

export function toPoolError(err: unknown): PoolError {
  // An error that crossed from a thread or child arrives as its PoolError already.
  const crossed = (err as { poolError?: PoolError } | null)?.poolError;
  if (crossed) return crossed;
  if (err instanceof Error) {
    const out: PoolError = { name: err.name || 'Error', message: err.message, stack: err.stack ?? null, error: err };
    const kind = (err as { poolFailure?: PoolFailure }).poolFailure;
    if (kind) out.kind = kind;
    return out;
  }
  return { name: 'Error', message: String(err), stack: null, error: err };
}

export abstract class BasePool implements Pool {
  abstract readonly name: string;
  private running = 0;
  protected size: number;
  /** Calls running now, by task id (terminate finds them here). */
  protected readonly calls = new Map<string, TaskCall>();

  constructor(
    concurrency: number,
    protected readonly hooks: PoolHooks = {},
  ) {
    this.size = concurrency;
  }

  get concurrency(): number {
    return this.size;
  }

  get active(): number {
    return this.running;
  }

  get available(): number {
    return Math.max(0, this.size - this.running);
  }

  async start(): Promise<void> {
    await this.onStart();
  }

  async apply(call: TaskCall): Promise<TaskOutcome> {
    this.running++;
    this.calls.set(call.id, call);
    const started = performance.now();
    try {
      const run = this.onApply(call);
      const value = call.softTimeLimit || call.timeLimit ? await this.withLimits(call, Promise.resolve(run)) : await run;
      return { ok: true, value, runtime: (performance.now() - started) / 1000 };
    } catch (err) {
      return { ok: false, error: toPoolError(err), runtime: (performance.now() - started) / 1000 };
    } finally {
      this.running--;
      this.calls.delete(call.id);
    }
  }

  /** Soft limit: abort the task's signal with SoftTimeLimitExceeded. Hard limit: end the run (kill or abandon). */
  private withLimits(call: TaskCall, run: Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      // A limit no timer can hold (past ~24.8 days) is no limit: setTimeout would fire it at once.
      const soft = timerLimit(call.softTimeLimit);
      const hard = timerLimit(call.timeLimit);
      const softTimer =
        soft && (!hard || soft < hard)
          ? setTimeout(() => {
              const error = new SoftTimeLimitExceeded(`soft time limit (${soft}s) exceeded by ${call.name}[${call.id}]`);
              call.abort.abort(error);
              this.onSoftTimeout(call, error);
            }, soft * 1000)
          : undefined;
      const hardTimer = hard
        ? setTimeout(() => {
            const error = new TimeLimitExceeded(`hard time limit (${hard}s) exceeded by ${call.name}[${call.id}]`);
            // An abandoned async run can still notice and stop.
            if (!call.abort.signal.aborted) call.abort.abort(error);
            this.onHardTimeout(call);
            reject(poolFailure('time-limit', error));
          }, hard * 1000)
        : undefined;
      run.then(resolve, reject).finally(() => {
        clearTimeout(softTimer);
        clearTimeout(hardTimer);
      });
    });
  }

  terminate(taskId: string, signal?: string): boolean {
    const call = this.calls.get(taskId);
    if (!call) return false;
    call.abort.abort(new TaskRevokedError('terminated'));
    this.onTerminate(call, signal);
    return true;
  }

  grow(n: number): void {
    this.size += Math.max(0, Math.trunc(n));
    this.onResize();
  }

  shrink(n: number): void {
    this.size = Math.max(0, this.size - Math.max(0, Math.trunc(n)));
    this.onResize();
  }

  pids(): number[] {
    return [process.pid];
  }

  pidOf(_taskId: string): number {
    return process.pid;
  }

  async stop(): Promise<void> {
    await this.onStop();
  }

  protected async onStart(): Promise<void> {}
  protected async onStop(): Promise<void> {}
  /** Runs the call; returns its result (or a promise of it) or throws its error. */
  protected abstract onApply(call: TaskCall): unknown;
  /** The soft limit passed (the call's signal is aborted already); child pools tell the child. */
  protected onSoftTimeout(_call: TaskCall, _error: Error): void {}
  /** The hard limit passed: stop the run if possible (the outcome is TimeLimitExceeded either way). */
  protected onHardTimeout(_call: TaskCall): void {}
  /** Terminate asked for (the call's signal is aborted already): kill what runs it, if possible. */
  protected onTerminate(_call: TaskCall, _signal: string | undefined): void {}
  protected onResize(): void {}
}
