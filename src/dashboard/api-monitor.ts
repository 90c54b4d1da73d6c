/**
 * The monitoring routes of the dashboard's API: queues (depth, consumers, rates), the charts' series, a
 * task's timeline with its parent and children, and Flower's remaining endpoints that scripts use:
 *
 *   GET  /api/queues                    ?all=1 (also the event and remote-control queues)
 *   GET  /api/queues/length             Flower's {"active_queues": [{name, messages, ...}]}: the workers' queues
 *   GET  /api/task/types                Flower's {"task-types": [...]}: the task names seen
 *   POST /api/task/abort/<id>           Celery's AbortableTask: the result backend's state becomes ABORTED
 *   GET  /api/series                    ?range=600 (s, up to 86400): task events and runtime p50/p95 over time
 *   GET  /api/task/timeline/<id>        the task, its events by time, its parent and children
 */
import { READY_STATES, type TaskInfo } from '../index.js';
import type { Handler } from './api-types.js';
import { boolField, HttpError, intField } from './http-error.js';
import { flowerTask } from './tasks.js';

/** What the page shows of a related task (parent, child). */
function summary(t: TaskInfo): Record<string, unknown> {
  const at = t.at ?? {};
  return { uuid: t.uuid, name: t.name ?? null, state: t.state, worker: t.worker, received: at['received'] ?? null, started: at['started'] ?? null, finished: at['succeeded'] ?? at['failed'] ?? at['revoked'] ?? at['rejected'] ?? null, runtime: t.runtime ?? null };
}

export const MONITOR_ROUTES: [method: string, prefix: string, handler: Handler][] = [
  ['GET', '/api/queues', async (ctx, req) => {
    const all = boolField('all', req.fields.get('all'), false);
    await ctx.monitor.queues.fresh(1000);
    const rows = ctx.monitor.queues.rows((q) => ctx.inspector.consumersOf(q)).filter((q) => all || !q.internal);
    return { queues: rows, sampled: ctx.monitor.queues.lastSample / 1000, ...(ctx.monitor.queues.error ? { error: ctx.monitor.queues.error } : {}) };
  }],
  ['GET', '/api/queues/length', async (ctx) => {
    // Flower: the queues the workers consume (their active_queues), else the default queue.
    const names = ctx.inspector.activeQueueNames();
    const wanted = names.length ? names : [ctx.app.conf.defaultQueue];
    const transport = await ctx.app.connection();
    const active = await Promise.all(wanted.map((name) => transport.queueInfo(name).catch(() => ({ name, messages: 0, unacked: 0 }))));
    return { active_queues: active };
  }],
  ['GET', '/api/task/types', async (ctx) => {
    const names = new Set<string>();
    for (const t of ctx.state.tasks()) if (t.name) names.add(t.name);
    return { 'task-types': [...names].sort() };
  }],
  ['POST', '/api/task/abort/', async (ctx, _req, id) => {
    const backend = await ctx.app.resultBackend();
    const meta = await backend.getMeta(id);
    if (READY_STATES.has(meta.status)) throw new HttpError(409, `task '${id}' already finished (${meta.status}): nothing to abort`);
    // Celery's AbortableAsyncResult.abort(): store_result(id, None, ABORTED); the task sees it with is_aborted().
    await backend.storeResult({ status: 'ABORTED', result: null, traceback: null, children: [], date_done: null, task_id: id });
    return { message: `Aborted '${id}'` };
  }],
  ['GET', '/api/series', async (ctx, req) => {
    const range = intField('range', req.fields.get('range'), 600);
    if (range > 86_400) throw new HttpError(400, `range: expected at most 86400 seconds (24 h), got ${range}`);
    return ctx.monitor.series.view(range);
  }],
  ['GET', '/api/task/timeline/', async (ctx, _req, id) => {
    const task = ctx.monitor.task(id);
    if (!task) throw new HttpError(404, `Unknown task '${id}'`);
    const parent = task.parent_id ? ctx.monitor.task(task.parent_id) : undefined;
    // By time (a producer's task-sent may arrive after the worker's task-received); ties keep their order.
    const events = ctx.monitor.timeline(id).map(([event, timestamp, worker]) => ({ event, timestamp, worker })).sort((a, b) => a.timestamp - b.timestamp);
    return {
      task: flowerTask(task),
      events,
      retries: events.filter((e) => e.event === 'retried').length,
      parent: parent ? summary(parent) : task.parent_id ? { uuid: task.parent_id, name: null, state: 'UNKNOWN' } : null,
      children: ctx.monitor.children(id).map(summary),
    };
  }],
];
