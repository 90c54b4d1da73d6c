// Interop with Python Celery (Debian's 5.2.x) on Redis, both ways: a Python producer with a celeriac worker,
// and a celeriac producer with a Python worker. Same broker lists, same result keys, no key prefix.
// Fails (never skips) when Python Celery is missing: CI installs python3-celery python3-redis python3-amqp.
// CELERIAC_TEST_PYTHON overrides the interpreter (default /usr/bin/python3); INTEROP_DEBUG=1 prints the
// workers' logs. Every queue, process and key is this file's own, and is removed afterwards.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, NotRegisteredError, RemoteTaskError, TaskRevokedError, type AsyncResult } from '../../src/index.js';
import type { Spawned } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/redis.js';
import { cleanupRedis, queueLists, requirePythonCelery, runPythonProducer, startCeleriacWorker, startPythonWorker, stopProcess, type PyOutcome } from './helpers.js';

/** Timer granularity between two clocks of one machine (ms-precision ETAs, timers firing a hair early). */
const CLOCK_SLACK = 0.02;
const GET = { timeout: 30_000 };

/** Every JSON type, with unicode and both quote kinds; floats that are not integers stay floats in Python. */
const JSON_ARGS: unknown[] = [
  0, -1, 42, 9007199254740991, 2.5, -0.125, 1e-7, 1.5e300,
  '', 'plain', 'unicode: ü é 日本語 🎉 \u2028', 'quotes: "double" \'single\' `back` \\ backslash', 'new\nline\ttab',
  true, false, null,
  [], {}, [1, [2, [3, [null]]]], { a: { b: [1, { c: null, d: 'ü' }] }, 'key with "quotes"': ['x'] },
];
const JSON_KWARGS: Record<string, unknown> = {
  k: 'v', n: null, t: true, f: false, i: -7, x: 0.1, l: [1, 2.75, 'three'], o: { nested: { deeper: [{}] } }, ключ: 'значение 🎉',
};

async function rawRecord(id: string): Promise<Record<string, unknown> | null> {
  const redis = new Redis(REDIS_URL);
  try {
    const text = await redis.get(`celery-task-meta-${id}`);
    return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
  } finally {
    redis.disconnect();
  }
}

beforeAll(() => {
  requirePythonCelery();
});

