// The dashboard's Monitor fed events directly (no broker traffic): the throughput series and its runtime
// quantiles, queue rates from samples and events, task timelines with parent and children, the Prometheus
// text (parsed back), the SQLite history (survives a new Monitor, bounded by count and age), and the new routes.
import { afterAll, describe, expect, it } from 'vitest';
import { Celeriac, type AnyEvent, type QueueInfo } from '../../../src/index.js';
import { handleApi, type ApiContext } from '../../../src/dashboard/api.js';
import { TaskHistory } from '../../../src/dashboard/history.js';
import { Monitor } from '../../../src/dashboard/monitor.js';
import { QueueMonitor, rates } from '../../../src/dashboard/queues.js';
import { TaskSeries } from '../../../src/dashboard/series.js';
import { WorkerInspector } from '../../../src/dashboard/workers.js';
import { parseMetrics, value } from '../../helpers/prometheus.js';
import { tempDir } from '../../helpers/temp.js';

const app = new Celeriac('unit', { broker: 'memory://', backend: 'memory://' });
const dir = tempDir();
afterAll(async () => {
  await app.close();
  dir.remove();
});

let clock = 0;
type Ev = AnyEvent & { local_received: number };
const ev = (type: string, fields: Record<string, unknown>, at: number, hostname = 'w1@host'): Ev =>
  ({ hostname, utcoffset: 0, pid: 7, clock: ++clock, ...fields, timestamp: at, type, local_received: at });

/** A task's life: received, started, then succeeded (or failed) `runtime` seconds later. */
function life(id: string, name: string, at: number, runtime: number, fields: Record<string, unknown> = {}, outcome = 'succeeded'): Ev[] {
  return [
    ev('task-received', { uuid: id, name, args: '()', kwargs: '{}', ...fields }, at),
    ev('task-started', { uuid: id }, at + 0.001),
    ev(`task-${outcome}`, outcome === 'succeeded' ? { uuid: id, result: 'None', runtime } : { uuid: id, exception: "ValueError('x')" }, at + 0.001 + runtime),
  ];
}

describe('TaskSeries', () => {
  it('counts events per second and reads runtime p50/p95 within 16 %', () => {
    let now = 999_999_900; // ms: the series' clock reads 999 999.9 s
    const s = new TaskSeries(() => now);
    for (let i = 0; i < 100; i++) s.add('succeeded', 999_999.2, i < 90 ? 0.01 : 2);
    s.add('failed', 999_999.5);
    s.add('received', 999_998.1);
    s.add('nonsense', 999_999.5);
    const v = s.view(10);
    expect(v).toMatchObject({ step: 1, start: 999_990 });
    expect(v.counts.succeeded.at(-1)).toBe(100);
    expect(v.counts.failed.at(-1)).toBe(1);
    expect(v.counts.received.at(-2)).toBe(1);
    expect(v.p50.at(-1)).toBeGreaterThan(0.0085);
    expect(v.p50.at(-1)).toBeLessThan(0.0116);
    expect(v.p95.at(-1)).toBeGreaterThan(1.7);
    expect(v.p95.at(-1)).toBeLessThan(2.3);
    expect(v.p50[0]).toBeNull();
    // An hour later the seconds are gone; the minutes remain.
    now += 3600_000;
    expect(s.view(60).counts.succeeded.every((n) => n === 0)).toBe(true);
    const hour = s.view(7200);
    expect(hour.step).toBe(60);
    expect(hour.counts.succeeded.reduce((a, b) => a + b, 0)).toBe(100);
  });
});

describe('queue rates', () => {
  it('out from received events, in from sent events or from out plus the change of depth', async () => {
    expect(rates([])).toEqual({ rateIn: null, rateOut: null });
    const base = { unacked: 0, sent: 0 };
    // 10 s: 50 received, ready grew by 20 -> 7 in/s, 5 out/s.
    expect(rates([{ t: 0, messages: 10, received: 0, ...base }, { t: 10, messages: 30, received: 50, ...base }])).toEqual({ rateIn: 7, rateOut: 5 });
    expect(rates([{ t: 0, messages: 10, received: 0, unacked: 0, sent: 0 }, { t: 10, messages: 30, received: 50, unacked: 0, sent: 100 }])).toEqual({ rateIn: 10, rateOut: 5 });
    let listed: QueueInfo[] = [{ name: 'q', messages: 5, unacked: 1 }, { name: 'celeryev.x', messages: 0, unacked: 0 }];
    let now = 0;
    const m = new QueueMonitor(async () => listed, () => now);
    await m.sample();
    for (let i = 0; i < 20; i++) m.note('q', 'received');
    now = 4000;
    listed = [{ name: 'q', messages: 1, unacked: 0, consumers: 2 }];
    await m.sample();
    const [row, ...rest] = m.rows((q) => (q === 'q' ? ['w1@host'] : []));
    expect(rest).toEqual([]);
    expect(row).toMatchObject({ name: 'q', messages: 1, consumers: 2, internal: false, workers: ['w1@host'], rateOut: 5, rateIn: 4, history: [[0, 5], [4, 1]] });
    m.note('gone', 'sent');
    await m.sample();
    expect(m.rows(() => []).map((r) => r.name)).toEqual(['q']);
  });
});

