/**
 * Cluster state from events (Celery's events.state.State): the workers seen, alive while their heartbeats
 * keep coming (expiry = last heartbeat + freq x 2, as Celery's expire window of 200 %), and the tasks seen
 * with the state each event moves them to. Events may arrive out of order: a state that logically comes
 * before the current one (RECEIVED after SUCCESS) only fills in fields, as Celery's precedence rules say.
 * Memory is bounded: the least recently updated tasks and workers are dropped past `maxTasks`/`maxWorkers`.
 */
import type { AnyEvent } from '../protocol/events.js';
import type { Received } from './receiver.js';

/** Celery's HEARTBEAT_EXPIRE_WINDOW (percent of freq) and heartbeats kept per worker. */
const EXPIRE_WINDOW = 200;
const HEARTBEATS_KEPT = 4;

/** Celery's states.PRECEDENCE: lower index = later in a task's life (wins). */
const PRECEDENCE = ['SUCCESS', 'FAILURE', null, 'REVOKED', 'STARTED', 'RECEIVED', 'REJECTED', 'RETRY', 'PENDING'];
const precedence = (state: string | null): number => {
  const i = PRECEDENCE.indexOf(state);
  return i < 0 ? PRECEDENCE.indexOf(null) : i;
};

/** Celery's TASK_EVENT_TO_STATE. */
const TASK_STATES: Record<string, string> = {
  sent: 'PENDING', received: 'RECEIVED', started: 'STARTED', failed: 'FAILURE', retried: 'RETRY',
  succeeded: 'SUCCESS', revoked: 'REVOKED', rejected: 'REJECTED',
};

/** A late RECEIVED keeps only these fields (Celery's Task.merge_rules). */
const RECEIVED_FIELDS = new Set(['name', 'args', 'kwargs', 'parent_id', 'root_id', 'retries', 'eta', 'expires']);

export interface WorkerInfo {
  hostname: string;
  pid?: number;
  freq: number;
  active?: number;
  processed?: number;
  loadavg?: number[];
  sw_ident?: string;
  sw_ver?: string;
  sw_sys?: string;
  clock: number;
  /** local_received of the last heartbeats (UNIX seconds), oldest first; emptied by worker-offline. */
  heartbeats: number[];
  /** Whether a heartbeat came within its expiry (at the State's `now`). */
  alive: boolean;
  /** UNIX seconds after which the worker counts as offline, or null before its first heartbeat. */
  heartbeatExpires: number | null;
}

export interface TaskInfo {
  uuid: string;
  /** PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED, REJECTED, or a custom state. */
  state: string;
  /** Timestamp of the event that set the state. */
  timestamp: number | null;
  /** Node name of the worker that sent the last event. */
  worker: string | null;
  name?: string;
  args?: string;
  kwargs?: string;
  result?: string;
  exception?: string;
  traceback?: string;
  runtime?: number;
  retries?: number;
  eta?: string | null;
  expires?: string | null;
  root_id?: string | null;
  parent_id?: string | null;
  clock: number;
  /** The timestamp of each task event type seen: { received: 1795344174.86, started: ... }. */
  at: Record<string, number>;
  /** Any other field events carried. */
  [field: string]: unknown;
}

export interface StateOptions {
  maxTasks?: number;
  maxWorkers?: number;
  /** ms since the epoch (for `alive`). */
  now?: () => number;
}

interface WorkerRecord extends Omit<WorkerInfo, 'alive' | 'heartbeatExpires'> {
  [field: string]: unknown;
}

const STANDARD = new Set(['type', 'hostname', 'timestamp', 'local_received', 'utcoffset', 'clock', 'pid']);

/** Keys an event may not set on a record: its own bookkeeping, and the prototype (an own '__proto__' from JSON). */
const WORKER_OWN = new Set(['hostname', 'heartbeats', 'alive', 'heartbeatExpires', '__proto__']);
const TASK_OWN = new Set(['state', 'timestamp', 'worker', 'clock', 'at', '__proto__']);

/** Fields whose type the views rely on: a value of another type (a hostile or broken sender) is left out. */
const TYPES: Record<string, (v: unknown) => boolean> = {
  freq: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  active: (v) => typeof v === 'number',
  processed: (v) => typeof v === 'number',
  pid: (v) => typeof v === 'number',
  clock: (v) => typeof v === 'number',
  loadavg: (v) => Array.isArray(v) && v.every((x) => typeof x === 'number'),
  runtime: (v) => typeof v === 'number',
  retries: (v) => typeof v === 'number',
  ...Object.fromEntries(['sw_ident', 'sw_ver', 'sw_sys', 'name', 'args', 'kwargs', 'result', 'exception', 'traceback', 'root_id', 'parent_id', 'eta', 'expires'].map((k) => [k, (v: unknown) => typeof v === 'string' || v === null])),
};

/** Whether `value` may be stored as `key` (not a reserved key, and of the type the views expect). */
function acceptable(key: string, value: unknown, own: ReadonlySet<string>): boolean {
  return !own.has(key) && (TYPES[key]?.(value) ?? true);
}

export class State {
  private readonly workerMap = new Map<string, WorkerRecord>();
  private readonly taskMap = new Map<string, TaskInfo>();
  private readonly maxTasks: number;
  private readonly maxWorkers: number;
  private readonly now: () => number;
  /** Events applied so far. */
  eventCount = 0;

