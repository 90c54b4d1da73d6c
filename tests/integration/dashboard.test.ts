// The web dashboard end to end on memory://, sqlite://, redis:// (a key prefix of its own) and amqp:// (a vhost of
// its own, results in Redis): an in-process worker with task events and the dashboard on a free port; the API lists
// the worker with its inspect data, shows a task going RECEIVED -> STARTED -> SUCCESS, revokes, sets a rate limit,
// grows the pool, applies a task and shuts the worker down; the SSE stream delivers the events; basic auth; the
// Prometheus text of the dashboard and of the worker (parsed back), queues with consumers, Flower's queue lengths,
// task types and abort.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { startDashboard, startWorkerMetrics, type Dashboard } from '../../src/dashboard/server.js';
import { parseMetrics, value } from '../helpers/prometheus.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const silent = createLogger({ level: 'silent' });
const T = 10_000;

/** Reads a Server-Sent Events stream into a list of parsed `data:` payloads until `close()`. */
function subscribe(url: string): { events: Record<string, unknown>[]; close(): void } {
  const events: Record<string, unknown>[] = [];
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(url, { signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (data) events.push(JSON.parse(data) as Record<string, unknown>);
      }
    }
  })().catch(() => undefined);
  return { events, close: () => abort.abort() };
}

