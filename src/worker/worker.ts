/**
 * The worker: consumes task messages from its queues with a prefetch window, holds ETA tasks until due,
 * runs tasks in its pool, stores results, and shuts down without losing a message.
 *
 *   delivery ─► parse ─► (malformed: dead-letter) ─► (unknown: FAILURE + dead-letter) ─► (expired: REVOKED)
 *            ─► scheduled (ETA) ─► reserved ─► active (pool) ─► result stored ─► ack (late) / ack at start (early)
 */
import type { Celeriac } from '../app/celeriac.js';
import { placeKwargs } from '../app/params.js';
import type { ResultBackend } from '../backend/types.js';
import { CeleriacError, NotRegisteredError, ProtocolError } from '../errors.js';
import { parseTaskMessage, requestInfo, type TaskRequestInfo } from '../protocol/task-message.js';
import type { Consumer, Delivery, Transport } from '../transport/types.js';
import { TypedEmitter } from '../util/emitter.js';
import { defaultNodeName, expandNodeName } from '../util/hostname.js';
import { startControl, type ControlHandle, type WorkerControlOptions } from './control.js';
import { createLogger, type Logger } from './logger.js';
import { AsyncPool } from './pools/async.js';
import { toPoolError } from './pools/base.js';
import type { Pool, TaskOutcome } from './pools/types.js';
import { ResultWriter } from './results.js';
import { decideRetry, isRetry, sendRetry } from './retry.js';
import { WorkerState, type Request } from './state.js';
import { Workflow } from './workflow.js';
import { revokedException } from '../protocol/result-meta.js';

export interface WorkerOptions {
  /** Queues to consume (default: the app's default queue). */
  queues?: string[];
  /** Tasks run at once (default: the app's `concurrency`). */
  concurrency?: number;
  prefetchMultiplier?: number;
  /** Node name; `%h` is the host name (default `celeriac@<host>`). */
  hostname?: string;
  acksLate?: boolean;
  logger?: Logger;
  /** A pool instance; the async pool by default. */
  pool?: Pool;
  /** Remote control: `{ enabled: false }` (--without-control), `allow` list, `statedb` file. */
  control?: WorkerControlOptions;
}

export type WorkerStatus = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface WorkerEvents extends Record<string, unknown[]> {
  ready: [];
  idle: [];
  'task-succeeded': [Request, unknown];
  'task-failed': [Request, unknown];
  stopped: [];
}

/** setTimeout's largest delay; longer ETAs are re-armed. */
const MAX_TIMER = 2_147_483_647;

export class Worker extends TypedEmitter<WorkerEvents> {
  readonly hostname: string;
  readonly queues: string[];
  readonly state = new WorkerState();
  readonly pool: Pool;
  readonly logger: Logger;
  readonly concurrency: number;
  readonly prefetch: number;
  status: WorkerStatus = 'new';
  private readonly acksLate: boolean;
  private transport: Transport | undefined;
  private consumer: Consumer | undefined;
  private results: ResultWriter | undefined;
  /** Callbacks, chain steps and chord parts after a task finishes (./workflow.ts). */
  private workflow: Workflow | undefined;
  private cold = false;
  private stopping: Promise<void> | undefined;
  /** Keeps the process alive while the worker runs (broker handles may be unref'd). */
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly controlOptions: WorkerControlOptions;
  /** The mailbox node and revoked set, while running. */
  control: ControlHandle | undefined;

  constructor(
    readonly app: Celeriac,
    options: WorkerOptions = {},
  ) {
    super();
    const conf = app.conf;
    this.queues = options.queues?.length ? [...new Set(options.queues)] : [conf.defaultQueue];
    this.concurrency = options.concurrency ?? options.pool?.concurrency ?? conf.concurrency;
    this.prefetch = this.concurrency * (options.prefetchMultiplier ?? conf.prefetchMultiplier);
    this.hostname = expandNodeName(options.hostname ?? defaultNodeName());
    this.acksLate = options.acksLate ?? conf.acksLate;
    this.logger = options.logger ?? createLogger({ level: conf.logLevel });
    this.controlOptions = options.control ?? {};
    this.pool = options.pool ?? new AsyncPool(this.concurrency, (call) => app.runTask(call.name, call.args, () => ({ request: call.request, signal: call.signal })));
  }

