// The dashboard's API handlers called directly (no HTTP): Flower's task dicts, filters, paging and sorting,
// 400 for bad input saying what was expected, 404 for unknown tasks, workers and paths, 405 for a wrong method.
import { afterAll, describe, expect, it } from 'vitest';
import { Celeriac, type AnyEvent } from '../../../src/index.js';
import { handleApi, type ApiContext } from '../../../src/dashboard/api.js';
import { parseApplyBody } from '../../../src/dashboard/apply.js';
import { Monitor } from '../../../src/dashboard/monitor.js';
import { WorkerInspector } from '../../../src/dashboard/workers.js';

const app = new Celeriac('unit', { broker: 'memory://', backend: 'memory://' });
afterAll(() => app.close());

let clock = 0;
const ev = (type: string, fields: Record<string, unknown>, at: number): AnyEvent & { local_received: number } =>
  ({ hostname: 'w1@host', utcoffset: 0, pid: 7, clock: ++clock, ...fields, timestamp: at, type, local_received: at });

function context(): ApiContext {
  const monitor = new Monitor(app, { maxTasks: 10_000, queueInterval: 0, queuesOf: () => [], now: () => 1000_000 });
  const state = monitor.state;
  const feed = { event: (e: AnyEvent & { local_received: number }) => monitor.ingest(e) };
  feed.event(ev('worker-online', { freq: 2, active: 0, processed: 0 }, 999));
  feed.event(ev('task-received', { uuid: 'id-1', name: 'tasks.add', args: '(1, 2)', kwargs: '{}' }, 990));
  feed.event(ev('task-started', { uuid: 'id-1' }, 991));
  feed.event(ev('task-succeeded', { uuid: 'id-1', result: '3', runtime: 0.5 }, 992));
  feed.event(ev('task-received', { uuid: 'id-2', name: 'tasks.fail', args: '()', kwargs: '{}', hostname: 'w2@host' }, 993));
  feed.event(ev('task-failed', { uuid: 'id-2', exception: "ValueError('boom')", hostname: 'w2@host' }, 994));
  feed.event(ev('task-received', { uuid: 'id-3', name: 'tasks.add', args: '(5, 5)', kwargs: '{}' }, 995));
  return { app, state, inspector: new WorkerInspector(app, 50), timeout: 50, monitor };
}

const call = (ctx: ApiContext, method: string, path: string, fields: Record<string, string> = {}, json?: unknown) =>
  handleApi(ctx, { method, path, fields: new URLSearchParams(fields), ...(json !== undefined ? { json } : {}) });

describe('GET /api/tasks and /api/task/info', () => {
  it("returns Flower's task dicts keyed by uuid, most recent first, with one timestamp per event", async () => {
    const out = await call(context(), 'GET', '/api/tasks');
    expect(out.status).toBe(200);
    const body = out.body as Record<string, Record<string, unknown>>;
    expect(Object.keys(body)).toEqual(['id-3', 'id-2', 'id-1']);
    expect(body['id-1']).toMatchObject({
      uuid: 'id-1', name: 'tasks.add', state: 'SUCCESS', worker: 'w1@host', args: '(1, 2)', result: '3', runtime: 0.5,
      received: 990, started: 991, succeeded: 992, failed: null, revoked: null, sent: null,
    });
    expect(body['id-1']).not.toHaveProperty('at');
  });

  it('filters by state, taskname, workername and search; pages with limit/offset; sorts with sort_by', async () => {
    const ctx = context();
    const keys = async (fields: Record<string, string>): Promise<string[]> => Object.keys((await call(ctx, 'GET', '/api/tasks', fields)).body as object);
    expect(await keys({ state: 'success' })).toEqual(['id-1']);
    expect(await keys({ taskname: 'tasks.add' })).toEqual(['id-3', 'id-1']);
    expect(await keys({ workername: 'w2@host' })).toEqual(['id-2']);
    expect(await keys({ search: 'boom' })).toEqual(['id-2']);
    expect(await keys({ search: 'ID-3' })).toEqual(['id-3']);
    expect(await keys({ limit: '1', offset: '1' })).toEqual(['id-2']);
    expect(await keys({ sort_by: 'received' })).toEqual(['id-1', 'id-2', 'id-3']);
    expect(await keys({ sort_by: '-runtime' })).toEqual(['id-1', 'id-3', 'id-2']);
  });

  it('bad limit, offset or sort_by is a 400 saying what was expected', async () => {
    const ctx = context();
    expect(await call(ctx, 'GET', '/api/tasks', { limit: 'ten' })).toEqual({ status: 400, body: { error: 'limit: expected an integer >= 1, got "ten"' } });
    expect((await call(ctx, 'GET', '/api/tasks', { offset: '-1' })).status).toBe(400);
    expect((await call(ctx, 'GET', '/api/tasks', { sort_by: 'args' })).body).toEqual({ error: expect.stringMatching(/^sort_by: expected one of name, state/) });
  });

  it('task info: the task, or 404 naming the unknown id', async () => {
    const ctx = context();
    expect((await call(ctx, 'GET', '/api/task/info/id-2')).body).toMatchObject({ state: 'FAILURE', exception: "ValueError('boom')", worker: 'w2@host' });
    expect(await call(ctx, 'GET', '/api/task/info/nope')).toEqual({ status: 404, body: { error: "Unknown task 'nope'" } });
  });
});