function monitor(history?: string, maxTasks = 100): Monitor {
  return new Monitor(app, { maxTasks, queueInterval: 0, queuesOf: (w) => (w === 'w1@host' ? ['celery'] : ['a', 'b']), ...(history ? { history } : {}) });
}

const call = (ctx: ApiContext, method: string, path: string, fields: Record<string, string> = {}) => handleApi(ctx, { method, path, fields: new URLSearchParams(fields) });

describe('Monitor', () => {
  it('keeps each task timeline, parent and children, attributes received tasks to queues, and counts metrics', async () => {
    const m = monitor();
    const now = Date.now() / 1000;
    for (const e of life('root', 'tasks.chain', now - 3, 0.2)) m.ingest(e);
    for (const e of life('child-1', 'tasks.add', now - 2, 0.05, { parent_id: 'root', root_id: 'root' })) m.ingest(e);
    for (const e of life('child-2', 'tasks.add', now - 2, 0.05, { parent_id: 'root', root_id: 'root' }, 'failed')) m.ingest(e);
    m.ingest(ev('task-received', { uuid: 'retry-me', name: 'tasks.flaky' }, now - 1));
    m.ingest(ev('task-retried', { uuid: 'retry-me', exception: 'Boom()' }, now - 0.9));
    m.ingest(ev('task-received', { uuid: 'retry-me', name: 'tasks.flaky', retries: 1 }, now - 0.5, 'w2@host'));
    m.ingest(ev('worker-heartbeat', { freq: 2, active: 1, processed: 3 }, now));
    expect(m.timeline('child-1').map(([k]) => k)).toEqual(['received', 'started', 'succeeded']);
    expect(m.children('root').map((t) => t.uuid).sort()).toEqual(['child-1', 'child-2']);

    const ctx: ApiContext = { app, state: m.state, inspector: new WorkerInspector(app, 50), timeout: 50, monitor: m };
    const tl = await call(ctx, 'GET', '/api/task/timeline/root');
    expect(tl.status).toBe(200);
    expect(tl.body).toMatchObject({ task: { uuid: 'root', state: 'SUCCESS' }, parent: null, retries: 0 });
    expect((tl.body as { children: { uuid: string; state: string }[] }).children.map((c) => c.state).sort()).toEqual(['FAILURE', 'SUCCESS']);
    const child = await call(ctx, 'GET', '/api/task/timeline/child-1');
    expect(child.body).toMatchObject({ parent: { uuid: 'root', name: 'tasks.chain', state: 'SUCCESS' }, children: [] });
    expect((child.body as { events: { event: string }[] }).events.map((e) => e.event)).toEqual(['received', 'started', 'succeeded']);
    const flaky = await call(ctx, 'GET', '/api/task/timeline/retry-me');
    expect(flaky.body).toMatchObject({ retries: 1, task: { state: 'RECEIVED', worker: 'w2@host' } });
    expect((await call(ctx, 'GET', '/api/task/timeline/nope')).status).toBe(404);
    expect(await call(ctx, 'GET', '/api/task/types')).toEqual({ status: 200, body: { 'task-types': ['tasks.add', 'tasks.chain', 'tasks.flaky'] } });
    const series = (await call(ctx, 'GET', '/api/series', { range: '60' })).body as { counts: Record<string, number[]> };
    expect(series.counts['succeeded']!.reduce((a, b) => a + b, 0)).toBe(2);
    expect(series.counts['retried']!.reduce((a, b) => a + b, 0)).toBe(1);
    expect((await call(ctx, 'GET', '/api/series', { range: '100000' })).status).toBe(400);

    const { text, contentType } = await m.metrics.scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const f = parseMetrics(text);
    expect(value(f, 'celeriac_events_total', { type: 'task-succeeded', task: 'tasks.add', worker: 'w1@host' })).toBe(1);
    expect(value(f, 'celeriac_events_total', { type: 'task-failed', task: 'tasks.add', worker: 'w1@host' })).toBe(1);
    expect(value(f, 'celeriac_tasks', { state: 'SUCCESS', task: 'tasks.add' })).toBe(1);
    expect(value(f, 'celeriac_tasks', { state: 'RECEIVED', task: 'tasks.flaky' })).toBe(1);
    expect(value(f, 'celeriac_worker_prefetched_tasks', { worker: 'w2@host', task: 'tasks.flaky' })).toBe(1);
    expect(value(f, 'celeriac_workers_online')).toBe(1);
    expect(value(f, 'celeriac_worker_online', { worker: 'w1@host' })).toBe(1);
    expect(value(f, 'celeriac_worker_active_tasks', { worker: 'w1@host' })).toBe(1);
    expect(value(f, 'celeriac_task_runtime_seconds_count', { task: 'tasks.chain' })).toBe(1);
    expect(value(f, 'celeriac_task_runtime_seconds_bucket', { task: 'tasks.chain', le: '0.1' })).toBe(0);
    expect(value(f, 'celeriac_task_runtime_seconds_bucket', { task: 'tasks.chain', le: '0.25' })).toBe(1);
    expect(f.families.get('celeriac_task_runtime_seconds')?.type).toBe('HISTOGRAM');
    expect(f.families.get('celeriac_events_total')?.type).toBe('COUNTER');
    expect(f.families.has('process_resident_memory_bytes')).toBe(true);
    m.close();
  });

  it('memory stays bounded: the state and timelines keep maxTasks tasks however many are seen', () => {
    const m = monitor(undefined, 50);
    const now = Date.now() / 1000;
    for (let i = 0; i < 1000; i++) for (const e of life(`t${i}`, 'tasks.add', now, 0.001)) m.ingest(e);
    expect(m.state.taskCount).toBe(50);
    expect(m.timeline('t0')).toEqual([]);
    expect(m.timeline('t999')).toHaveLength(3);
    m.close();
  });
});