  async start(): Promise<this> {
    if (this.status !== 'new') throw new Error(`worker ${this.hostname} was already started`);
    this.status = 'starting';
    const transport = (this.transport = await this.app.connection());
    const backend: ResultBackend = await this.app.resultBackend();
    this.results = new ResultWriter(backend, this.app.conf, this.hostname, this.logger);
    this.workflow = new Workflow(this.app, backend, this.logger);
    await this.pool.start();
    this.consumer = transport.createConsumer({
      prefetch: this.prefetch,
      onMessage: (d) => this.onMessage(d),
      // Broker outages are expected and retried: one line, no stack. Anything else is a bug worth a stack.
      onError: (e) => (e instanceof CeleriacError && e.retryable ? this.logger.error('broker: %s', e.message) : this.logger.error({ err: e }, 'consumer error: %s', e.message)),
    });
    for (const queue of this.queues) {
      await this.app.producer.declareRoute(transport, { queue, exchange: queue, routingKey: queue });
      await this.consumer.consume(queue);
    }
    this.status = 'running';
    this.dispatch();
    this.control = await startControl(this, { transport, backend, logger: this.logger }, this.controlOptions);
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    this.logger.info('%s ready: consuming %s', this.hostname, this.queues.join(', '));
    this.emit('ready');
    return this;
  }

  private onMessage(delivery: Delivery): void {
    // Messages arrive from the first consume() on, while start() still declares the other queues.
    if (this.status !== 'running' && this.status !== 'starting') {
      void delivery.reject({ requeue: true }).catch((e: unknown) => this.logError('hand back', e));
      return;
    }
    let task;
    try {
      task = parseTaskMessage(delivery.message, this.app.codecs);
    } catch (err) {
      const reason = err instanceof ProtocolError ? err.message : String(err);
      this.logger.error({ queue: delivery.queue, tag: delivery.deliveryTag }, 'malformed message dead-lettered: %s', reason);
      void delivery.reject({ requeue: false, reason: `malformed: ${reason}` }).catch((e: unknown) => this.logError('dead-letter', e));
      return;
    }
    const request: Request = { task, delivery, receivedAt: Date.now(), acked: false };
    const registered = this.app.tasks.get(task.name);
    if (!registered) {
      void this.rejectUnknown(request);
      return;
    }
    this.logger.info('Task %s[%s] received', task.name, task.id);
    if (this.expired(request)) return;
    const delay = task.eta ? task.eta.getTime() - Date.now() : 0;
    if (delay > 0) this.schedule(request, delay);
    else this.reserve(request);
  }

  private async rejectUnknown(request: Request): Promise<void> {
    const { task } = request;
    const error = new NotRegisteredError(task.name);
    this.logger.error('Received unregistered task of type %s [%s]: stored FAILURE and dead-lettered the message. %s', JSON.stringify(task.name), task.id, error.message);
    try {
      if (!task.ignoreResult) await this.results?.failure(request, error, null);
      await request.delivery.reject({ requeue: false, reason: `unregistered task '${task.name}'` });
    } catch (err) {
      this.logError('unregistered task', err);
    }
  }

  /** Stores REVOKED (expired) and acks when the task's `expires` has passed. */
  private expired(request: Request): boolean {
    const { task } = request;
    if (!task.expires || task.expires.getTime() > Date.now()) return false;
    this.logger.warn('Task %s[%s] expired at %s: not run (REVOKED)', task.name, task.id, task.expires.toISOString());
    void (async () => {
      if (!task.ignoreResult) await this.results?.revoked(request, 'expired');
      if (Workflow.involved(task)) await this.workflow?.revoked(task, revokedException('expired'));
      await this.settle(request);
    })().catch((e: unknown) => this.logError('expired task', e));
    return true;
  }