describe('control endpoints: validation before anything is sent', () => {
  it('revoke: terminate must be a boolean and signal a signal name', async () => {
    const ctx = context();
    expect((await call(ctx, 'POST', '/api/task/revoke/id-1', { terminate: 'maybe' })).body).toEqual({ error: 'terminate: expected true or false, got "maybe"' });
    expect((await call(ctx, 'POST', '/api/task/revoke/id-1', { terminate: 'true', signal: 'kill -9' })).status).toBe(400);
    expect(await call(ctx, 'POST', '/api/task/revoke/id-1', { terminate: 'true', signal: 'SIGKILL' })).toEqual({ status: 200, body: { message: "Revoked 'id-1'" } });
  });

  it('rate-limit: a missing or malformed rate is a 400; an unknown worker a 404', async () => {
    const ctx = context();
    expect((await call(ctx, 'POST', '/api/task/rate-limit/tasks.add')).body).toEqual({ error: expect.stringMatching(/^ratelimit: expected a rate like '10\/s'/) });
    expect((await call(ctx, 'POST', '/api/task/rate-limit/tasks.add', { ratelimit: 'fast' })).status).toBe(400);
    expect(await call(ctx, 'POST', '/api/task/rate-limit/tasks.add', { ratelimit: '5/m', workername: 'ghost@host' })).toEqual({ status: 404, body: { error: "Unknown worker 'ghost@host'" } });
  });

  it('shutdown and pool grow/shrink: unknown workers are 404, a bad n a 400, a silent worker a 504', async () => {
    const ctx = context();
    expect((await call(ctx, 'POST', '/api/worker/shutdown/ghost@host')).status).toBe(404);
    expect((await call(ctx, 'POST', '/api/worker/pool/grow/ghost@host')).status).toBe(404);
    expect(await call(ctx, 'POST', '/api/worker/pool/shrink/w1@host', { n: '0' })).toEqual({ status: 400, body: { error: 'n: expected an integer >= 1, got "0"' } });
    // w1@host is known from its events but no worker runs here: nobody answers.
    expect(await call(ctx, 'POST', '/api/worker/pool/grow/w1@host', { n: '1' })).toEqual({ status: 504, body: { error: "pool grow: worker 'w1@host' did not reply in time" } });
  });

  it('async-apply: the body is checked (args an array, kwargs an object, known options) and the task sent', async () => {
    const ctx = context();
    expect((await call(ctx, 'POST', '/api/task/async-apply/tasks.add', {}, { args: 'nope' })).status).toBe(400);
    const unknown = await call(ctx, 'POST', '/api/task/async-apply/tasks.add', {}, { options: { colour: 'red' } });
    expect(unknown).toEqual({ status: 400, body: { error: expect.stringMatching(/^options: .*colour.*\(known: countdown, eta/) } });
    const sent = await call(ctx, 'POST', '/api/task/async-apply/tasks.add', {}, { args: [1, 2], options: { queue: 'unit-q', task_id: 'my-id', countdown: 5 } });
    expect(sent).toEqual({ status: 200, body: { 'task-id': 'my-id', state: 'PENDING' } });
    expect(parseApplyBody({ kwargs: { x: 1 }, options: { routing_key: 'rk', soft_time_limit: 3 } })).toEqual({ args: [], options: { kwargs: { x: 1 }, routingKey: 'rk', softTimeLimit: 3 } });
    expect(parseApplyBody(undefined)).toEqual({ args: [], options: { kwargs: {} } });
  });

  it('task result: PENDING for an unknown id; a bad timeout is a 400', async () => {
    const ctx = context();
    expect(await call(ctx, 'GET', '/api/task/result/unknown-id')).toEqual({ status: 200, body: { 'task-id': 'unknown-id', state: 'PENDING', result: null } });
    expect((await call(ctx, 'GET', '/api/task/result/x', { timeout: 'soon' })).status).toBe(400);
  });
});

describe('routing and workers', () => {
  it('unknown paths are 404, a known path with another method 405', async () => {
    const ctx = context();
    expect(await call(ctx, 'GET', '/api/nothing')).toEqual({ status: 404, body: { error: 'no such endpoint: GET /api/nothing (see the API table in the README)' } });
    expect(await call(ctx, 'GET', '/api/task/revoke/id-1')).toEqual({ status: 405, body: { error: 'GET /api/task/revoke/id-1: use POST' } });
    expect((await call(ctx, 'GET', '/api/task/info/a/b')).status).toBe(404);
    expect((await call(ctx, 'GET', '/api/task/info/%E0%A4%A')).status).toBe(400);
  });

  it('workers: none reply here, so the list is empty and a named worker a 404; the overview shows the workers the events showed', async () => {
    const ctx = context();
    expect(await call(ctx, 'GET', '/api/workers')).toEqual({ status: 200, body: {} });
    expect((await call(ctx, 'GET', '/api/workers', { workername: 'w1@host', refresh: '1' })).status).toBe(404);
    expect((await call(ctx, 'GET', '/api/workers', { refresh: 'often' })).status).toBe(400);
    const overview = (await call(ctx, 'GET', '/api/overview')).body as { workers: { hostname: string; alive: boolean; queues: string[] }[]; counts: Record<string, number> };
    expect(overview.workers.map((w) => [w.hostname, w.alive, w.queues])).toEqual([['w1@host', true, []], ['w2@host', false, []]]);
    expect(overview.counts).toEqual({ SUCCESS: 1, FAILURE: 1, RECEIVED: 1 });
  });
});