describe('task history (SQLite)', () => {
  it('survives a new Monitor on the same file: tasks, timelines and children come back; no ghost workers', () => {
    const path = dir.file('history.db');
    const first = monitor(path);
    const now = Date.now() / 1000;
    for (const e of life('p', 'tasks.parent', now - 2, 0.3)) first.ingest(e);
    for (const e of life('c', 'tasks.child', now - 1, 0.1, { parent_id: 'p', root_id: 'p', args: '(1, 2)' })) first.ingest(e);
    first.close();

    const second = monitor(path);
    expect(second.state.task('c')).toMatchObject({ uuid: 'c', name: 'tasks.child', state: 'SUCCESS', worker: 'w1@host', args: '(1, 2)', parent_id: 'p', runtime: 0.1 });
    expect(second.state.task('c')?.at['received']).toBe(now - 1);
    expect(second.state.task('c')?.at['succeeded']).toBeCloseTo(now - 1 + 0.101, 6);
    expect(second.state.tasks().map((t) => t.uuid)).toEqual(['p', 'c']);
    expect(second.timeline('p').map(([k]) => k)).toEqual(['received', 'started', 'succeeded']);
    expect(second.children('p').map((t) => t.uuid)).toEqual(['c']);
    expect(second.state.workers()).toEqual([]);
    second.close();
  });

  it('keeps at most maxTasks tasks and none older than maxAge', () => {
    let now = 1_000_000_000_000;
    const h = new TaskHistory(dir.file('bounded.db'), { maxTasks: 3, maxAge: 60, now: () => now });
    const task = (uuid: string, t: number) => ({ uuid, task: { uuid, state: 'SUCCESS', timestamp: t }, events: [['succeeded', t, 'w'] as [string, number, string]] });
    h.write([task('old', now / 1000 - 120), task('a', now / 1000 - 3), task('b', now / 1000 - 2), task('c', now / 1000 - 1), task('d', now / 1000)]);
    expect(h.size).toBe(5);
    expect(h.prune()).toBe(2);
    expect(h.recent(10).map((t) => t.uuid)).toEqual(['b', 'c', 'd']);
    now += 120_000;
    h.prune();
    expect(h.size).toBe(0);
    h.close();
  });
});