  /** Holds an ETA task outside the prefetch window (Celery raises the window for each). */
  private schedule(request: Request, delay: number): void {
    const id = request.task.id;
    const timer = setTimeout(() => {
      this.state.scheduled.delete(id);
      this.consumer?.setPrefetch(this.prefetch + this.state.scheduled.size);
      if (delay > MAX_TIMER) return this.schedule(request, (request.task.eta?.getTime() ?? 0) - Date.now());
      if (!this.expired(request)) this.reserve(request);
    }, Math.min(delay, MAX_TIMER));
    this.state.scheduled.set(id, { request, timer });
    if (this.prefetch > 0) this.consumer?.setPrefetch(this.prefetch + this.state.scheduled.size);
  }

  private reserve(request: Request): void {
    this.state.reserved.push(request);
    this.dispatch();
  }

  private dispatch(): void {
    // Slots are counted on the worker's side: a request is active from its first step (the early ack), before the pool sees it.
    while (this.status === 'running' && this.state.active.size < this.pool.concurrency && this.state.reserved.length > 0) {
      const request = this.state.reserved.shift() as Request;
      void this.execute(request);
    }
  }

  private async execute(request: Request): Promise<void> {
    const { task } = request;
    const registered = this.app.tasks.get(task.name);
    if (!registered) return this.rejectUnknown(request);
    const opts = registered.options;
    const acksLate = opts.acksLate ?? this.acksLate;
    const ignoreResult = task.ignoreResult || (opts.ignoreResult ?? this.app.conf.taskIgnoreResult);
    const results = this.results as ResultWriter;
    this.state.active.set(task.id, request);
    request.startedAt = Date.now();
    try {
      // Early ack, as Celery's: the task runs while the ack is written (a failed ack is logged, not fatal).
      if (!acksLate) this.ackEarly(request);
      if (!ignoreResult && (opts.trackStarted ?? this.app.conf.taskTrackStarted)) await results.started(request);
      const outcome = await this.run(request, registered.params);
      if (this.cold) return;
      if (outcome.ok) {
        if (this.logger.isLevelEnabled('info')) this.logger.info('Task %s[%s] succeeded in %ss: %s', task.name, task.id, outcome.runtime.toFixed(6), preview(outcome.value));
        if (!ignoreResult) await results.success(request, outcome.value);
        if (Workflow.involved(task)) await this.workflow?.succeeded(task, outcome.value);
        this.emit('task-succeeded', request, outcome.value);
      } else {
        const thrown: unknown = outcome.error.error ?? Object.assign(new Error(outcome.error.message), { name: outcome.error.name });
        let error = thrown;
        let stack = outcome.error.stack;
        const decision = isRetry(thrown) ? decideRetry(task, opts, thrown) : undefined;
        if (decision?.retry && isRetry(thrown)) {
          await sendRetry(this.app, task, request.delivery, decision);
          this.logger.info('Task %s[%s] retry: %s', task.name, task.id, thrown.message);
          if (!ignoreResult) await results.retry(request, thrown.exc, stack);
        } else {
          if (decision && !decision.retry) {
            error = decision.error;
            stack = error instanceof Error ? (error.stack ?? stack) : stack;
          }
          const e = error instanceof Error ? error : new Error(String(error));
          this.state.failed++;
          this.logger.error('Task %s[%s] raised unexpected: %s: %s', task.name, task.id, e.name, e.message);
          if (!ignoreResult) await results.failure(request, error, stack);
          if (Workflow.involved(task)) await this.workflow?.failed(task, error, stack ?? null);
          this.emit('task-failed', request, error);
        }
      }
      if (acksLate) await this.settle(request);
      this.state.count(task.name);
    } catch (err) {
      this.logError(`task ${task.name}[${task.id}]`, err);
      if (!request.acked && !this.cold) await request.delivery.reject({ requeue: true }).catch(() => undefined);
    } finally {
      this.state.active.delete(task.id);
      if (this.state.active.size === 0) this.emit('idle');
      this.dispatch();
    }
  }

