/** Tasks: a named function plus options; `delay`/`applyAsync` send it, typed by the function. */
import { ConfigError, TaskError, type RetryOptions } from '../errors.js';
import { parseRate } from '../util/rate.js';
import type { SignatureDict, TaskEmbed } from '../protocol/task-message.js';
import type { TaskContext, TaskRequestInfo } from './context.js';
import type { AsyncResult } from './result.js';
import { parameterNames } from './params.js';
import { chunksGroup, xsig } from './canvas/builtins.js';
import { Group, Signature } from './canvas/signature.js';
import type { CanvasApp } from './canvas/types.js';
import type { ApplyOptions } from './apply-options.js';

export type { ApplyOptions };

/**
 * The arguments a partial signature may hold: the task's arguments with some leading ones left out, since
 * a chain or callback puts the parent's result first (`add.s(2)` for `add(x, y)`).
 */
export type PartialArgs<A extends unknown[]> = number extends A['length'] ? A : A extends [] ? [] : A | (A extends [unknown?, ...infer Rest] ? PartialArgs<Rest> : never);

export interface TaskOptions {
  /**
   * Run with a context (Celery's bind=True): `app.currentTask` and the task's own `request`, `signal` and
   * `retry()` work inside it. Off by default: the context costs every task some speed on Node 20.
   */
  bind?: boolean;
  /** Queue to send to when neither the call nor `taskRoutes` names one. */
  queue?: string;
  /** Store no result. */
  ignoreResult?: boolean;
  /** Record STARTED when a worker begins the task. */
  trackStarted?: boolean;
  /** Ack after the task finishes instead of when it starts. */
  acksLate?: boolean;
  /** Hard time limit in seconds. */
  timeLimit?: number;
  /** Soft time limit in seconds. */
  softTimeLimit?: number;
  /** Default message priority. */
  priority?: number;
  /** Parameter names, to place kwargs sent by Python callers (read from the function when omitted). */
  params?: string[];
  /** Most retries through `task.retry()` (Celery's max_retries; default 3; null = no limit). */
  maxRetries?: number | null;
  /** Seconds before a retry when `retry()` names no countdown (Celery's default_retry_delay; default 180). */
  defaultRetryDelay?: number;
  /** At most this many runs per worker: '10/s', '100/m', '5/h', or tasks per second. Over it, tasks wait. */
  rateLimit?: string | number;
  /** Errors that retry the task by themselves (Celery's autoretry_for): classes, or error names. */
  autoretryFor?: readonly (ErrorClass | string)[];
  /** Exponential back-off between automatic retries: true (1 s, 2 s, 4 s...) or the first delay in seconds. */
  retryBackoff?: boolean | number;
  /** Longest back-off delay in seconds (default 600). */
  retryBackoffMax?: number;
  /** Pick each back-off delay at random between 0 and its value (default true, as Celery). */
  retryJitter?: boolean;
  /** With acksLate: hand the message back when the thread or child running it dies, instead of FAILURE. */
  rejectOnWorkerLost?: boolean;
}

/** An error class, as named in `autoretryFor`. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** Checks the options a worker relies on, so a mistake shows at registration, not on the first message. */
function checkOptions(name: string, options: TaskOptions): void {
  if (options.rateLimit !== undefined) parseRate(options.rateLimit, `task '${name}': rateLimit`);
  for (const key of ['timeLimit', 'softTimeLimit', 'retryBackoffMax', 'defaultRetryDelay'] as const) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0))) throw new ConfigError(`task '${name}': ${key} must be a number of seconds >= 0; got ${String(v)}`);
  }
  if (typeof options.retryBackoff === 'number' && !(options.retryBackoff > 0)) throw new ConfigError(`task '${name}': retryBackoff must be true or a first delay in seconds > 0; got ${options.retryBackoff}`);
}

/** What a Task needs from its app: sending itself, and the context of the task running now. */
export interface TaskSender extends CanvasApp {
  sendTaskMessage<R>(name: string, args: readonly unknown[], options: ApplyOptions, defaults: TaskOptions): Promise<AsyncResult<R>>;
  currentContext(): TaskContext | undefined;
}

