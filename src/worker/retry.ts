/**
 * Retries (Celery's Task.retry): the worker sends the same task again, same id, retries + 1, after the
 * countdown, and records RETRY; past maxRetries the run is a FAILURE with the error that caused it (or
 * MaxRetriesExceededError). The new message goes where the old one came from.
 */
import type { Celeriac } from '../app/celeriac.js';
import type { TaskOptions } from '../app/task.js';
import { MaxRetriesExceededError, Retry } from '../errors.js';
import type { TaskRequest } from '../protocol/task-message.js';
import type { Delivery } from '../transport/types.js';
import type { PoolError } from './pools/types.js';

/** Celery's defaults: max_retries 3, default_retry_delay 180 s. */
const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_RETRY_DELAY = 180;

/** A Retry, also one thrown through another copy of celeriac than the worker's (the app may bundle its own). */
export function isRetry(error: unknown): error is Retry {
  return error instanceof Retry || (error instanceof Error && error.name === 'Retry' && 'countdown' in error && 'maxRetries' in error);
}

/** Celery's retry_backoff_max default: 600 s. */
const DEFAULT_BACKOFF_MAX = 600;

/** Whether `error` is one the task retries by itself (autoretryFor: a class it is an instance of, or its name). */
function autoRetries(options: TaskOptions, error: unknown): boolean {
  const list = options.autoretryFor;
  if (!list?.length || !(error instanceof Error) || isRetry(error)) return false;
  return list.some((c) => (typeof c === 'string' ? error.name === c : error instanceof c || (error as Error).name === c.name));
}

/**
 * Celery's get_exponential_backoff_interval: min(max, factor * 2^retries), then with full jitter a whole
 * number of seconds picked at random in [0, that].
 */
export function backoffSeconds(retries: number, options: TaskOptions, random: () => number = Math.random): number | undefined {
  const b = options.retryBackoff;
  if (!b) return undefined;
  const factor = b === true ? 1 : b;
  const countdown = Math.min(options.retryBackoffMax ?? DEFAULT_BACKOFF_MAX, factor * 2 ** retries);
  return options.retryJitter === false ? countdown : Math.floor(random() * (Math.floor(countdown) + 1));
}

/** The Retry an error stands for: thrown by retry(), crossed from a pool child, or matched by autoretryFor. */
export function asRetry(task: TaskRequest, options: TaskOptions, error: unknown, crossed: PoolError | undefined): Retry | undefined {
  if (isRetry(error)) return error;
  if (crossed?.retry) {
    const r = crossed.retry;
    const exc = r.exc ? Object.assign(new Error(r.exc.message), { name: r.exc.name, stack: r.exc.stack ?? undefined }) : undefined;
    return new Retry({ countdown: r.countdown, eta: r.eta ? new Date(r.eta) : undefined, maxRetries: r.maxRetries, exc });
  }
  if (autoRetries(options, error)) return new Retry({ exc: error, countdown: backoffSeconds(task.retries, options) });
  return undefined;
}

export type RetryDecision = { retry: true; countdown: number | undefined; eta: Date | undefined } | { retry: false; error: unknown };

export function decideRetry(task: TaskRequest, options: TaskOptions, retry: Retry): RetryDecision {
  const max = retry.maxRetries !== undefined ? retry.maxRetries : (options.maxRetries ?? DEFAULT_MAX_RETRIES);
  if (max !== null && task.retries >= max) {
    const error = retry.exc ?? new MaxRetriesExceededError(`Can't retry ${task.name}[${task.id}] args:${task.argsrepr} kwargs:${task.kwargsrepr}: ${max} retries done`);
    return { retry: false, error };
  }
  if (retry.eta) return { retry: true, countdown: undefined, eta: retry.eta };
  return { retry: true, countdown: retry.countdown ?? options.defaultRetryDelay ?? DEFAULT_RETRY_DELAY, eta: undefined };
}

/** Publishes the next attempt of `task`, back to the queue it came from. */
export async function sendRetry(app: Celeriac, task: TaskRequest, delivery: Delivery, when: { countdown: number | undefined; eta: Date | undefined }): Promise<void> {
  const prepared = app.producer.prepare(
    task.name,
    task.args,
    {
      kwargs: task.kwargs,
      taskId: task.id,
      retries: task.retries + 1,
      countdown: when.countdown,
      eta: when.eta,
      expires: task.expires ?? undefined,
      queue: delivery.queue,
      exchange: delivery.exchange,
      routingKey: delivery.routingKey,
      rootId: task.rootId ?? undefined,
      parentId: task.parentId ?? undefined,
      groupId: task.groupId ?? undefined,
      groupIndex: task.groupIndex ?? undefined,
      shadow: task.shadow ?? undefined,
      timeLimit: task.timeLimit[0] ?? undefined,
      softTimeLimit: task.timeLimit[1] ?? undefined,
      ignoreResult: task.ignoreResult,
      embed: task.embed,
    },
    {},
  );
  await app.producer.send(prepared);
}
