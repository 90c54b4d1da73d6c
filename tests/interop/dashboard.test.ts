// The dashboard watching a Python Celery worker (Debian's 5.2.x, -E) on Redis: its task events reach the task
// list, the Prometheus metrics and Flower's queue lengths, and the dashboard's Abort (Flower's POST
// /api/task/abort/<id>) stops a running celery.contrib.abortable.AbortableTask: the task sees is_aborted().
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { type Spawned } from '../helpers/processes.js';
import { parseMetrics, value } from '../helpers/prometheus.js';
import { REDIS_URL } from '../helpers/redis.js';
import { until } from '../helpers/temp.js';
import { cleanupRedis, requirePythonCelery, startPythonWorker, stopProcess } from './helpers.js';

const T = 20_000;

describe('dashboard over a Python Celery worker (redis)', { timeout: 90_000 }, () => {
  const queue = `interop-dash-${randomUUID()}`;
  const node = `dash-${queue.slice(-8)}@interop`;
  const ids: string[] = [];
  let app: Celeriac;
  let dashboard: Dashboard;
  let worker: Spawned | undefined;

  beforeAll(async () => {
    requirePythonCelery();
    app = new Celeriac('interop', { broker: REDIS_URL, backend: REDIS_URL });
    dashboard = await startDashboard(app, { port: 0, timeout: 2000 });
    worker = await startPythonWorker(REDIS_URL, queue, node, REDIS_URL, { events: true });
  }, 90_000);

  afterAll(async () => {
    await stopProcess(worker);
    await dashboard?.close();
    await app?.close();
    await cleanupRedis(REDIS_URL, { queues: [queue], taskIds: ids, nodeNames: [node] });
  }, 60_000);

  it("shows the Python worker's tasks and metrics; Abort stops a running AbortableTask", async () => {
    const added = await app.sendTask('interop.add', [2, 3], { queue });
    ids.push(added.id);
    expect(await added.get({ timeout: T })).toBe(5);
    await until(() => dashboard.state.task(added.id)?.state === 'SUCCESS', T);
    const info = (await (await fetch(`${dashboard.url}/api/task/info/${added.id}`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ name: 'interop.add', state: 'SUCCESS', worker: node, result: '5' });

    const running = await app.sendTask('interop.abortable', [30], { queue });
    ids.push(running.id);
    // Running: the task stores STARTED (track_started); the solo pool sends its events only when it is done.
    await until(async () => (await running.state()) === 'STARTED', T);
    const aborted = await fetch(`${dashboard.url}/api/task/abort/${running.id}`, { method: 'POST' });
    expect(await aborted.json()).toEqual({ message: `Aborted '${running.id}'` });
    expect(await running.get({ timeout: T })).toBe('aborted');

    const m = parseMetrics(await (await fetch(`${dashboard.url}/metrics`)).text());
    expect(value(m, 'celeriac_events_total', { type: 'task-succeeded', task: 'interop.add', worker: node })).toBe(1);
    expect(value(m, 'celeriac_worker_online', { worker: node })).toBe(1);
    await until(async () => ((await (await fetch(`${dashboard.url}/api/workers?refresh=1`)).json()) as Record<string, unknown>)[node] !== undefined, T);
    const lengths = (await (await fetch(`${dashboard.url}/api/queues/length`)).json()) as { active_queues: { name: string; messages: number }[] };
    expect(lengths.active_queues).toContainEqual(expect.objectContaining({ name: queue, messages: 0 }));
    const types = (await (await fetch(`${dashboard.url}/api/task/types`)).json()) as { 'task-types': string[] };
    expect(types['task-types']).toEqual(expect.arrayContaining(['interop.abortable', 'interop.add']));
  });
});