/** What the worker and the registry see of any task, whatever its argument and result types. */
export interface RegisteredTask {
  readonly name: string;
  readonly options: TaskOptions;
  readonly params: string[] | undefined;
  /** Runs the function with arguments from a message. */
  invoke(args: unknown[]): unknown;
}

export class Task<A extends unknown[] = unknown[], R = unknown> implements RegisteredTask {
  /** Parameter names used to place kwargs. */
  readonly params: string[] | undefined;

  constructor(
    private readonly sender: TaskSender,
    readonly name: string,
    readonly fn: (...args: A) => R | Promise<R>,
    readonly options: TaskOptions = {},
  ) {
    checkOptions(name, options);
    this.params = options.params ?? parameterNames(fn as (...args: never[]) => unknown);
  }

  /** Sends the task with these arguments; resolves once the message is with the broker. */
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.sender.sendTaskMessage<R>(this.name, args, {}, this.options);
  }

  /** Sends the task with options: countdown, eta, expires, priority, queue, kwargs, ... */
  applyAsync(args: A, options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    return this.sender.sendTaskMessage<R>(this.name, args, options, this.options);
  }

  /** The context of this task's current run; throws outside one. */
  private context(): TaskContext {
    const ctx = this.sender.currentContext();
    if (!ctx || ctx.request.name !== this.name) {
      const how = this.options.bind ? '' : ', and only for a task registered with { bind: true }';
      throw new TaskError(`${this.name}: request and retry() are only available while a worker runs this task${how}`);
    }
    return ctx;
  }

  /** The running request: id, retries, args, kwargs, hostname, delivery info, workflow ids. */
  get request(): TaskRequestInfo {
    return this.context().request;
  }

  /** Aborted when the running task must stop: soft time limit (SoftTimeLimitExceeded), revoke with terminate, cold shutdown. */
  get signal(): AbortSignal | undefined {
    return this.context().signal;
  }

  /**
   * Ends this run and has the worker send the task again: after `countdown` seconds (default
   * `defaultRetryDelay`), as RETRY meanwhile, FAILURE once `maxRetries` is passed.
   */
  retry(options: RetryOptions = {}): never {
    return this.context().retry(options);
  }

  /** A signature (partial): sent later, with a parent's result put before these arguments (Celery's `s()`). */
  s(...args: PartialArgs<A>): Signature<R> {
    return new Signature<R>(this.sender, { task: this.name, args: [...args], kwargs: {}, options: {}, subtask_type: null, immutable: false });
  }

  /** An immutable signature: runs with exactly these arguments, whatever its parent returned (Celery's `si()`). */
  si(...args: A): Signature<R> {
    return new Signature<R>(this.sender, { task: this.name, args: [...args], kwargs: {}, options: {}, subtask_type: null, immutable: true });
  }

  /** One `celery.map` message that runs this task on each item in turn; its result is the list of results. */
  map(items: readonly A[0][]): Signature<R[]> {
    return new Signature<R[]>(this.sender, xsig('celery.map', this.bare(), items));
  }

  /** One `celery.starmap` message that runs this task with each argument list in turn. */
  starmap(argsList: readonly A[]): Signature<R[]> {
    return new Signature<R[]>(this.sender, xsig('celery.starmap', this.bare(), argsList));
  }

  /** The argument lists split into chunks of `n`, each one `celery.starmap` message, sent as a group. */
  chunks(argsList: readonly A[], n: number): Group<R[][]> {
    return new Group<R[][]>(this.sender, chunksGroup(this.bare(), argsList, n));
  }

  private bare(): SignatureDict {
    return { task: this.name, args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false };
  }

  /**
   * Records a custom state of this run (Celery's update_state), e.g. `updateState('PROGRESS', { done: 3, of: 10 })`:
   * `AsyncResult.state()` then says PROGRESS and `info()` returns the meta, until the task finishes.
   */
  updateState(state: string, meta: unknown = null): Promise<void> {
    return this.context().updateState(state, meta);
  }

  invoke(args: unknown[]): R | Promise<R> {
    return this.fn(...(args as A));
  }

  /** Runs the function here and now, without a broker. */
  async call(...args: A): Promise<R> {
    return this.fn(...args);
  }
}