describe('Python producer -> celeriac worker (redis)', () => {
  const queue = `interop-py2ts-${randomUUID()}`;
  const taskIds = new Set<string>();
  let worker: Spawned | undefined;
  /** Sent before the worker started: priorities 9, 6, 3, 0 (in that order). */
  let priorityIds: string[] = [];

  const run = async (calls: Parameters<typeof runPythonProducer>[1]['calls'], collect: string[] = []): Promise<{ calls: PyOutcome[]; collect: PyOutcome[] }> => {
    const out = await runPythonProducer(REDIS_URL, { calls: calls?.map((c) => ({ ...c, options: { queue, ...c.options } })), collect });
    for (const o of out.calls) taskIds.add(o.id);
    return out;
  };

  beforeAll(async () => {
    // Queued while no worker runs, so the worker takes them in kombu's priority order (lower step first).
    const sent = await run([9, 6, 3, 0].map((p) => ({ task: 'interop.seq', args: [`p${p}`], options: { priority: p }, wait: false })));
    priorityIds = sent.calls.map((o) => o.id);
    const redis = new Redis(REDIS_URL);
    try {
      const lengths = await Promise.all(queueLists(queue).map((l) => redis.llen(l)));
      // kombu's layout: one message in each of <q>, <q>\x06\x163, <q>\x06\x166, <q>\x06\x169.
      expect(lengths).toEqual([1, 1, 1, 1]);
    } finally {
      redis.disconnect();
    }
    worker = await startCeleriacWorker(REDIS_URL, queue, ['-c', '1', '-n', `py2ts-${queue.slice(-8)}@%h`]);
  }, 60_000);

  afterAll(async () => {
    if (process.env['INTEROP_DEBUG']) console.log(worker?.output());
    await stopProcess(worker);
    const left = await cleanupRedis(REDIS_URL, { queues: [queue], taskIds });
    expect(left.unacked, 'unacked entries left behind by the celeriac worker').toEqual([]);
  }, 30_000);

  it('args and kwargs of every JSON type arrive intact (send_task and apply_async)', async () => {
    const { calls } = await run([
      { task: 'interop.echo', args: JSON_ARGS, kwargs: JSON_KWARGS },
      { task: 'interop.echo', args: JSON_ARGS, via: 'apply_async' },
      { task: 'interop.describe', args: [1], kwargs: { c: 'three', b: { two: 2 } } },
      { task: 'interop.describe', kwargs: { a: 'x', b: null, c: [3] }, via: 'apply_async' },
      { task: 'interop.greet', kwargs: { greeting: 'grüß dich', name: 'Zoë "Z"' } },
      { task: 'interop.greet', args: ['Ana'] },
    ]);
    for (const o of calls) expect(o, JSON.stringify(o)).toMatchObject({ ok: true, state: 'SUCCESS' });
    // Kwargs that match no parameter name (rest parameters) arrive as one trailing object.
    expect(calls[0]?.result).toEqual([...JSON_ARGS, JSON_KWARGS]);
    expect(calls[1]?.result).toEqual(JSON_ARGS);
    expect(calls[2]?.result).toEqual([1, { two: 2 }, 'three']);
    expect(calls[3]?.result).toEqual(['x', null, [3]]);
    expect(calls[4]?.result).toBe('grüß dich, Zoë "Z"');
    expect(calls[5]?.result).toBe('hello, Ana');
    // The record is Celery's: same keys in the same order, naive UTC date_done.
    const record = await rawRecord(calls[2]?.id ?? '');
    expect(Object.keys(record ?? {})).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(record).toMatchObject({ status: 'SUCCESS', traceback: null, children: [], task_id: calls[2]?.id });
    expect(record?.['date_done']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  }, 40_000);

  it('countdown and eta: the task does not run before its time', async () => {
    const { calls } = await run([
      { task: 'interop.now', options: { countdown: 2 } },
      { task: 'interop.now', eta_in: 2.5 },
    ]);
    const [countdown, eta] = calls as [PyOutcome, PyOutcome];
    expect(countdown).toMatchObject({ ok: true, state: 'SUCCESS' });
    expect(eta).toMatchObject({ ok: true, state: 'SUCCESS' });
    expect(countdown.result as number).toBeGreaterThanOrEqual(countdown.sent_at + 2 - CLOCK_SLACK);
    expect(eta.result as number).toBeGreaterThanOrEqual((eta.eta as number) - CLOCK_SLACK);
  }, 40_000);

  it('expires in the past: REVOKED, and Python raises TaskRevokedError; a future expiry runs', async () => {
    const { calls } = await run([
      { task: 'interop.now', options: { expires: -10 } },
      { task: 'interop.now', expires_at_in: -60 },
      { task: 'interop.now', options: { expires: 120 } },
    ]);
    for (const o of calls.slice(0, 2)) {
      expect(o, JSON.stringify(o)).toMatchObject({ ok: false, state: 'REVOKED', exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions' });
      expect(o.exc_args).toEqual(['expired']);
    }
    expect(calls[2]).toMatchObject({ ok: true, state: 'SUCCESS' });
    expect(await rawRecord(calls[0]?.id ?? '')).toMatchObject({
      status: 'REVOKED',
      result: { exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' },
    });
  }, 40_000);

  it('priority: queued messages run lower step first, as a Python worker on Redis would take them', async () => {
    const { collect, calls } = await run([{ task: 'interop.seq', args: ['live-p9'], options: { priority: 9 } }], priorityIds);
    for (const o of collect) expect(o, JSON.stringify(o)).toMatchObject({ ok: true, state: 'SUCCESS' });
    const order = collect.map((o) => o.result as [string, number]).sort((a, b) => a[1] - b[1]).map(([tag]) => tag);
    expect(order).toEqual(['p0', 'p3', 'p6', 'p9']);
    expect(calls[0]).toMatchObject({ ok: true, result: ['live-p9', expect.any(Number)] });
  }, 40_000);

  it('a task that throws: Python sees the exception type name and message', async () => {
    const message = 'bad "value" \'here\' ü 🎉';
    const { calls } = await run([
      { task: 'interop.fail', args: ['ValueError', message] },
      { task: 'interop.fail', args: ['RangeError', 'out of range: 7'] },
    ]);
    const [valueError, rangeError] = calls as [PyOutcome, PyOutcome];
    // A builtins name comes back as Python's own class.
    expect(valueError).toMatchObject({ ok: false, state: 'FAILURE', exc_type: 'ValueError', exc_module: 'builtins', exc_args: [message], exc_str: message });
    expect(valueError.exc_mro).toContain('ValueError');
    // A JS-only name becomes an exception class of that name.
    expect(rangeError).toMatchObject({ ok: false, state: 'FAILURE', exc_type: 'RangeError', exc_args: ['out of range: 7'], exc_str: 'out of range: 7' });
    const record = await rawRecord(valueError.id);
    expect(Object.keys(record ?? {})).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(record?.['result']).toEqual({ exc_type: 'ValueError', exc_message: [message], exc_module: 'builtins' });
    expect(typeof record?.['traceback']).toBe('string');
  }, 40_000);

  it('time limits sent by Python ([hard, soft] header): soft aborts the task signal, hard fails with billiard TimeLimitExceeded', async () => {
    const { calls } = await run([
      { task: 'interop.soft_wait', options: { soft_time_limit: 0.3, time_limit: 20 } },
      { task: 'interop.hang', options: { time_limit: 0.5 } },
    ]);
    const [soft, hard] = calls as [PyOutcome, PyOutcome];
    expect(soft).toMatchObject({ ok: true, state: 'SUCCESS', result: 'SoftTimeLimitExceeded' });
    expect(hard).toMatchObject({ ok: false, state: 'FAILURE', exc_type: 'TimeLimitExceeded', exc_module: 'billiard.exceptions' });
  }, 40_000);

  it('a celeriac task that retries once (task.retry()) and then succeeds: Python gets the final result', async () => {
    const { calls } = await run([{ task: 'interop.retry_once', args: [] }]);
    expect(calls[0]).toMatchObject({ ok: true, state: 'SUCCESS', result: 'retried 1' });
  }, 40_000);

  it('a task name celeriac does not know: FAILURE with NotRegistered, as a Python worker records it', async () => {
    const { calls } = await run([{ task: 'interop.no_such_task', args: [1], kwargs: { a: 1 } }]);
    expect(calls[0]).toMatchObject({ ok: false, state: 'FAILURE', exc_type: 'NotRegistered', exc_module: 'celery.exceptions', exc_args: ['interop.no_such_task'] });
    expect((await rawRecord(calls[0]?.id ?? ''))?.['result']).toEqual({ exc_type: 'NotRegistered', exc_message: ['interop.no_such_task'], exc_module: 'celery.exceptions' });
  }, 40_000);
});

describe('celeriac producer -> Python worker (redis)', () => {
  const queue = `interop-ts2py-${randomUUID()}`;
  const nodeName = `ts2py-${queue.slice(-12)}@interop`;
  const taskIds = new Set<string>();
  let worker: Spawned | undefined;
  let app: Celeriac;
  /** Sent before the worker started: priorities 9, 6, 3, 0 (in that order). */
  const priority: AsyncResult<[string, number]>[] = [];

  const track = <T>(r: AsyncResult<T>): AsyncResult<T> => {
    taskIds.add(r.id);
    return r;
  };
  const send = async <R = unknown>(name: string, args: unknown[] = [], options: Parameters<Celeriac['sendTask']>[2] = {}): Promise<AsyncResult<R>> =>
    track(await app.sendTask<R>(name, args, { queue, ...options }));

  beforeAll(async () => {
    app = new Celeriac('interop-producer', { broker: REDIS_URL, backend: REDIS_URL });
    for (const p of [9, 6, 3, 0]) priority.push(await send<[string, number]>('interop.seq', [`p${p}`], { priority: p }));
    worker = await startPythonWorker(REDIS_URL, queue, nodeName);
  }, 60_000);

  afterAll(async () => {
    if (process.env['INTEROP_DEBUG']) console.log(worker?.output());
    await stopProcess(worker);
    await app?.close();
    const left = await cleanupRedis(REDIS_URL, { queues: [queue], taskIds, nodeNames: [nodeName] });
    expect(left.unacked, 'unacked entries left behind by the Python worker').toEqual([]);
  }, 30_000);

  it('args and kwargs of every JSON type round-trip through a Python task', async () => {
    const r = await send('interop.echo', JSON_ARGS, { kwargs: JSON_KWARGS });
    expect(await r.get(GET)).toEqual({ args: JSON_ARGS, kwargs: JSON_KWARGS });
    const bare = await send('interop.echo', ['only', 'args']);
    expect(await bare.get(GET)).toEqual({ args: ['only', 'args'], kwargs: {} });
  }, 40_000);

  it('a typed task with a queue option, and kwargs passed by name', async () => {
    const add = app.task('interop.add', (x: number, y: number): number => x + y, { queue });
    const sum = track(await add.delay(2, 3));
    const described = await send('interop.describe', [1], { kwargs: { c: 'three' } });
    const named = await send('interop.describe', [], { kwargs: { b: [2], a: { one: 1 } } });
    const sum2 = track(await add.applyAsync([0.5, 0.25]));
    expect(await sum.get(GET)).toBe(5);
    expect(await sum2.get(GET)).toBe(0.75);
    expect(await described.get(GET)).toEqual([1, 'b-default', 'three']);
    expect(await named.get(GET)).toEqual([{ one: 1 }, [2], 'c-default']);
  }, 40_000);

  it('countdown and eta: the Python worker does not run it before its time', async () => {
    const t0 = Date.now() / 1000;
    const countdown = await send<number>('interop.now', [], { countdown: 2 });
    const eta = new Date(Date.now() + 2500);
    const atEta = await send<number>('interop.now', [], { eta });
    expect(await countdown.get(GET)).toBeGreaterThanOrEqual(t0 + 2 - CLOCK_SLACK);
    expect(await atEta.get(GET)).toBeGreaterThanOrEqual(eta.getTime() / 1000 - CLOCK_SLACK);
  }, 40_000);

  it('expires in the past: the Python worker records REVOKED and get() throws TaskRevokedError', async () => {
    const past = await send('interop.now', [], { expires: -10 });
    const pastDate = await send('interop.now', [], { expires: new Date(Date.now() - 60_000) });
    const future = await send<number>('interop.now', [], { expires: 120 });
    for (const r of [past, pastDate]) {
      await expect(r.get(GET)).rejects.toBeInstanceOf(TaskRevokedError);
      expect(await r.state()).toBe('REVOKED');
      expect(await r.info()).toEqual({ exc_type: 'TaskRevokedError', exc_message: ['expired'], exc_module: 'celery.exceptions' });
    }
    expect(typeof (await future.get(GET))).toBe('number');
  }, 40_000);

  it('priority: the Python worker takes queued messages lower step first', async () => {
    const results = await Promise.all(priority.map((r) => r.get(GET)));
    const order = [...results].sort((a, b) => a[1] - b[1]).map(([tag]) => tag);
    expect(order).toEqual(['p0', 'p3', 'p6', 'p9']);
    const live = await send<[string, number]>('interop.seq', ['live-p9'], { priority: 9 });
    expect((await live.get(GET))[0]).toBe('live-p9');
  }, 40_000);

  it("a Python task raising ValueError('boom'): RemoteTaskError with the type and message", async () => {
    const r = await send('interop.fail');
    const error = await r.get({ ...GET, propagate: false });
    expect(error).toBeInstanceOf(RemoteTaskError);
    const remote = error as RemoteTaskError;
    expect(remote.excType).toBe('ValueError');
    expect(remote.excMessage).toBe('boom');
    expect(remote.excModule).toBe('builtins');
    expect(remote.remoteTraceback).toContain('ValueError: boom');
    await expect(r.get(GET)).rejects.toThrow('ValueError: boom');
    expect(await r.state()).toBe('FAILURE');
  }, 40_000);

  it('a Python task that retries once (self.retry(countdown=0)) and then succeeds', async () => {
    const r = await send<string>('interop.retry_once');
    expect(await r.get(GET)).toBe('retried 1');
    const meta = await r.meta();
    expect(meta.status).toBe('SUCCESS');
  }, 40_000);

  it('a task name the Python worker does not know: NotRegisteredError', async () => {
    const r = await send('interop.no_such_task', [1], { kwargs: { a: 1 } });
    const error = await r.get({ ...GET, propagate: false });
    expect(error).toBeInstanceOf(NotRegisteredError);
    expect((error as NotRegisteredError).taskName).toBe('interop.no_such_task');
  }, 40_000);
});