  /** Binds the message's args and kwargs to the function's parameters and runs it in the pool. */
  private run(request: Request, params: string[] | undefined): TaskOutcome | Promise<TaskOutcome> {
    const { task } = request;
    let args: unknown[];
    try {
      args = placeKwargs(task.args, task.kwargs, params);
    } catch (err) {
      // A call Python would refuse (a kwarg repeating a positional argument) fails like the task would.
      return { ok: false, error: toPoolError(err), runtime: 0 };
    }
    const { delivery } = request;
    const hostname = this.hostname;
    let info: TaskRequestInfo | undefined;
    // The request info and the signal are made on first use: most tasks in the async pool read neither.
    return this.pool.apply({
      id: task.id, name: task.name, args,
      get request() { return (info ??= requestInfo(task, hostname, { exchange: delivery.exchange, routingKey: delivery.routingKey, queue: delivery.queue })); },
      get signal() { return (request.abort ??= new AbortController()).signal; },
    });
  }

  private ackEarly(request: Request): void {
    if (request.acked) return;
    request.acked = true;
    request.delivery.ack().catch((e: unknown) => this.logError(`ack of task ${request.task.id}`, e));
  }

  private async settle(request: Request): Promise<void> {
    if (request.acked) return;
    request.acked = true;
    await request.delivery.ack();
  }

  private logError(what: string, err: unknown): void {
    this.logger.error({ err }, '%s failed: %s', what, err instanceof Error ? err.message : String(err));
  }

  /**
   * Warm stop: take no more work, hand prefetched and scheduled messages back, wait for running tasks.
   * `cold: true` (or a second call with it) stops at once and hands back running late-ack tasks too.
   */
  stop(options: { cold?: boolean } = {}): Promise<void> {
    if (options.cold && !this.cold) {
      this.cold = true;
      for (const r of this.state.active.values()) (r.abort ??= new AbortController()).abort(new Error('cold shutdown'));
      this.emit('idle');
    }
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.status === 'new') {
      this.status = 'stopped';
      return;
    }
    this.status = 'stopping';
    const consumer = this.consumer;
    for (const q of [...(consumer?.queues ?? [])]) await consumer?.cancel(q);
    const handBack: Request[] = [...this.state.reserved.splice(0)];
    for (const { request, timer } of this.state.scheduled.values()) {
      clearTimeout(timer);
      handBack.push(request);
    }
    this.state.scheduled.clear();
    await Promise.all(handBack.map((r) => r.delivery.reject({ requeue: true }).catch((e: unknown) => this.logError('hand back', e))));
    if (handBack.length) this.logger.info('handed %d waiting task(s) back to the queue', handBack.length);
    while (this.state.active.size > 0 && !this.cold) {
      this.logger.info('waiting for %d running task(s) to finish (signal again for a cold shutdown)', this.state.active.size);
      await new Promise<void>((resolve) => this.once('idle', resolve));
    }
    if (this.cold) {
      const running = [...this.state.active.values()].filter((r) => !r.acked);
      await Promise.all(running.map((r) => r.delivery.reject({ requeue: true }).catch(() => undefined)));
    }
    await consumer?.close();
    await this.pool.stop();
    await this.control?.stop().catch((e: unknown) => this.logError('stop remote control', e));
    clearInterval(this.keepAlive);
    this.status = 'stopped';
    this.logger.info('%s stopped', this.hostname);
    this.emit('stopped');
  }
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
