/**
 * One pending wait for a task's result (a `waitFor` call): its promise's settle functions, its timeout on a
 * shared timer and its abort signal. Shared by the places that hold waiters: kv-waiters.ts (by task id,
 * for any key-value store) and the memory store (on the key's own entry).
 */
import { ResultTimeoutError } from '../errors.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import { Deadlines, type Deadline } from '../util/deadlines.js';
import type { WaitOptions } from './types.js';

export class Waiter {
  deadline: Deadline<Waiter> | undefined;
  /** The state seen when it started waiting, for the timeout's message. */
  seen = 'PENDING';
  timeout = 0;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  constructor(
    readonly taskId: string,
    readonly resolve: (meta: ResultMeta) => void,
    readonly reject: (error: Error) => void,
  ) {}

  /** Cancels the deadline and the abort listener. */
  done(deadlines: Deadlines<Waiter>): void {
    if (this.deadline) deadlines.cancel(this.deadline);
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** What ends a waiter early (its timeout or its signal): take it out of where it is held, `done()`, reject. */
export type FailWaiter = (waiter: Waiter, error: Error) => void;

/** One timer for every waiter's timeout; an expired waiter fails with ResultTimeoutError. */
export function waiterDeadlines(fail: FailWaiter): Deadlines<Waiter> {
  return new Deadlines<Waiter>((w) =>
    fail(w, new ResultTimeoutError(`task ${w.taskId} was not ready after ${w.timeout} ms (state ${w.seen}). Is a worker consuming its queue? Raise the timeout, or check with \`celeriac result ${w.taskId}\`.`)),
  );
}

function abortReason(signal: AbortSignal, taskId: string): Error {
  return signal.reason instanceof Error ? signal.reason : new ResultTimeoutError(`waiting for task ${taskId} was aborted`);
}

/**
 * A new waiter for `taskId` with the options' signal and timeout armed (they end it through `fail`), handed
 * to `hold` to be kept until its result is written. `seen` is the state read when it started waiting. An
 * already aborted signal rejects at once and nothing is held.
 */
export function waitNew(taskId: string, options: WaitOptions, seen: string | undefined, deadlines: Deadlines<Waiter>, fail: FailWaiter, hold: (w: Waiter) => void): Promise<ResultMeta> {
  const { timeout, signal } = options;
  return new Promise<ResultMeta>((resolve, reject) => {
    const waiter = new Waiter(taskId, resolve, reject);
    if (signal) {
      if (signal.aborted) return reject(abortReason(signal, taskId));
      const onAbort = (): void => fail(waiter, abortReason(signal, taskId));
      waiter.signal = signal;
      waiter.onAbort = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeout !== undefined) {
      if (seen !== undefined) waiter.seen = seen;
      waiter.timeout = timeout;
      waiter.deadline = deadlines.add(waiter, timeout);
    }
    hold(waiter);
  });
}
