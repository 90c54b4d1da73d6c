/**
 * The worker's control surface (what remote control calls through its ControlTarget): inspect snapshots,
 * rate and time limits, pool size and autoscale, revoke and terminate, consumers, stats. The Worker extends
 * this; the message lifecycle stays in worker.ts.
 */
import { constants as osConstants } from 'node:os';
import type { Celeriac } from '../app/celeriac.js';
import { ConfigError, TaskError } from '../errors.js';
import { isoTime } from '../protocol/task-message.js';
import type { Consumer, Transport } from '../transport/types.js';
import { TypedEmitter, type EventMap } from '../util/emitter.js';
import { Autoscaler } from './autoscale.js';
import { EtaHeap } from './eta.js';
import type { Logger } from './logger.js';
import type { Pool } from './pools/types.js';
import { RateLimiter } from './rate-limiter.js';
import { LimitedRevokedSet } from '../control/revoked.js';
import { snapshot, type TaskRequestSnapshot } from './snapshot.js';
import type { Request, WorkerState } from './state.js';
import type { Gossip } from './gossip.js';
import type { WorkerEventer } from './events.js';
import { objectCounts, type ObjectCounts, type ObjectCountsOptions } from './heap.js';
import { humanBytes, MemorySampler } from './memory.js';

export interface ScheduledSnapshot {
  eta: string;
  priority: number;
  request: TaskRequestSnapshot;
}

export abstract class WorkerControls<E extends EventMap> extends TypedEmitter<E> {
  abstract readonly app: Celeriac;
  abstract readonly hostname: string;
  abstract readonly queues: string[];
  abstract readonly state: WorkerState;
  abstract readonly pool: Pool;
  abstract readonly logger: Logger;
  abstract readonly eventer: WorkerEventer;
  /** ETA/countdown tasks until they are due (outside the prefetch window). */
  protected readonly eta = new EtaHeap<Request>((r) => this.due(r));
  /** Tasks over their rate limit, waiting for a token. */
  protected readonly rates = new RateLimiter<Request>((r) => this.reserveNow(r));
  /** Revoked task ids: such a task never runs (REVOKED). */
  readonly revoked = new LimitedRevokedSet();
  /** rate_limit, time_limit and soft_time_limit as the control commands set them, by task name (what `registered` shows). */
  protected readonly overrides = new Map<string, Record<string, string | number | null>>();
  /** Time limits set at run time (setTimeLimit), by task name; they win over the task's options. */
  protected readonly limits = new Map<string, { soft: number | undefined; hard: number | undefined }>();
  protected autoscaler: Autoscaler | undefined;
  /** RSS and heap samples (`inspect memsample`, `memdump`). */
  readonly memory = new MemorySampler();
  /** Whether remote control may restart the pool (Celery's worker_pool_restarts). */
  protected poolRestarts = false;
  /** Default keepalive (ms) before autoscale shrinks. */
  protected autoscaleKeepalive: number | undefined;

  protected abstract due(request: Request): void;
  protected abstract reserveNow(request: Request): void;
  protected abstract discard(request: Request, reason: 'revoked' | 'expired'): void;
  /** Re-applies the prefetch window after the pool size or the ETA heap changed. */
  protected abstract widen(): void;
  protected abstract dispatch(): void;
  protected abstract activeConsumer(): { transport: Transport; consumer: Consumer } | undefined;
  protected abstract prefetchWindow(): number;
  abstract stop(options?: { cold?: boolean }): Promise<void>;

  /** The limits the control commands set on a task type at run time (Celery sets them on the task, so `registered` shows them). */
  taskOverrides(taskName: string): Readonly<Record<string, string | number | null>> | undefined {
    return this.overrides.get(taskName);
  }

  /** Tasks running now. */
  activeRequests(): TaskRequestSnapshot[] {
    return [...this.state.active.values()].map((r) => snapshot(r, this.hostname, this.pool.pidOf(r.task.id)));
  }

