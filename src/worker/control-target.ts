/**
 * The worker as remote-control commands see it (`ControlTarget`): the engine's own methods where the
 * worker has them, and read-only answers built from its state otherwise (snapshots, stats, queues, conf).
 */
import { arch, cpus, hostname as osHostname, platform, release } from 'node:os';
import type { Celeriac } from '../app/celeriac.js';
import type { ControlTarget, QueueSnapshot, RegisteredTaskInfo, RevokedSet, ScheduledSnapshot, TaskRequestSnapshot } from '../control/types.js';
import { maskConfig } from '../util/mask.js';
import { snapshot } from './snapshot.js';
import type { WorkerState } from './state.js';

/** What the adapter needs of a worker (kept narrow so this file does not import worker.ts). */
export interface ControlledWorker {
  readonly hostname: string;
  readonly app: Celeriac;
  readonly queues: readonly string[];
  readonly state: WorkerState;
  readonly prefetch: number;
  readonly pool: { readonly name: string; readonly concurrency: number };
  stop(options?: { cold?: boolean }): Promise<void>;
}

type EngineMethods = Pick<
  ControlTarget,
  'activeRequests' | 'reservedRequests' | 'scheduledRequests' | 'setRateLimit' | 'setTimeLimit' | 'poolGrow' | 'poolShrink' | 'autoscale' | 'terminateTask' | 'revoke' | 'addConsumer' | 'cancelConsumer' | 'stats' | 'setEvents' | 'sendHeartbeat' | 'election'
  | 'memSample' | 'memDump' | 'objectCounts' | 'poolRestart'
>;

/** Limits the control commands set at run time, where the worker keeps them (WorkerControls.taskOverrides). */
interface Overrides {
  taskOverrides?(taskName: string): Readonly<Record<string, string | number | null>> | undefined;
}

/** kombu's Queue.as_dict for a queue bound to the direct exchange of the same name (as the worker declares it). */
export function queueSnapshot(name: string): QueueSnapshot {
  return {
    name,
    exchange: { name, type: 'direct', arguments: null, durable: true, passive: false, auto_delete: false, delivery_mode: null, no_declare: false },
    routing_key: name,
    queue_arguments: null, binding_arguments: null, consumer_arguments: null,
    durable: true, exclusive: false, auto_delete: false, no_ack: false, alias: null, bindings: [],
    no_declare: null, expires: null, message_ttl: null, max_length: null, max_length_bytes: null, max_priority: null,
  };
}

/** The engine's methods passed through as they are (bound to the worker when it has them). */
const BOUND = ['setRateLimit', 'setTimeLimit', 'poolGrow', 'poolShrink', 'autoscale', 'terminateTask', 'revoke', 'addConsumer', 'cancelConsumer', 'setEvents', 'sendHeartbeat', 'election', 'memSample', 'memDump', 'objectCounts', 'poolRestart'] as const;

// Declaration merging: the class has each of BOUND as an optional method (set in the constructor).
export interface WorkerControlTarget extends Partial<Pick<ControlTarget, (typeof BOUND)[number]>> {}

export class WorkerControlTarget implements ControlTarget {
  readonly hostname: string;
  private readonly engine: Partial<EngineMethods>;

  constructor(
    private readonly worker: ControlledWorker,
    readonly revokedIds: RevokedSet,
    private readonly clock: () => number,
  ) {
    this.hostname = worker.hostname;
    // The engine's methods, where this worker has them (structural: they are looked up, not imported).
    this.engine = worker as unknown as Partial<EngineMethods>;
    const e = this.engine;
    const bind = <K extends keyof EngineMethods>(k: K): void => {
      const fn = e[k];
      if (typeof fn === 'function') Object.defineProperty(this, k, { value: (fn as (...a: unknown[]) => unknown).bind(worker), enumerable: false });
    };
    for (const k of BOUND) bind(k);
  }

  activeRequests(): TaskRequestSnapshot[] {
    if (this.engine.activeRequests) return this.engine.activeRequests.call(this.worker);
    return [...this.worker.state.active.values()].map((r) => snapshot(r, this.hostname, r.startedAt === undefined ? null : process.pid));
  }

  reservedRequests(): TaskRequestSnapshot[] {
    if (this.engine.reservedRequests) return this.engine.reservedRequests.call(this.worker);
    return this.worker.state.reserved.map((r) => snapshot(r, this.hostname, r.startedAt === undefined ? null : process.pid));
  }

  scheduledRequests(): ScheduledSnapshot[] {
    // A worker without an ETA heap of its own has nothing scheduled to show.
    return this.engine.scheduledRequests ? this.engine.scheduledRequests.call(this.worker) : [];
  }

  /** Warm shutdown through the public `stop()` (the seam's `worker.shutdown()` is the same warm stop). */
  shutdown(): void {
    void this.worker.stop();
  }

  registeredTasks(): RegisteredTaskInfo[] {
    const overrides = (this.worker as Overrides).taskOverrides?.bind(this.worker);
    return [...this.worker.app.tasks.values()].map((t) => ({
      name: t.name,
      attributes: {
        rate_limit: (t.options as { rateLimit?: string }).rateLimit ?? null,
        time_limit: t.options.timeLimit ?? null,
        soft_time_limit: t.options.softTimeLimit ?? null,
        acks_late: t.options.acksLate ?? this.worker.app.conf.acksLate,
        ignore_result: t.options.ignoreResult ?? this.worker.app.conf.taskIgnoreResult,
        max_retries: t.options.maxRetries === undefined ? 3 : t.options.maxRetries,
        priority: t.options.priority ?? null,
        // As Celery, where rate_limit / time_limit set them on the task: what was set at run time wins.
        ...overrides?.(t.name),
      },
    }));
  }

  activeQueues(): QueueSnapshot[] {
    return this.worker.queues.map(queueSnapshot);
  }

  configuration(withDefaults: boolean): Record<string, unknown> {
    void withDefaults; // celeriac's loaded config always holds every option with its value
    return maskConfig({ ...this.worker.app.conf }) as Record<string, unknown>;
  }

  report(): string {
    const { broker, backend } = this.worker.app.describe();
    return [
      `software -> celeriac (Node ${process.version})`,
      `platform -> system:${platform()} arch:${arch()} kernel:${release()} cpus:${cpus().length}`,
      `loader -> app ${this.worker.app.main}`,
      `settings -> transport:${broker} results:${backend}`,
      '',
      ...Object.entries(maskConfig({ ...this.worker.app.conf }) as Record<string, unknown>).map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
    ].join('\n');
  }

  stats(): Record<string, unknown> {
    if (this.engine.stats) return this.engine.stats.call(this.worker);
    const w = this.worker;
    const usage = process.resourceUsage();
    return {
      total: Object.fromEntries(w.state.totals),
      pid: process.pid,
      clock: String(this.clock()),
      uptime: Math.round((Date.now() - w.state.startedAt) / 1000),
      pool: { implementation: w.pool.name, 'max-concurrency': w.pool.concurrency, processes: [process.pid], 'max-tasks-per-child': 'N/A', 'put-guarded-by-semaphore': false, timeouts: [0, 0] },
      broker: { transport: w.app.conf.broker.split(':')[0], hostname: osHostname(), uri: w.app.describe().broker },
      prefetch_count: w.prefetch,
      rusage: { utime: usage.userCPUTime / 1e6, stime: usage.systemCPUTime / 1e6, maxrss: usage.maxRSS, minflt: usage.minorPageFault, majflt: usage.majorPageFault, nvcsw: usage.voluntaryContextSwitches, nivcsw: usage.involuntaryContextSwitches },
    };
  }
}