  constructor(options: StateOptions = {}) {
    this.maxTasks = options.maxTasks ?? 10_000;
    this.maxWorkers = options.maxWorkers ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Applies one event (as a receiver hands it: `receiver.on('event', (e) => state.event(e))`). */
  event(event: AnyEvent | Received): void {
    this.eventCount++;
    const [group, ...rest] = event.type.split('-');
    const kind = rest.join('-');
    if (group === 'worker') this.workerEvent(kind, event);
    else if (group === 'task' && typeof event['uuid'] === 'string') this.taskEvent(kind, event);
  }

  private touchWorker(hostname: string): WorkerRecord {
    let w = this.workerMap.get(hostname);
    if (w) this.workerMap.delete(hostname);
    else w = { hostname, freq: 60, clock: 0, heartbeats: [] };
    this.workerMap.set(hostname, w);
    if (this.workerMap.size > this.maxWorkers) this.workerMap.delete(this.workerMap.keys().next().value as string);
    return w;
  }

  private workerEvent(kind: string, event: AnyEvent): void {
    const w = this.touchWorker(event.hostname);
    for (const [k, v] of Object.entries(event)) if (k !== 'type' && k !== 'timestamp' && k !== 'local_received' && k !== 'utcoffset' && acceptable(k, v, WORKER_OWN)) w[k] = v;
    if (kind === 'offline') {
      w.heartbeats = [];
      return;
    }
    const at = typeof event['local_received'] === 'number' ? event['local_received'] : typeof event.timestamp === 'number' ? event.timestamp : undefined;
    if (at === undefined) return;
    w.heartbeats.push(at);
    w.heartbeats.sort((a, b) => a - b);
    if (w.heartbeats.length > HEARTBEATS_KEPT) w.heartbeats.splice(0, w.heartbeats.length - HEARTBEATS_KEPT);
  }

  private taskEvent(kind: string, event: AnyEvent): void {
    const id = event['uuid'] as string;
    let task = this.taskMap.get(id);
    if (task) this.taskMap.delete(id);
    else task = { uuid: id, state: 'PENDING', timestamp: null, worker: null, clock: 0, at: {} };
    this.taskMap.set(id, task);
    if (this.taskMap.size > this.maxTasks) this.taskMap.delete(this.taskMap.keys().next().value as string);
    if (event.hostname && kind !== 'sent') {
      task.worker = event.hostname;
      // A task event is a sign of life of its worker too (Celery creates the worker from it).
      this.touchWorker(event.hostname);
    }
    const state = TASK_STATES[kind] ?? kind.toUpperCase();
    if (typeof event.timestamp === 'number' && kind !== '__proto__') task.at[kind] = event.timestamp;
    const earlier = state !== 'RETRY' && task.state !== 'RETRY' && precedence(state) > precedence(task.state);
    // Every field but the standard ones (a plain loop: this runs for every event a monitor sees).
    const fields = event as Record<string, unknown>;
    for (const k in fields) {
      if (STANDARD.has(k) || k === 'uuid') continue;
      // An event that happened before the current state merges its fields only (a late RECEIVED, some of them).
      if (earlier && state === 'RECEIVED' && !RECEIVED_FIELDS.has(k)) continue;
      const v = fields[k];
      // Reserved names (__proto__, the task's own bookkeeping) and wrongly typed fields stay out.
      if (!acceptable(k, v, TASK_OWN)) continue;
      task[k] = v;
    }
    if (earlier) return;
    task.state = state;
    task.timestamp = typeof event.timestamp === 'number' ? event.timestamp : null;
    if (typeof event.clock === 'number') task.clock = event.clock;
  }

  /** A worker as last seen, with `alive` computed now. */
  worker(hostname: string): WorkerInfo | undefined {
    const w = this.workerMap.get(hostname);
    if (!w) return undefined;
    const last = w.heartbeats.at(-1);
    const expires = last === undefined ? null : last + w.freq * (EXPIRE_WINDOW / 100);
    return { ...w, heartbeats: [...w.heartbeats], heartbeatExpires: expires, alive: expires !== null && this.now() / 1000 < expires } as WorkerInfo;
  }

  workers(): WorkerInfo[] {
    return [...this.workerMap.keys()].map((h) => this.worker(h) as WorkerInfo);
  }

  /** The workers alive now. */
  aliveWorkers(): WorkerInfo[] {
    return this.workers().filter((w) => w.alive);
  }

  /** Forgets a worker (a monitor dropping one that went offline long ago); returns whether it was known. */
  removeWorker(hostname: string): boolean {
    return this.workerMap.delete(hostname);
  }

  task(uuid: string): TaskInfo | undefined {
    return this.taskMap.get(uuid);
  }

  /**
   * Puts a task back as a monitor saved it (a dashboard's history after a restart): as the most recent, its
   * worker kept as a field only (no worker record comes back with it), bounded like every task.
   */
  restore(task: TaskInfo): void {
    if (typeof task.uuid !== 'string') return;
    const record: TaskInfo = { ...task, at: { ...task.at } };
    this.taskMap.delete(task.uuid);
    this.taskMap.set(task.uuid, record);
    if (this.taskMap.size > this.maxTasks) this.taskMap.delete(this.taskMap.keys().next().value as string);
  }

  /** Tasks, most recently updated last; optionally only those of one type or state. */
  tasks(filter: { name?: string; state?: string } = {}): TaskInfo[] {
    return [...this.taskMap.values()].filter((t) => (filter.name === undefined || t.name === filter.name) && (filter.state === undefined || t.state === filter.state));
  }

  get taskCount(): number {
    return this.taskMap.size;
  }

  get workerCount(): number {
    return this.workerMap.size;
  }

  clear(): void {
    this.workerMap.clear();
    this.taskMap.clear();
    this.eventCount = 0;
  }
}