  /** Tasks received and waiting for a pool slot (or for their rate limit). */
  reservedRequests(): TaskRequestSnapshot[] {
    return [...this.state.reserved, ...this.rates.waiting()].map((r) => snapshot(r, this.hostname, null));
  }

  /** ETA/countdown tasks held until due, earliest first. */
  scheduledRequests(): ScheduledSnapshot[] {
    return this.eta.entries().map((e) => ({ eta: isoTime(e.due), priority: e.item.delivery.message.properties.priority ?? 0, request: snapshot(e.item, this.hostname, null) }));
  }

  private known(taskName: string, what: string): void {
    if (!this.app.tasks.has(taskName)) throw new TaskError(`${what}: unknown task '${taskName}' (this worker knows: ${[...this.app.tasks.keys()].join(', ') || 'none'})`);
  }

  /** Sets a task type's rate limit on this worker ('10/s', '100/m', '5/h', a number; null or 0 removes it). */
  setRateLimit(taskName: string, rate: string | number | null): void {
    this.known(taskName, 'rate_limit');
    this.rates.set(taskName, rate);
    this.overrides.set(taskName, { ...this.overrides.get(taskName), rate_limit: rate });
    this.logger.info('rate limit of %s set to %s', taskName, rate ?? 'none');
  }

  /** Sets a task type's soft and hard time limits (seconds) on this worker; undefined leaves none. */
  setTimeLimit(taskName: string, soft?: number, hard?: number): void {
    this.known(taskName, 'time_limit');
    for (const [name, v] of [['soft', soft], ['hard', hard]] as const) {
      if (v !== undefined && v !== null && !(typeof v === 'number' && v >= 0)) throw new ConfigError(`time_limit: the ${name} limit must be seconds >= 0; got ${String(v)}`);
    }
    this.limits.set(taskName, { soft: soft || undefined, hard: hard || undefined });
    this.overrides.set(taskName, { ...this.overrides.get(taskName), time_limit: hard ?? null, soft_time_limit: soft ?? null });
    this.logger.info('time limits of %s set to soft %s, hard %s', taskName, soft ?? 'none', hard ?? 'none');
  }

  poolGrow(n = 1): void {
    this.pool.grow(count(n, 'pool_grow'));
    this.widen();
    this.dispatch();
  }

  poolShrink(n = 1): void {
    const slots = count(n, 'pool_shrink');
    // At least one slot stays: a pool of none would hold its messages and run nothing.
    if (this.pool.concurrency - slots < 1) throw new ConfigError(`pool_shrink: the pool has ${this.pool.concurrency} slot(s) and keeps at least one; shrink by at most ${this.pool.concurrency - 1}`);
    this.pool.shrink(slots);
    this.widen();
  }

  /** Grows and shrinks the pool with the backlog between `min` and `max` slots (Celery's --autoscale max,min). */
  autoscale(max: number, min: number, keepalive?: number): void {
    if (!Number.isInteger(max) || !Number.isInteger(min) || min < 0 || max < Math.max(1, min) || max > MAX_SLOTS) {
      throw new ConfigError(`autoscale: expects ${MAX_SLOTS} >= max >= min >= 0 and max >= 1 (whole numbers); got max ${max}, min ${min}`);
    }
    if (keepalive !== undefined) this.autoscaleKeepalive = keepalive;
    if (this.autoscaler) return this.autoscaler.bounds(max, min);
    const backlog = (): number => this.state.active.size + this.state.reserved.length;
    const resized = (): void => {
      this.widen();
      this.dispatch();
    };
    this.autoscaler = new Autoscaler(this.pool, backlog, resized, max, min, { keepalive: this.autoscaleKeepalive });
    this.autoscaler.tick();
  }

