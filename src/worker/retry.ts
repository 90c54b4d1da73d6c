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

/** Celery's defaults: max_retries 3, default_retry_delay 180 s. */
const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_RETRY_DELAY = 180;

export function isRetry(error: unknown): error is Retry {
  return error instanceof Retry;
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
