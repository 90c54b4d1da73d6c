/**
 * What the worker does with a finished run: store SUCCESS, FAILURE, RETRY (and send the next attempt), or
 * REVOKED (terminated); and whether the message is acked or handed back (a lost child with rejectOnWorkerLost).
 */
import type { Celeriac } from '../app/celeriac.js';
import { MaxRetriesExceededError, NotRegisteredError, SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded, WorkerLostError } from '../errors.js';
import type { TaskOptions } from '../app/task.js';
import type { Logger } from './logger.js';
import type { TaskOutcome } from './pools/types.js';
import type { ResultWriter } from './results.js';
import { asRetry, decideRetry, sendRetry } from './retry.js';
import type { Request } from './state.js';
import type { WorkerEventer } from './events.js';
import { Workflow } from './workflow.js';
import { revokedException } from '../protocol/result-meta.js';

export interface OutcomeContext {
  app: Celeriac;
  results: ResultWriter;
  logger: Logger;
  /** Callbacks, chain steps and chord parts after a task finishes (./workflow.ts). */
  workflow?: Workflow;
  /** Called for a failure (state counters, events). */
  failed(request: Request, error: unknown): void;
  succeeded(request: Request, value: unknown): void;
  /** Task events: each call is made only when `events.task` is on. */
  events?: WorkerEventer;
}

/** 'ack' the message (or it was acked early), or 'requeue' it for another run. */
export type Settlement = 'ack' | 'requeue';

export async function recordOutcome(ctx: OutcomeContext, request: Request, opts: TaskOptions, outcome: TaskOutcome, store: boolean, acksLate: boolean): Promise<Settlement> {
  const { task } = request;
  const { results, logger } = ctx;
  if (request.stateWrite) await request.stateWrite;
  if (request.terminated !== undefined || (!outcome.ok && outcome.error.kind === 'terminated')) {
    logger.warn('Task %s[%s] terminated (%s): REVOKED', task.name, task.id, request.terminated ?? 'SIGTERM');
    if (ctx.events?.task) ctx.events.revoked(request, { terminated: true, signum: request.terminated ?? 'SIGTERM', expired: false });
    if (store) await results.revoked(request, 'terminated');
    if (Workflow.involved(task)) await ctx.workflow?.revoked(task, revokedException('terminated'));
    return 'ack';
  }
  if (outcome.ok) {
    if (logger.isLevelEnabled('info')) logger.info('Task %s[%s] succeeded in %ss: %s', task.name, task.id, outcome.runtime.toFixed(6), preview(outcome.value));
    if (ctx.events?.task) ctx.events.succeeded(request, outcome.value, outcome.runtime);
    if (store) await results.success(request, outcome.value);
    if (Workflow.involved(task)) await ctx.workflow?.succeeded(task, outcome.value);
    ctx.succeeded(request, outcome.value);
    return 'ack';
  }
  const crossed = outcome.error;
  const thrown: unknown = crossed.error ?? rebuild(crossed.name, crossed.message, crossed.stack);
  if (crossed.kind === 'worker-lost' && acksLate && opts.rejectOnWorkerLost) {
    logger.error('Task %s[%s]: %s; handed back to the queue (rejectOnWorkerLost)', task.name, task.id, crossed.message);
    if (ctx.events?.task) ctx.events.rejected(request, true);
    return 'requeue';
  }
  let error = thrown;
  let stack = crossed.stack;
  const retry = crossed.kind ? undefined : asRetry(task, opts, thrown, crossed);
  const decision = retry ? decideRetry(task, opts, retry) : undefined;
  if (retry && decision?.retry) {
    // The event first: the next attempt may be received (task-received) before sendRetry returns.
    if (ctx.events?.task) ctx.events.retried(request, retry.exc ?? retry, retry.exc instanceof Error ? (retry.exc.stack ?? stack) : stack);
    await sendRetry(ctx.app, task, request.delivery, decision);
    logger.info('Task %s[%s] retry: %s', task.name, task.id, retry.message);
    if (store) await results.retry(request, retry.exc, retry.exc instanceof Error ? (retry.exc.stack ?? stack) : stack);
    return 'ack';
  }
  if (decision && !decision.retry) {
    error = decision.error;
    stack = error instanceof Error ? (error.stack ?? stack) : stack;
  }
  const e = error instanceof Error ? error : new Error(String(error));
  // With its stack, as Celery logs the traceback (`celeriac logtool traces` finds it).
  logger.error(stack ? { err: { type: e.name, message: e.message, stack } } : {}, 'Task %s[%s] raised unexpected: %s: %s', task.name, task.id, e.name, e.message);
  if (ctx.events?.task) ctx.events.failed(request, error, stack);
  if (store) await results.failure(request, error, stack);
  if (Workflow.involved(task)) await ctx.workflow?.failed(task, error, stack ?? null);
  ctx.failed(request, error);
  return 'ack';
}

/** A request turned away without running (revoked, or its expiry passed): REVOKED stored, its workflow told. */
export async function recordDiscard(ctx: OutcomeContext, request: Request, reason: 'revoked' | 'expired'): Promise<void> {
  const { task } = request;
  const store = !(task.ignoreResult || (ctx.app.tasks.get(task.name)?.options.ignoreResult ?? ctx.app.conf.taskIgnoreResult));
  if (ctx.events?.task) ctx.events.revoked(request, { terminated: false, signum: null, expired: reason === 'expired' });
  if (store) await ctx.results.revoked(request, reason);
  if (Workflow.involved(task)) await ctx.workflow?.revoked(task, revokedException(reason));
}

/** A task this worker does not know: FAILURE (NotRegistered) stored, as a Python worker records it. */
export async function recordUnregistered(ctx: OutcomeContext, request: Request): Promise<void> {
  const { task } = request;
  const error = new NotRegisteredError(task.name);
  ctx.logger.error('Received unregistered task of type %s [%s]: stored FAILURE and dead-lettered the message. %s', JSON.stringify(task.name), task.id, error.message);
  if (!task.ignoreResult) await ctx.results.failure(request, error, null);
}

/** Celeriac's own errors keep their class (and so their wire form) when they cross from a pool child. */
const KNOWN: Record<string, new (message: string) => Error> = { SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError, TaskRevokedError, MaxRetriesExceededError };

function rebuild(name: string, message: string, stack: string | null): Error {
  const Known = KNOWN[name];
  const error = Known ? new Known(message) : Object.assign(new Error(message), { name });
  if (stack) error.stack = stack;
  return error;
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? 'null';
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
