/**
 * What the dashboard knows, fed one event at a time: the cluster state, each task's event timeline, the
 * throughput series of the charts, the queues' counts and rates, the Prometheus metrics and, when given a
 * path, the SQLite task history (written in batches, read back at start). All of it bounded in memory.
 */
import type { Celeriac, ClusterState, QueueInfo, Received, TaskInfo } from '../index.js';
import { TaskHistory, type HistoryOptions, type StoredTask, type TimelineEntry } from './history.js';
import { DashboardMetrics } from './metrics.js';
import { QueueMonitor } from './queues.js';
import { TaskSeries } from './series.js';

/** Events kept per task's timeline (a task retried many times keeps its latest). */
const TIMELINE_KEPT = 64;
/** How often dirty tasks are written to the history (ms), and how often it is pruned. */
const FLUSH_EVERY = 500;
/** Tasks waiting to be written at most: a burst faster than the flush timer is written at once. */
const DIRTY_MAX = 5000;
const PRUNE_EVERY = 60_000;

export interface MonitorOptions {
  maxTasks: number;
  /** SQLite file of the task history; none: tasks live in memory only. */
  history?: string;
  historyOptions?: HistoryOptions;
  /** ms between queue samples (0: only when asked). */
  queueInterval: number;
  /** The queues a worker consumes (its active_queues), for attributing its events to a queue. */
  queuesOf: (worker: string) => string[];
  now?: () => number;
}

export class Monitor {
  readonly state: ClusterState;
  readonly series: TaskSeries;
  readonly queues: QueueMonitor;
  readonly metrics: DashboardMetrics;
  readonly history: TaskHistory | undefined;
  private readonly timelines = new Map<string, TimelineEntry[]>();
  private readonly dirty = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly maxTasks: number;

  constructor(
    app: Celeriac,
    private readonly options: MonitorOptions,
  ) {
    const now = options.now ?? Date.now;
    this.maxTasks = options.maxTasks;
    this.state = app.events.state({ maxTasks: options.maxTasks, now });
    this.series = new TaskSeries(now);
    this.queues = new QueueMonitor(async () => (await app.connection()).listQueues(), now);
    this.metrics = new DashboardMetrics({ state: this.state, queues: () => this.freshQueues() });
    if (options.history) {
      this.history = new TaskHistory(options.history, { maxTasks: Math.max(options.maxTasks, 100_000), ...options.historyOptions });
      this.history.prune();
      for (const stored of this.history.recent(options.maxTasks)) this.replay(stored);
      this.timers.push(setInterval(() => this.flush(), FLUSH_EVERY), setInterval(() => this.history?.prune(), PRUNE_EVERY));
    }
    if (options.queueInterval > 0) this.timers.push(setInterval(() => void this.queues.sample(), options.queueInterval));
    for (const t of this.timers) t.unref();
  }

  /** The queues as they are now: a scrape samples them (concurrent scrapes share one sample). */
  private async freshQueues(): Promise<QueueInfo[]> {
    await this.queues.fresh(0);
    return this.queues.latest();
  }

  /** Applies one event from the receiver. */
  ingest(e: Received): void {
    this.state.event(e);
    if (!e.type.startsWith('task-') || typeof e['uuid'] !== 'string') return;
    const uuid = e['uuid'];
    const kind = e.type.slice(5);
    const task = this.state.task(uuid);
    const worker = kind === 'sent' ? null : e.hostname ?? null;
    const ts = typeof e.timestamp === 'number' ? e.timestamp : e.local_received;
    this.note(uuid, [kind, ts, worker]);
    this.series.add(kind, e.local_received, kind === 'succeeded' && typeof e['runtime'] === 'number' ? e['runtime'] : undefined);
    this.metrics.taskEvent(e.type, task?.name, worker ?? e.hostname, e['runtime']);
    if (kind === 'sent') {
      const queue = typeof e['queue'] === 'string' && e['queue'] ? e['queue'] : e['routing_key'];
      if (typeof queue === 'string' && queue) this.queues.note(queue, 'sent');
    } else if (kind === 'received') {
      const queue = this.queueOf(task, e.hostname);
      if (queue) this.queues.note(queue, 'received');
    }
    if (this.history) {
      this.dirty.add(uuid);
      if (this.dirty.size >= DIRTY_MAX) this.flush();
    }
  }

  /** The queue a received task came from: its task-sent event's, else its worker's only queue. */
  private queueOf(task: TaskInfo | undefined, worker: string): string | undefined {
    const sent = task?.['queue'] ?? task?.['routing_key'];
    if (typeof sent === 'string' && sent) return sent;
    const queues = this.options.queuesOf(worker);
    return queues.length === 1 ? queues[0] : undefined;
  }

  private note(uuid: string, entry: TimelineEntry): void {
    let events = this.timelines.get(uuid);
    if (events) this.timelines.delete(uuid);
    else events = [];
    events.push(entry);
    if (events.length > TIMELINE_KEPT) events.splice(0, events.length - TIMELINE_KEPT);
    this.timelines.set(uuid, events);
    if (this.timelines.size > this.maxTasks) this.timelines.delete(this.timelines.keys().next().value as string);
  }

  /** A task's events in the order they arrived, from memory or the history. */
  timeline(uuid: string): TimelineEntry[] {
    return this.timelines.get(uuid) ?? this.history?.get(uuid)?.events ?? [];
  }

  /** A task from memory, else from the history (then as it was last written). */
  task(uuid: string): TaskInfo | undefined {
    return this.state.task(uuid) ?? (this.history?.get(uuid)?.task as TaskInfo | undefined);
  }

  /** The tasks sent by `uuid` (parent_id), from memory and the history. */
  children(uuid: string): TaskInfo[] {
    const found = new Map<string, TaskInfo>();
    for (const t of this.history?.children(uuid) ?? []) found.set(t.uuid, t.task as TaskInfo);
    for (const t of this.state.tasks()) if (t.parent_id === uuid) found.set(t.uuid, t);
    return [...found.values()];
  }

  /** Writes the tasks changed since the last flush to the history, in one transaction. */
  flush(): void {
    if (!this.history || this.dirty.size === 0) return;
    const out: StoredTask[] = [];
    for (const uuid of this.dirty) {
      const task = this.state.task(uuid);
      if (task) out.push({ uuid, task: { ...task }, events: this.timelines.get(uuid) ?? [] });
    }
    this.dirty.clear();
    this.history.write(out);
  }

  /** Puts a stored task back into the state and timelines as it was (no metrics, no series, no worker records). */
  private replay(stored: StoredTask): void {
    const task = stored.task as TaskInfo;
    const at = Object.keys(task.at ?? {}).length ? task.at : Object.fromEntries(stored.events.map(([kind, ts]) => [kind, ts]));
    this.state.restore({ ...task, uuid: stored.uuid, at });
    this.timelines.set(stored.uuid, stored.events);
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.flush();
    this.history?.close();
  }
}