  /** Stops a running task: kills its thread or child (threads/processes); the async pool aborts its signal. */
  terminateTask(taskId: string, signal?: string): boolean {
    const sig = signalName(signal ?? 'SIGTERM');
    const request = this.state.active.get(taskId);
    if (!request) return false;
    request.terminated = sig;
    this.logger.warn('Terminating %s[%s] (%s)', request.task.name, taskId, request.terminated);
    return this.pool.terminate(taskId, sig);
  }

  /** Revokes tasks on this worker: waiting ones are stored REVOKED now, later arrivals never run; `terminate` stops running ones. */
  revoke(ids: string[], opts: { terminate?: boolean; signal?: string } = {}): void {
    const signal = opts.terminate ? signalName(opts.signal ?? 'SIGTERM') : undefined;
    for (const id of ids) {
      this.revoked.add([id]);
      const waiting = this.eta.remove(id) ?? this.rates.remove(id) ?? this.takeReserved(id);
      if (waiting) {
        this.logger.info('Discarding revoked task: %s[%s]', waiting.task.name, id);
        this.discard(waiting, 'revoked');
        this.widen();
      } else if (opts.terminate) this.terminateTask(id, signal);
    }
  }

  private takeReserved(id: string): Request | undefined {
    const i = this.state.reserved.findIndex((r) => r.task.id === id);
    return i >= 0 ? this.state.reserved.splice(i, 1)[0] : undefined;
  }

  /** Starts consuming one more queue. */
  async addConsumer(queue: string): Promise<void> {
    const live = this.activeConsumer();
    if (!live) throw new TaskError(`add_consumer: worker ${this.hostname} is not running`);
    if (live.consumer.queues.includes(queue)) return;
    await this.app.producer.declareRoute(live.transport, { queue, exchange: queue, routingKey: queue });
    await live.consumer.consume(queue);
    if (!this.queues.includes(queue)) this.queues.push(queue);
  }

  /** Stops consuming a queue (tasks already received still run). */
  async cancelConsumer(queue: string): Promise<void> {
    const live = this.activeConsumer();
    if (!live) return;
    await live.consumer.cancel(queue);
    const i = this.queues.indexOf(queue);
    if (i >= 0) this.queues.splice(i, 1);
  }

  /** Turns task events on or off (enable_events / disable_events); false when they already were. */
  setEvents(enabled: boolean): boolean {
    return this.eventer.setTaskEvents(enabled);
  }

  /** Sends a worker-heartbeat event now (the `heartbeat` command). */
  sendHeartbeat(): void {
    this.eventer.heartbeat();
  }

  /** Gossip with the other workers while running (`node-join`, `elected`..., `handle(topic, fn)`), unless off. */
  get gossip(): Gossip | undefined {
    return this.eventer.gossip;
  }

  /** Takes part in leader election `id` (the `election` command); false when gossip is off. */
  election(id: string, topic: string, action: unknown): boolean {
    const gossip = this.eventer.gossip;
    gossip?.election(id, topic, action);
    return gossip !== undefined;
  }

  /** `inspect memsample`: a sample now, as Celery's humanised RSS; `every` seconds > 0 also samples on a timer `samples` times, 0 stops it. */
  memSample(every?: number, samples = 60): string {
    if (every !== undefined) this.memory.every(every, samples);
    return humanBytes(this.memory.sample().rss);
  }

  /** `inspect memdump`: Celery's text of up to `samples` samples so far (then cleared) and the memory now. */
  memDump(samples = 10): string {
    return this.memory.dump(samples);
  }

  /** `inspect objgraph`: the heap's objects by constructor, from a heap snapshot (the worker pauses while it is taken). */
  objectCounts(options: ObjectCountsOptions = {}): Promise<ObjectCounts> {
    this.logger.warn('objgraph: taking a heap snapshot of %s MB; the worker pauses meanwhile', Math.round(process.memoryUsage().heapUsed / 2 ** 20));
    return objectCounts(options);
  }

