/**
 * Tasks as Flower's API shows them: the cluster State's task with one timestamp field per event seen
 * (received, started, succeeded...) and `worker` as the node name; filtered and paged as Flower's
 * GET /api/tasks (limit, offset, state, taskname, workername, search, sort_by), most recent first.
 */
import type { ClusterState, TaskInfo } from '../index.js';
import { HttpError, intField } from './http-error.js';

/** The per-event timestamp fields of Flower's task dict (null until that event is seen). */
const EVENT_TIMES = ['sent', 'received', 'started', 'succeeded', 'failed', 'retried', 'revoked', 'rejected'] as const;

const SORTABLE = new Set(['name', 'state', 'worker', 'received', 'started', 'timestamp', 'runtime', 'succeeded', 'failed']);

export type FlowerTask = Record<string, unknown> & { uuid: string; state: string; worker: string | null };

export function flowerTask(t: TaskInfo): FlowerTask {
  const { at, ...fields } = t;
  const times = Object.fromEntries(EVENT_TIMES.map((k) => [k, at[k] ?? null]));
  return { ...times, ...fields, worker: t.worker };
}

export interface TaskQuery {
  limit?: number;
  offset: number;
  state?: string;
  taskname?: string;
  workername?: string;
  search?: string;
  sortBy?: string;
}

/** Reads GET /api/tasks's query (400 on a bad limit, offset or sort_by). */
export function parseTaskQuery(q: URLSearchParams): TaskQuery {
  const limit = q.get('limit');
  const sortBy = q.get('sort_by') || undefined;
  if (sortBy && !SORTABLE.has(sortBy.replace(/^-/, ''))) {
    throw new HttpError(400, `sort_by: expected one of ${[...SORTABLE].join(', ')} (prefix - for descending), got ${JSON.stringify(sortBy)}`);
  }
  const text = (k: string): string | undefined => q.get(k) || undefined;
  return {
    ...(limit ? { limit: intField('limit', limit, 0) } : {}),
    offset: intField('offset', q.get('offset'), 0, 0),
    ...(text('state') ? { state: (text('state') as string).toUpperCase() } : {}),
    ...(text('taskname') ? { taskname: text('taskname') } : {}),
    ...(text('workername') ? { workername: text('workername') } : {}),
    ...(text('search') ? { search: text('search') } : {}),
    ...(sortBy ? { sortBy } : {}),
  };
}

function matches(t: TaskInfo, q: TaskQuery): boolean {
  if (q.state && t.state !== q.state) return false;
  if (q.taskname && t.name !== q.taskname) return false;
  if (q.workername && t.worker !== q.workername) return false;
  if (q.search) {
    const needle = q.search.toLowerCase();
    return [t.uuid, t.name, t.args, t.kwargs, t.result, t.exception].some((f) => typeof f === 'string' && f.toLowerCase().includes(needle));
  }
  return true;
}

function compare(key: string): (a: FlowerTask, b: FlowerTask) => number {
  const desc = key.startsWith('-');
  const field = key.replace(/^-/, '');
  return (a, b) => {
    const x = a[field] ?? null;
    const y = b[field] ?? null;
    // Tasks without the field go last, either way.
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
    const order = x === y ? 0 : (x as number | string) < (y as number | string) ? -1 : 1;
    return desc ? -order : order;
  };
}

/** The tasks that match, most recently updated first (or by sort_by), as Flower's `{uuid: task}` object. */
export function listTasks(state: ClusterState, q: TaskQuery): Record<string, FlowerTask> {
  const end = q.limit === undefined ? Infinity : q.offset + q.limit;
  const all = state.tasks();
  let tasks: FlowerTask[] = [];
  if (q.sortBy) {
    tasks = all.reverse().filter((t) => matches(t, q)).map(flowerTask).sort(compare(q.sortBy)).slice(q.offset, end);
  } else {
    // Newest first, stopping at the page's end: the page costs what it shows, not what the state holds.
    for (let i = all.length - 1, seen = 0; i >= 0 && seen < end; i--) {
      const t = all[i] as TaskInfo;
      if (!matches(t, q)) continue;
      if (seen++ >= q.offset) tasks.push(flowerTask(t));
    }
  }
  return Object.fromEntries(tasks.map((t) => [t.uuid, t]));
}
