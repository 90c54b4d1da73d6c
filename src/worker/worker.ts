/**
 * The worker: consumes task messages from its queues with a prefetch window, holds ETA tasks until due,
 * runs tasks in its pool, stores results, and shuts down without losing a message.
 *
 *   delivery ─► parse ─► (malformed: dead-letter) ─► (unknown: FAILURE + dead-letter) ─► (revoked, expired: REVOKED)
 *            ─► scheduled (EtaHeap) ─► rate limit line ─► reserved ─► active (pool: time limits, terminate)
 *            ─► outcome recorded (outcome.ts) ─► ack (late) / ack at start (early) / handed back (worker lost)
 * The control surface (inspect, limits, pool size, revoke, stats) is in controls.ts, which this class extends.
 */
import type { Celeriac } from '../app/celeriac.js';
import { placeKwargs } from '../app/params.js';
import type { TaskOptions } from '../app/task.js';
import type { ResultBackend } from '../backend/types.js';
import { CeleriacError, ProtocolError } from '../errors.js';
import { parseTaskMessage } from '../protocol/task-message.js';
import type { Consumer, Delivery, Transport } from '../transport/types.js';
import { defaultNodeName, expandNodeName } from '../util/hostname.js';
import { createLogger, type Logger } from './logger.js';
import { startControl, type ControlHandle, type WorkerControlOptions } from './control.js';
import { WorkerControls } from './controls.js';
import { bootsteps, type Bootstep } from './bootsteps.js';
import { WorkerEventer } from './events.js';
import { recordDiscard, recordOutcome, recordUnregistered, type OutcomeContext } from './outcome.js';
import { toPoolError } from './pools/base.js';
import { createPool } from './pools/index.js';
import type { Pool, TaskOutcome } from './pools/types.js';
import { LazyTaskCall } from './call.js';
import { ResultWriter } from './results.js';
import type { TaskRequestSnapshot } from './snapshot.js';
import { WorkerState, type Request } from './state.js';
import type { WorkerEvents, WorkerOptions, WorkerStatus } from './options.js';
import { Workflow } from './workflow.js';

export type { TaskRequestSnapshot };
export type { ScheduledSnapshot } from './controls.js';

export type { WorkerEvents, WorkerOptions, WorkerStatus } from './options.js';

