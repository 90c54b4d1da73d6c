/**
 * Prometheus metrics of the dashboard (GET /metrics), through prom-client on a registry of its own: task
 * events and runtimes as they arrive, and at each scrape the tasks by state and name, the workers online
 * with their active and prefetched tasks, and every task queue's depth and consumers.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterState, QueueInfo } from '../index.js';
import { internalQueue } from './queues.js';

/** Runtime buckets in seconds: 5 ms to an hour. */
export const RUNTIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export interface MetricsSource {
  state: ClusterState;
  /** The queues' latest counts (sampled again when stale). */
  queues(): Promise<QueueInfo[]>;
}

export class DashboardMetrics {
  readonly registry = new Registry();
  private readonly events: Counter<'type' | 'task' | 'worker'>;
  private readonly runtime: Histogram<'task' | 'worker'>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    this.events = new Counter({ name: 'celeriac_events_total', help: 'Task events received, by event type, task name and worker', labelNames: ['type', 'task', 'worker'], registers });
    this.runtime = new Histogram({ name: 'celeriac_task_runtime_seconds', help: 'Runtime of succeeded tasks (task-succeeded runtime), by task name and worker', labelNames: ['task', 'worker'], buckets: RUNTIME_BUCKETS, registers });
    const { state } = source;
    new Gauge({
      name: 'celeriac_tasks', help: 'Tasks the dashboard holds, by state and task name', labelNames: ['state', 'task'], registers,
      collect() {
        this.reset();
        const counts = new Map<string, [string, string, number]>();
        for (const t of state.tasks()) {
          const key = `${t.state}\0${t.name ?? ''}`;
          const c = counts.get(key);
          if (c) c[2]++;
          else counts.set(key, [t.state, t.name ?? 'unknown', 1]);
        }
        for (const [s, task, n] of counts.values()) this.set({ state: s, task }, n);
      },
    });
    new Gauge({
      name: 'celeriac_workers_online', help: 'Workers whose heartbeats arrive', registers,
      collect() {
        this.set(state.aliveWorkers().length);
      },
    });
    new Gauge({
      name: 'celeriac_worker_online', help: '1 while a worker sends heartbeats, 0 after', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of state.workers()) this.set({ worker: w.hostname }, w.alive ? 1 : 0);
      },
    });
    new Gauge({
      name: 'celeriac_worker_active_tasks', help: 'Tasks a worker is running, from its last heartbeat', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of state.workers()) if (w.alive && typeof w.active === 'number') this.set({ worker: w.hostname }, w.active);
      },
    });
    new Gauge({
      name: 'celeriac_worker_processed_tasks', help: 'Tasks a worker has finished since it started, from its last heartbeat', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of state.workers()) if (w.alive && typeof w.processed === 'number') this.set({ worker: w.hostname }, w.processed);
      },
    });
    new Gauge({
      name: 'celeriac_worker_prefetched_tasks', help: 'Tasks a worker received and has not started (prefetched, waiting for a slot or an ETA)', labelNames: ['worker', 'task'], registers,
      collect() {
        this.reset();
        for (const t of state.tasks({ state: 'RECEIVED' })) if (t.worker) this.inc({ worker: t.worker, task: t.name ?? 'unknown' });
      },
    });
    const depth = (name: string, help: string, field: 'messages' | 'unacked' | 'consumers'): Gauge<'queue'> =>
      new Gauge({
        name, help, labelNames: ['queue'], registers,
        async collect() {
          this.reset();
          for (const q of await source.queues()) {
            const value = q[field];
            if (!internalQueue(q.name) && value !== undefined) this.set({ queue: q.name }, value);
          }
        },
      });
    depth('celeriac_queue_messages', 'Messages ready in a queue', 'messages');
    depth('celeriac_queue_unacked', 'Messages delivered to a consumer and not yet acked', 'unacked');
    depth('celeriac_queue_consumers', 'Consumers reading a queue (on brokers that know them)', 'consumers');
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one task event (`type`: 'task-succeeded'...), and observes the runtime of a succeeded task. */
  taskEvent(type: string, task: string | undefined, worker: string | null | undefined, runtime?: unknown): void {
    const labels = { type, task: task ?? 'unknown', worker: worker ?? '' };
    this.events.inc(labels);
    if (type === 'task-succeeded' && typeof runtime === 'number' && Number.isFinite(runtime) && runtime >= 0) {
      this.runtime.observe({ task: labels.task, worker: labels.worker }, runtime);
    }
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