for (const kind of ['memory', 'sqlite', 'redis', 'amqp'] as const) {
  describe(`dashboard on ${kind}://`, () => {
    let dir: TempDir;
    let vhost: Vhost | undefined;
    let client: Celeriac;
    let workerApp: Celeriac;
    let worker: Worker;
    let dashboard: Dashboard;
    const keyPrefix = `celeriac-test-${randomUUID()}:`;
    const queue = `q-${randomUUID()}`;
    const hostname = `dash@test-${keyPrefix.slice(14, 22)}`;

    const makeApp = (url: string): Celeriac => {
      const app = new Celeriac('tests', { broker: url, backend: kind === 'amqp' ? REDIS_URL : url, brokerOptions: { keyPrefix }, backendOptions: { keyPrefix }, taskRoutes: { 'tasks.*': queue } });
      app.task('tasks.add', (x: number, y: number) => x + y);
      return app;
    };

    beforeEach(async () => {
      dir = tempDir();
      vhost = kind === 'amqp' ? await createVhost() : undefined;
      const url = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? `sqlite://${dir.file('broker.db')}` : vhost ? vhost.url : REDIS_URL;
      client = makeApp(url);
      // On memory:// the broker lives in the app: the worker shares it.
      workerApp = kind === 'memory' ? client : makeApp(url);
      dashboard = await startDashboard(client, { port: 0, timeout: 1000 });
      worker = await new Worker(workerApp, { logger: silent, concurrency: 1, hostname, queues: [queue], taskEvents: true, heartbeatInterval: 0.3 }).start();
    }, 60_000);

    afterEach(async () => {
      await dashboard.close();
      await worker.stop({ cold: true });
      await client.close();
      if (workerApp !== client) await workerApp.close();
      dir.remove();
      if (kind === 'redis' || kind === 'amqp') await deleteKeys(keyPrefix);
      await vhost?.remove();
    }, 60_000);

    const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${dashboard.url}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const post = async (path: string, form?: Record<string, string>, json?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
      const init: RequestInit = { method: 'POST' };
      if (form) init.body = new URLSearchParams(form);
      if (json !== undefined) Object.assign(init, { body: JSON.stringify(json), headers: { 'content-type': 'application/json' } });
      const res = await fetch(`${dashboard.url}${path}`, init);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    it('lists the worker with its inspect data, streams events, and shows a task going RECEIVED -> STARTED -> SUCCESS', async () => {
      const stream = subscribe(`${dashboard.url}/api/events`);
      try {
        const workers = await get('/api/workers?refresh=1');
        expect(workers.status).toBe(200);
        const mine = workers.body[hostname] as Record<string, unknown>;
        expect(mine['active_queues']).toEqual([expect.objectContaining({ name: queue })]);
        expect(mine['stats']).toMatchObject({ pid: process.pid });
        expect(mine['registered']).toContain('tasks.add');
        expect((await get(`/api/workers?workername=${encodeURIComponent(hostname)}`)).body).toHaveProperty(hostname);
        await until(async () => ((await get('/api/overview')).body['workers'] as { hostname: string; alive: boolean }[]).some((w) => w.hostname === hostname && w.alive), T);

        const r = await client.sendTask('tasks.add', [2, 2]);
        expect(await r.get({ timeout: T })).toBe(4);
        await until(() => stream.events.some((e) => e['type'] === 'task-succeeded' && e['uuid'] === r.id), T);
        expect(stream.events.filter((e) => e['uuid'] === r.id).map((e) => e['type'])).toEqual(['task-received', 'task-started', 'task-succeeded']);
        expect(stream.events.some((e) => e['type'] === 'worker-heartbeat' && e['hostname'] === hostname)).toBe(true);

        const info = await get(`/api/task/info/${r.id}`);
        expect(info.body).toMatchObject({ uuid: r.id, name: 'tasks.add', state: 'SUCCESS', worker: hostname, args: '(2, 2)', result: '4' });
        for (const k of ['received', 'started', 'succeeded']) expect(typeof info.body[k]).toBe('number');
        const tasks = await get(`/api/tasks?state=SUCCESS&taskname=tasks.add&workername=${encodeURIComponent(hostname)}&limit=5`);
        expect(Object.keys(tasks.body)).toEqual([r.id]);
        expect((await get(`/api/task/result/${r.id}`)).body).toEqual({ 'task-id': r.id, state: 'SUCCESS', result: 4 });
        expect((await get(`/api/task/info/${randomUUID()}`)).status).toBe(404);
      } finally {
        stream.close();
      }
    });

    it('revokes a waiting task, sets a rate limit, grows the pool, applies a task, and shuts the worker down', async () => {
      await until(() => dashboard.state.worker(hostname)?.alive === true, T);
      const later = await client.sendTask('tasks.add', [1, 1], { countdown: 600 });
      await until(() => dashboard.state.task(later.id)?.state === 'RECEIVED', T);
      expect(await post(`/api/task/revoke/${later.id}`)).toEqual({ status: 200, body: { message: `Revoked '${later.id}'` } });
      await until(async () => (await get(`/api/task/info/${later.id}`)).body['state'] === 'REVOKED', T);

      expect(await post('/api/task/rate-limit/tasks.add', { ratelimit: '10/m', workername: hostname })).toEqual({ status: 200, body: { message: 'new rate limit set successfully' } });
      expect((await client.control.inspect({ destination: [hostname], timeout: T }).registered('rate_limit'))[hostname]).toEqual(['tasks.add [rate_limit=10/m]']);
      expect((await post('/api/task/rate-limit/tasks.add', { ratelimit: 'fast', workername: hostname })).status).toBe(400);
      expect((await post('/api/task/rate-limit/tasks.add', { ratelimit: '1/s', workername: 'nobody@nowhere' })).status).toBe(404);

      expect(await post(`/api/worker/pool/grow/${encodeURIComponent(hostname)}`, { n: '2' })).toEqual({ status: 200, body: { message: 'Growing pool by 2' } });
      expect(((await client.control.inspect({ destination: [hostname], timeout: T }).stats())[hostname] as { pool: Record<string, unknown> }).pool).toMatchObject({ 'max-concurrency': 3 });
      expect((await post(`/api/worker/pool/shrink/${encodeURIComponent(hostname)}`, { n: 'x' })).status).toBe(400);

      const applied = await post('/api/task/async-apply/tasks.add', undefined, { args: [3, 4], options: { queue } });
      expect(applied.body).toMatchObject({ state: 'PENDING' });
      expect(await client.AsyncResult(String(applied.body['task-id'])).get({ timeout: T })).toBe(7);

      const stopped = new Promise<void>((resolve) => worker.once('stopped', resolve));
      expect(await post(`/api/worker/shutdown/${encodeURIComponent(hostname)}`)).toEqual({ status: 200, body: { message: 'Shutting down!' } });
      await stopped;
      await until(() => dashboard.state.worker(hostname)?.alive === false, T);
      expect((await post('/api/worker/shutdown/nobody@nowhere')).status).toBe(404);
    });

    it('Prometheus metrics of the dashboard and the worker, queues with consumers, Flower\'s queue lengths, task types and abort', async () => {
      await until(() => dashboard.state.worker(hostname)?.alive === true, T);
      const exposed = await startWorkerMetrics(worker, { port: 0 });
      onTestFinished(() => exposed.close());
      const r = await client.sendTask('tasks.add', [20, 22]);
      expect(await r.get({ timeout: T })).toBe(42);
      await until(() => dashboard.state.task(r.id)?.state === 'SUCCESS', T);
      await client.sendTask('tasks.add', [0, 0], { queue: `${queue}-idle` });

      const scraped = await fetch(`${dashboard.url}/metrics`);
      expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const m = parseMetrics(await scraped.text());
      expect(value(m, 'celeriac_events_total', { type: 'task-succeeded', task: 'tasks.add', worker: hostname })).toBe(1);
      expect(value(m, 'celeriac_task_runtime_seconds_count', { task: 'tasks.add', worker: hostname })).toBe(1);
      expect(value(m, 'celeriac_tasks', { state: 'SUCCESS', task: 'tasks.add' })).toBe(1);
      expect(value(m, 'celeriac_worker_online', { worker: hostname })).toBe(1);
      expect(value(m, 'celeriac_workers_online')).toBeGreaterThanOrEqual(1);
      expect(value(m, 'celeriac_queue_messages', { queue: `${queue}-idle` })).toBe(1);
      expect(value(m, 'celeriac_queue_messages', { queue })).toBe(0);
      // Consumers where the broker knows them all (AMQP; memory lives in this process), never guessed elsewhere.
      const knows = kind === 'amqp' || kind === 'memory';
      expect(value(m, 'celeriac_queue_consumers', { queue })).toBe(knows ? 1 : NaN);
      expect(m.samples.some((x) => x.labels['queue']?.startsWith('celeryev.'))).toBe(false);

      await ctxRefresh();
      const queues = (await get('/api/queues')).body['queues'] as { name: string; messages: number; consumers?: number; workers: string[] }[];
      const row = queues.find((q) => q.name === queue);
      expect(row).toMatchObject({ messages: 0, workers: [hostname], ...(knows ? { consumers: 1 } : {}) });
      expect(row && 'consumers' in row).toBe(knows);
      expect(queues.find((q) => q.name === `${queue}-idle`)).toMatchObject({ messages: 1, workers: [] });
      expect(queues.some((q) => q.name.startsWith('celeryev.'))).toBe(false);
      expect((await get('/api/queues/length')).body).toEqual({ active_queues: [expect.objectContaining({ name: queue, messages: 0 })] });
      expect((await get('/api/task/types')).body).toEqual({ 'task-types': ['tasks.add'] });

      const w = parseMetrics(await (await fetch(exposed.url)).text());
      expect(value(w, 'celeriac_worker_tasks_total', { task: 'tasks.add', state: 'succeeded', worker: hostname })).toBe(1);
      expect(value(w, 'celeriac_worker_task_runtime_seconds_count', { task: 'tasks.add' })).toBe(1);
      expect(value(w, 'celeriac_worker_up')).toBe(1);
      expect(value(w, 'celeriac_worker_concurrency')).toBe(1);
      expect(value(w, 'celeriac_worker_active_tasks')).toBe(0);
      expect(value(w, 'celeriac_queue_messages', { queue })).toBe(0);

      // Abort: Celery's AbortableAsyncResult.abort() (state ABORTED in the result backend); refused once finished.
      const later = await client.sendTask('tasks.add', [1, 1], { countdown: 600 });
      expect(await post(`/api/task/abort/${later.id}`)).toEqual({ status: 200, body: { message: `Aborted '${later.id}'` } });
      expect(await client.AsyncResult(later.id).state()).toBe('ABORTED');
      expect((await post(`/api/task/abort/${r.id}`)).status).toBe(409);
      expect(await client.AsyncResult(r.id).state()).toBe('SUCCESS');
    });

    /** Waits until the dashboard's inspect cache knows the worker's queues. */
    const ctxRefresh = (): Promise<void> => until(async () => Object.keys((await get('/api/workers')).body).includes(hostname), T);

    if (kind === 'memory') {
      it('serves the page and /api/live ticks; basic auth answers 401 without credentials; a cross-origin POST is refused', async () => {
        const page = await fetch(`${dashboard.url}/`);
        expect(page.headers.get('content-type')).toMatch(/text\/html/);
        expect(await page.text()).toContain('<table id="workers">');
        expect((await fetch(`${dashboard.url}/static/dashboard.js`)).status).toBe(200);
        for (const asset of ['charts.js', 'pages.js', 'dashboard.css']) expect((await fetch(`${dashboard.url}/static/${asset}`)).status).toBe(200);
        // /api/live: a tick (at most four a second) saying how many events came, whatever the rate.
        const ticks = subscribe(`${dashboard.url}/api/live`);
        try {
          await client.sendTask('tasks.add', [1, 2]);
          await until(() => ticks.events.reduce((n, t) => n + Number(t['events']), 0) >= 3, T);
          expect(Object.keys(ticks.events[0] ?? {})).toEqual(['events']);
        } finally {
          ticks.close();
        }
        const cross = await fetch(`${dashboard.url}/api/task/revoke/x`, { method: 'POST', headers: { origin: 'http://evil.example' } });
        expect(cross.status).toBe(403);
        const locked = await startDashboard(client, { port: 0, basicAuth: 'admin:s3cret' });
        try {
          const denied = await fetch(`${locked.url}/api/tasks`);
          expect(denied.status).toBe(401);
          expect(denied.headers.get('www-authenticate')).toBe('Basic realm="celeriac"');
          expect((await fetch(`${locked.url}/api/tasks`, { headers: { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` } })).status).toBe(401);
          const ok = await fetch(`${locked.url}/api/tasks`, { headers: { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` } });
          expect(ok.status).toBe(200);
        } finally {
          await locked.close();
        }
      });
    }
  });
}