export class Worker extends WorkerControls<WorkerEvents> {
  readonly hostname: string;
  readonly queues: string[];
  readonly state = new WorkerState();
  readonly pool: Pool;
  readonly logger: Logger;
  readonly concurrency: number;
  readonly prefetch: number;
  status: WorkerStatus = 'new';
  /** Settles when start() has finished (or failed): a stop during start-up waits for it. */
  private booting: Promise<void> | undefined;
  /** Whether task messages are acked after the run (a task's own acksLate wins for that task). */
  readonly acksLate: boolean;
  private transport: Transport | undefined;
  private consumer: Consumer | undefined;
  private results: ResultWriter | undefined;
  private cold = false;
  /**
   * Requests whose task function is in the pool. A slot frees when the function returns, so the next task
   * runs while the last one's result and ack are written (finishing ones bounded by the prefetch window).
   */
  private inPool = 0;
  private stopping: Promise<void> | undefined;
  private readonly multiplier: number;
  private readonly timeLimit: number | undefined;
  private readonly softTimeLimit: number | undefined;
  private readonly childLimits: { maxTasksPerChild?: number; maxMemoryPerChild?: number };
  private outcomes: OutcomeContext | undefined;
  private readonly controlOptions: WorkerControlOptions;
  /** The mailbox node answering remote-control commands, while running. */
  control: ControlHandle | undefined;
  /** Worker and task events (worker/events.ts); `eventer.task` is the one check per task. */
  readonly eventer: WorkerEventer;
  /** Keeps the process alive while the worker runs (broker handles may be unref'd). */
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    readonly app: Celeriac,
    options: WorkerOptions = {},
  ) {
    super();
    const conf = app.conf;
    this.queues = options.queues?.length ? [...new Set(options.queues)] : [conf.defaultQueue];
    this.concurrency = options.concurrency ?? (typeof options.pool === 'object' ? options.pool.concurrency : undefined) ?? conf.concurrency;
    this.multiplier = options.prefetchMultiplier ?? conf.prefetchMultiplier;
    if (options.autoscale) this.concurrency = Math.max(options.autoscale.min, 1);
    this.prefetch = this.concurrency * this.multiplier;
    this.timeLimit = options.timeLimit;
    this.softTimeLimit = options.softTimeLimit;
    this.childLimits = { maxTasksPerChild: options.maxTasksPerChild, maxMemoryPerChild: options.maxMemoryPerChild };
    this.hostname = expandNodeName(options.hostname ?? defaultNodeName());
    this.acksLate = options.acksLate ?? conf.acksLate;
    this.logger = options.logger ?? createLogger({ level: conf.logLevel });
    this.controlOptions = options.control ?? {};
    this.poolRestarts = options.poolRestarts ?? conf.poolRestarts;
    this.eventer = new WorkerEventer(this, { taskEvents: options.taskEvents ?? conf.workerSendTaskEvents, heartbeat: options.heartbeat ?? true, heartbeatInterval: options.heartbeatInterval, gossip: options.gossip ?? true });
    const pool = options.pool ?? 'async';
    this.pool =
      typeof pool !== 'string'
        ? pool
        : createPool({
            kind: pool,
            concurrency: this.concurrency,
            // The request and the signal are built only for bound tasks (they cost microseconds each).
            runTask: (call, report) => app.runTask(call.name, call.args, () => ({ request: call.request, signal: call.abort.signal }), report),
            hooks: { updateState: (id, state, meta) => this.recordState(id, state, meta), log: (level, msg) => this.logger[level](msg) },
            appModule: options.appModule,
            maxTasksPerChild: options.maxTasksPerChild,
            maxMemoryPerChild: options.maxMemoryPerChild,
          });
    this.autoscaleOptions = options.autoscale;
  }

  private readonly autoscaleOptions: WorkerOptions['autoscale'];

  /** The components start() brings up, in order, with what each needs (`celeriac graph bootsteps`); `beat`: -B. */
  bootsteps(options: { beat?: boolean } = {}): Bootstep[] {
    const { conf } = this.app;
    const control = { enabled: this.controlOptions.enabled !== false, statedb: this.controlOptions.statedb, namespace: this.app.control.namespace };
    return bootsteps({ broker: conf.broker, backend: conf.backend, pool: this.pool, autoscale: this.autoscaleOptions, prefetch: this.prefetch, queues: this.queues, events: this.eventer.plan, control, beat: options.beat ?? false });
  }

  async start(): Promise<this> {
    if (this.status === 'stopped' && this.stopping) return this; // stopped before it started: nothing to start
    if (this.status !== 'new') throw new Error(`worker ${this.hostname} was already started`);
    this.status = 'starting';
    const booted = this.boot();
    this.booting = booted.then(() => undefined, () => undefined);
    await booted;
    return this;
  }

  private async boot(): Promise<void> {
    const transport = (this.transport = await this.app.connection());
    const backend: ResultBackend = await this.app.resultBackend();
    const results = (this.results = new ResultWriter(backend, this.app.conf, this.hostname, this.logger));
    this.outcomes = {
      app: this.app,
      results,
      workflow: new Workflow(this.app, backend, this.logger),
      logger: this.logger,
      failed: (r, e) => {
        this.state.failed++;
        this.emit('task-failed', r, e);
      },
      succeeded: (r, v) => this.emit('task-succeeded', r, v),
      events: this.eventer,
    };
    for (const [name, task] of this.app.tasks) if (task.options.rateLimit !== undefined && !this.rates.has(name)) this.rates.set(name, task.options.rateLimit);
    await this.pool.start();
    if (this.autoscaleOptions) this.autoscale(this.autoscaleOptions.max, this.autoscaleOptions.min, this.autoscaleOptions.keepalive);
    this.consumer = transport.createConsumer({
      prefetch: this.prefetch,
      onMessage: (d) => this.onMessage(d),
      // Broker outages are expected and retried: one line, no stack. Anything else is a bug worth a stack.
      onError: (e) => (e instanceof CeleriacError && e.retryable ? this.logger.error('broker: %s', e.message) : this.logger.error({ err: e }, 'consumer error: %s', e.message)),
    });
    this.widen();
    // Events before the mailbox, so an enable_events that comes at once finds them ready.
    await this.eventer.start(transport, this.app.control.clock);
    // Before the first delivery: the revoked ids known (statedb, result backend) must be in place.
    this.control = await startControl(this, { transport, backend, logger: this.logger }, this.controlOptions);
    for (const queue of this.queues) {
      await this.app.producer.declareRoute(transport, { queue, exchange: queue, routingKey: queue });
      await this.consumer.consume(queue);
    }
    this.status = 'running';
    this.dispatch();
    this.keepAlive = setInterval(() => undefined, 1 << 30);
    this.logger.info('%s ready: consuming %s', this.hostname, this.queues.join(', '));
    this.emit('ready');
  }

  private onMessage(delivery: Delivery): void {
    // Messages arrive from the first consume() on, while start() still declares the other queues.
    if (this.status !== 'running' && this.status !== 'starting') {
      void delivery.reject({ requeue: true }).catch((e: unknown) => this.logError('hand back', e));
      return;
    }
    let task;
    try {
      task = parseTaskMessage(delivery.message, this.app.codecs, this.app.conf.maxMessageSize);
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
    if (this.revokedNow(request) || this.expired(request)) return;
    if (this.eventer.task) this.eventer.received(request);
    const due = task.eta ? task.eta.getTime() : 0;
    if (due > Date.now()) {
      this.eta.push(task.id, due, request);
      this.widen();
    } else this.reserve(request);
  }

  /** The prefetch window: slots x multiplier, plus the ETA tasks held (0 = unlimited). */
  protected widen(): void {
    if (this.multiplier > 0) this.consumer?.setPrefetch(this.prefetchWindow());
  }

  protected due(request: Request): void {
    this.widen();
    if (!this.revokedNow(request) && !this.expired(request)) this.reserve(request);
  }

  /** Stores REVOKED and acks when the task's id is revoked. */
  private revokedNow(request: Request): boolean {
    if (!this.revoked.has(request.task.id)) return false;
    this.discard(request, 'revoked');
    return true;
  }

  protected discard(request: Request, reason: 'revoked' | 'expired'): void {
    void (async () => {
      if (this.outcomes) await recordDiscard(this.outcomes, request, reason);
      await this.settle(request);
    })().catch((e: unknown) => this.logError(`${reason} task`, e));
  }

  private async rejectUnknown(request: Request): Promise<void> {
    try {
      if (this.outcomes) await recordUnregistered(this.outcomes, request);
      await request.delivery.reject({ requeue: false, reason: `unregistered task '${request.task.name}'` });
    } catch (err) {
      this.logError('unregistered task', err);
    }
  }

  /** Stores REVOKED (expired) and acks when the task's `expires` has passed. */
  private expired(request: Request): boolean {
    const { task } = request;
    if (!task.expires || task.expires.getTime() > Date.now()) return false;
    this.logger.warn('Task %s[%s] expired at %s: not run (REVOKED)', task.name, task.id, task.expires.toISOString());
    this.discard(request, 'expired');
    return true;
  }

  /**
   * A reserved message the broker took back (its channel died with the connection): RabbitMQ delivers it
   * again, so it is dropped here rather than run twice (Celery clears its reserved requests on a connection loss).
   */
  private gone(request: Request): boolean {
    if (!request.delivery.gone?.()) return false;
    this.logger.debug('Task %s[%s]: its delivery died with the broker connection; not run here (the broker delivers it again)', request.task.name, request.task.id);
    return true;
  }

  /** Through the task's rate limit (if any) to the reserved line. */
  private reserve(request: Request): void {
    this.rates.admit(request.task.name, request);
  }

  protected reserveNow(request: Request): void {
    if (this.status !== 'running' && this.status !== 'starting') {
      void request.delivery.reject({ requeue: true }).catch((e: unknown) => this.logError('hand back', e));
      return;
    }
    this.state.reserved.push(request);
    this.dispatch();
  }

  protected dispatch(): void {
    // Slots are counted on the worker's side: a request is active from its first step (the early ack), before the pool sees it.
    const slots = this.pool.concurrency;
    // Finishing requests (result and ack being written) are bounded too: by the prefetch window, at least the pool's size.
    const most = slots + Math.max(slots, this.prefetchWindow());
    while (this.status === 'running' && this.inPool < slots && this.state.active.size < most && this.state.reserved.length > 0) {
      const request = this.state.reserved.shift() as Request;
      void this.execute(request);
    }
  }

  private async execute(request: Request): Promise<void> {
    const { task } = request;
    const registered = this.app.tasks.get(task.name);
    if (!registered) return this.rejectUnknown(request);
    if (this.revokedNow(request) || this.expired(request) || this.gone(request)) return this.dispatch();
    const opts = registered.options;
    const acksLate = opts.acksLate ?? this.acksLate;
    const ignoreResult = task.ignoreResult || (opts.ignoreResult ?? this.app.conf.taskIgnoreResult);
    const results = this.results as ResultWriter;
    this.state.active.set(task.id, request);
    this.inPool++;
    let inPool = true;
    request.startedAt = Date.now();
    if (this.eventer.task) this.eventer.started(request);
    try {
      // Early ack, as Celery's: the task runs while the ack is written (a failed ack is logged, not fatal).
      if (!acksLate) this.ackEarly(request);
      if (!ignoreResult && (opts.trackStarted ?? this.app.conf.taskTrackStarted)) await results.started(request);
      const outcome = await this.run(request, registered.params, opts);
      inPool = false;
      this.inPool--;
      if (this.cold) return;
      // The slot is free: the next task starts now, its run overlapping this one's result write.
      this.dispatch();
      const settlement = await recordOutcome(this.outcomes as OutcomeContext, request, opts, outcome, !ignoreResult, acksLate);
      if (settlement === 'requeue' && !request.acked) {
        request.acked = true;
        await request.delivery.reject({ requeue: true });
      } else if (acksLate) await this.settle(request);
      this.state.count(task.name);
    } catch (err) {
      this.logError(`task ${task.name}[${task.id}]`, err);
      if (!request.acked && !this.cold) await request.delivery.reject({ requeue: true }).catch(() => undefined);
    } finally {
      if (inPool) this.inPool--;
      this.state.active.delete(task.id);
      if (this.state.active.size === 0) this.emit('idle');
      this.dispatch();
    }
  }

  /** Binds the message's args and kwargs to the function's parameters and runs it in the pool (not async: the pool's promise as it is). */
  private run(request: Request, params: string[] | undefined, opts: TaskOptions): Promise<TaskOutcome> {
    const { task } = request;
    let args: unknown[];
    try {
      args = placeKwargs(task.args, task.kwargs, params);
    } catch (err) {
      // A call Python would refuse (a kwarg repeating a positional argument) fails like the task would.
      return Promise.resolve({ ok: false, error: toPoolError(err), runtime: 0 });
    }
    // Terminated before it reached the pool (revoke with terminate right after it started): never run.
    if (request.terminated !== undefined) return Promise.resolve({ ok: false, error: { name: 'TaskRevokedError', message: 'terminated', stack: null, kind: 'terminated' }, runtime: 0 });
    // Time limits: the message's [hard, soft] header, else setTimeLimit, else the task's options, else the worker's.
    const set = this.limits.get(task.name);
    const hard = task.timeLimit[0] ?? set?.hard ?? opts.timeLimit ?? this.timeLimit;
    const soft = task.timeLimit[1] ?? set?.soft ?? opts.softTimeLimit ?? this.softTimeLimit;
    // The request info and the AbortController are made on first use: the async pool rarely reads them.
    const call = new LazyTaskCall(request, this.hostname, args);
    if (hard || soft) {
      call.timeLimit = hard;
      call.softTimeLimit = soft;
    }
    return this.pool.apply(call);
  }

  protected activeConsumer(): { transport: Transport; consumer: Consumer } | undefined {
    return this.transport && this.consumer && this.status === 'running' ? { transport: this.transport, consumer: this.consumer } : undefined;
  }

  protected prefetchWindow(): number {
    return this.multiplier > 0 ? this.pool.concurrency * this.multiplier + this.eta.size : 0;
  }

  protected defaultLimit(which: 'soft' | 'hard'): number | undefined {
    return which === 'soft' ? this.softTimeLimit : this.timeLimit;
  }

  protected poolLimit(which: 'maxTasksPerChild' | 'maxMemoryPerChild'): number | 'N/A' {
    return this.childLimits[which] ?? 'N/A';
  }

  /** A running task's updateState: stored now; the final result waits for it. */
  private recordState(taskId: string, state: string, meta: unknown): Promise<void> {
    const request = this.state.active.get(taskId);
    if (!request || !this.results) return Promise.reject(new Error(`updateState: task ${taskId} is not running on ${this.hostname}`));
    const write = this.results.custom(request, state, meta);
    request.stateWrite = write.catch(() => undefined);
    return write;
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
    this.stopping ??= this.halt();
    return this.stopping;
  }

  private async halt(): Promise<void> {
    if (this.status === 'new') {
      this.status = 'stopped';
      this.emit('stopped');
      return;
    }
    // Stopped while starting (a signal during start-up): let the start finish, then stop what it started.
    if (this.status === 'starting') await this.booting;
    this.status = 'stopping';
    const consumer = this.consumer;
    for (const q of [...(consumer?.queues ?? [])]) await consumer?.cancel(q);
    this.autoscaler?.stop();
    this.memory.stop();
    const handBack: Request[] = [...this.state.reserved.splice(0), ...this.rates.drain(), ...this.eta.drain()];
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
    await this.eventer.stop().catch((e: unknown) => this.logError('stop events', e));
    await this.control?.stop().catch((e: unknown) => this.logError('stop remote control', e));
    clearInterval(this.keepAlive);
    this.status = 'stopped';
    this.logger.info('%s stopped', this.hostname);
    this.emit('stopped');
  }
}