  /**
   * Replaces the pool's threads or child processes with new ones that import the app module afresh (edits on
   * disk take effect); running tasks finish in the old ones. This process keeps the tasks it registered at start.
   * Resolves with the new pids; the async pool cannot re-import and refuses.
   */
  async restartPool(): Promise<number[]> {
    if (!this.pool.restart) throw new ConfigError(`pool_restart: the ${this.pool.name} pool runs tasks in the worker's own process and cannot re-import the app module; restart the worker, or run it with -P threads or -P processes`);
    const pids = await this.pool.restart();
    this.logger.info('pool restarted: new %s %s', this.pool.name, pids.join(', '));
    return pids;
  }

  /** `control pool_restart`, allowed by --pool-restarts as Celery's: starts the restart, replies at once. */
  poolRestart(): { ok: string } | { error: string } {
    if (!this.poolRestarts) return { error: `Pool restarts not enabled on ${this.hostname}: start the worker with --pool-restarts (or the poolRestarts option)` };
    if (!this.pool.restart) return { error: `the ${this.pool.name} pool cannot re-import the app module (tasks run in the worker's own process): restart the worker, or run it with -P threads or -P processes` };
    this.restartPool().catch((e: unknown) => this.logger.error('pool restart failed; the old %s keep working: %s', this.pool.name, e instanceof Error ? e.message : String(e)));
    return { ok: 'reload started' };
  }

  /** Warm shutdown (remote control's `shutdown`). */
  shutdown(): void {
    void this.stop();
  }

  /** Celery's `stats` reply: totals, pid, uptime, pool, broker, prefetch_count, rusage. */
  stats(): Record<string, unknown> {
    const usage = process.resourceUsage();
    const broker = this.app.describe().broker;
    const [soft, hard] = [this.defaultLimit('soft'), this.defaultLimit('hard')];
    return {
      total: Object.fromEntries(this.state.totals),
      pid: process.pid,
      clock: '0',
      uptime: Math.round((Date.now() - this.state.startedAt) / 1000),
      pool: {
        implementation: this.pool.name,
        'max-concurrency': this.pool.concurrency,
        processes: this.pool.pids(),
        'max-tasks-per-child': this.poolLimit('maxTasksPerChild'),
        'max-memory-per-child': this.poolLimit('maxMemoryPerChild'),
        'put-guarded-by-semaphore': false,
        timeouts: [soft ?? 0, hard ?? 0],
        ...(this.autoscaler ? { autoscaler: { max: this.autoscaler.max, min: this.autoscaler.min, qty: this.pool.concurrency } } : {}),
      },
      broker: { transport: broker.split(':')[0], url: broker },
      prefetch_count: this.prefetchWindow(),
      rusage: { utime: usage.userCPUTime / 1e6, stime: usage.systemCPUTime / 1e6, maxrss: usage.maxRSS, minflt: usage.minorPageFault, majflt: usage.majorPageFault, nvcsw: usage.voluntaryContextSwitches, nivcsw: usage.involuntaryContextSwitches },
    };
  }

  protected abstract defaultLimit(which: 'soft' | 'hard'): number | undefined;
  protected abstract poolLimit(which: 'maxTasksPerChild' | 'maxMemoryPerChild'): number | 'N/A';
}

/** Celery's signal names: 'SIGKILL', 'KILL', 'kill' or a number; anything else is refused before acting. */
export function signalName(signal: string | number): string {
  const names = osConstants.signals as Record<string, number>;
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const found = Object.keys(names).find((k) => names[k] === Number(signal));
    if (found) return found;
  } else {
    const name = signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`;
    if (name in names) return name;
  }
  throw new ConfigError(`unknown signal '${signal}': use a name like SIGTERM, SIGKILL, KILL or a signal number`);
}

/** Most slots one pool_grow or pool_shrink may change, and most an autoscaler may reach: a remote command cannot ask for millions of threads. */
const MAX_SLOTS = 1024;

function count(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_SLOTS) throw new ConfigError(`${what}: expects a whole number of slots from 1 to ${MAX_SLOTS}; got ${String(n)}`);
  return n;
}
