// Interop with Python Celery (Debian's 5.2.x) on RabbitMQ, both ways, with results through rpc:// and through
// Redis: Celery's for_add / for_subtract routing on a topic exchange, priorities (x-max-priority 10 declared
// identically by both sides), countdown and failures. Each describe has its own vhost and user (rabbitmqctl),
// deleted afterwards with everything in it. Fails (never skips) when Python Celery is missing.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, RemoteTaskError, type AsyncResult } from '../../src/index.js';
import { createTransport } from '../../src/transport/amqp/index.js';
import { createVhost, rabbitmqctl, type Vhost } from '../helpers/amqp.js';
import { until } from '../helpers/temp.js';
import { spawnCli, spawnProcess, type Spawned } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/redis.js';
import { cleanupRedis, INTEROP_APP, PY_DIR, PYTHON, pythonEnv, requirePythonCelery, runPythonProducer, stopProcess, type PyCall, type PyOutcome } from './helpers.js';

const GET = { timeout: 30_000 };
const CLOCK_SLACK = 0.02;
/** Celery's routing example on a topic exchange; the same list configures Python and celeriac. */
const QUEUES = [
  { name: 'for_add', exchange: 'arith', type: 'topic', routing_key: 'arith.add' },
  { name: 'for_subtract', exchange: 'arith', type: 'topic', routing_key: 'arith.subtract' },
  { name: 'celery', exchange: 'celery', type: 'direct', routing_key: 'celery' },
] as const;
const QUEUE_NAMES = QUEUES.map((q) => q.name).join(',');
const MAX_PRIORITY = 10;

async function startCeleriac(url: string, backend: string): Promise<Spawned> {
  const w = spawnCli(['worker', '-A', INTEROP_APP, '-Q', QUEUE_NAMES, '-c', '1', '-l', 'info', '--log-format', 'json', '-n', `amqp-${randomUUID().slice(0, 6)}@%h`], {
    CELERIAC_BROKER_URL: url,
    CELERIAC_RESULT_BACKEND: backend,
    CELERIAC_QUEUE_MAX_PRIORITY: String(MAX_PRIORITY),
    INTEROP_QUEUES: JSON.stringify(QUEUES),
  });
  await w.waitFor(/ ready\.\n/, 30_000).catch(async (err: unknown) => {
    await stopProcess(w, 2_000);
    throw err;
  });
  return w;
}

async function startPython(url: string, backend: string): Promise<Spawned> {
  const w = spawnProcess(
    PYTHON,
    ['-m', 'celery', '-A', 'interop_app', 'worker', '-P', 'solo', '-Q', QUEUE_NAMES, '-l', 'info', '-n', `py-${randomUUID().slice(0, 6)}@%h`, '--without-gossip', '--without-mingle', '--without-heartbeat'],
    pythonEnv({ INTEROP_BROKER: url, INTEROP_BACKEND: backend, INTEROP_QUEUES: JSON.stringify(QUEUES), INTEROP_MAX_PRIORITY: String(MAX_PRIORITY) }),
    PY_DIR,
  );
  await w.waitFor(/ ready\.\s*$/m, 45_000).catch(async (err: unknown) => {
    await stopProcess(w, 2_000);
    throw err;
  });
  return w;
}

/** What RabbitMQ holds for the queues both sides declared: durable, auto_delete, arguments. */
async function declaredQueues(vhost: Vhost): Promise<Record<string, string>> {
  const out = await rabbitmqctl('list_queues', '-p', vhost.name, 'name', 'durable', 'auto_delete', 'arguments');
  const rows = out.trim().split('\n').slice(1).map((l) => l.split('\t'));
  return Object.fromEntries(rows.filter((r) => QUEUES.some((q) => q.name === r[0])).map((r) => [r[0] as string, r.slice(1).join(' ')]));
}

const EXPECTED_QUEUES = Object.fromEntries(QUEUES.map((q) => [q.name, `true false [{"x-max-priority",${MAX_PRIORITY}}]`]));

beforeAll(() => requirePythonCelery());

for (const results of ['rpc://', REDIS_URL] as const) {
  const label = results === 'rpc://' ? 'rpc://' : 'redis';

  describe(`Python producer -> celeriac worker (amqp, results ${label})`, () => {
    let vhost: Vhost;
    let worker: Spawned | undefined;
    const taskIds = new Set<string>();
    const run = async (calls: PyCall[], collect: string[] = []): Promise<{ calls: PyOutcome[]; collect: PyOutcome[] }> => {
      const out = await runPythonProducer(vhost.url, { backend: results, queues: QUEUES, max_priority: MAX_PRIORITY, calls, collect } as Parameters<typeof runPythonProducer>[1]);
      for (const o of out.calls) taskIds.add(o.id);
      return out;
    };
    let queuedFirst: PyOutcome[] = [];

    beforeAll(async () => {
      vhost = await createVhost();
      // Python declares first here; celeriac's worker then declares the same queues without PRECONDITION_FAILED.
      queuedFirst = (await run([0, 3, 9, 6].map((p) => ({ task: 'interop.seq', args: [`p${p}`], options: { queue: 'celery', priority: p }, wait: false })))).calls;
      // Python publishes without confirms: on a busy machine RabbitMQ may still be taking them in when the
      // producer exits. The priority order only applies to what is waiting, so wait for all four.
      const probe = createTransport(vhost.url, {});
      try {
        await until(async () => (await probe.queueInfo('celery')).messages === 4, 30_000, 50);
      } finally {
        await probe.close();
      }
      worker = await startCeleriac(vhost.url, results);
    }, 120_000);

    afterAll(async () => {
      if (process.env['INTEROP_DEBUG']) console.log(worker?.output());
      await stopProcess(worker);
      await vhost?.remove();
      if (results !== 'rpc://') await cleanupRedis(REDIS_URL, { queues: [], taskIds });
    }, 60_000);

    it('both sides declare the same queues: durable, not auto-delete, x-max-priority only as configured', async () => {
      expect(await declaredQueues(vhost)).toEqual(EXPECTED_QUEUES);
    });

    it('for_add / for_subtract over the topic exchange, every JSON type, countdown', async () => {
      const { calls } = await run([
        { task: 'interop.add', args: [2, 3], options: { queue: 'for_add' } },
        { task: 'interop.subtract', args: [10, 4], options: { queue: 'for_subtract' }, via: 'apply_async' },
        { task: 'interop.echo', args: [0, -1, 2.5, 'ü 日本語 🎉', true, null, [1, [2]], { a: { b: null } }], kwargs: { k: 'v' } },
        { task: 'interop.now', options: { countdown: 2 } },
      ]);
      const [add, sub, echo, later] = calls as [PyOutcome, PyOutcome, PyOutcome, PyOutcome];
      expect(add).toMatchObject({ ok: true, state: 'SUCCESS', result: 5 });
      expect(sub).toMatchObject({ ok: true, state: 'SUCCESS', result: 6 });
      expect(echo.result).toEqual([0, -1, 2.5, 'ü 日本語 🎉', true, null, [1, [2]], { a: { b: null } }, { k: 'v' }]);
      expect(later.result as number).toBeGreaterThanOrEqual(later.sent_at + 2 - CLOCK_SLACK);
    }, 90_000);

    it('a task that throws: Python sees ValueError with the message', async () => {
      const { calls } = await run([{ task: 'interop.fail', args: ['ValueError', 'bad value 7'] }]);
      expect(calls[0]).toMatchObject({ ok: false, state: 'FAILURE', exc_type: 'ValueError', exc_str: 'bad value 7' });
    }, 60_000);

    it('priorities: messages queued before the worker started run 9, 6, 3, 0 (RabbitMQ order)', async () => {
      if (results === 'rpc://') {
        // rpc:// results reach only the process that sent the task (that producer has exited): check the run order
        // through a task sent now, which runs after the four.
        const { calls } = await run([{ task: 'interop.seq', args: ['after'], options: { queue: 'celery' } }]);
        expect(calls[0]?.result).toEqual(['after', 5]);
        return;
      }
      const { collect } = await run([], queuedFirst.map((o) => o.id));
      expect(collect.map((o) => o.result)).toEqual([['p0', 4], ['p3', 3], ['p9', 1], ['p6', 2]]);
    }, 60_000);
  });

  describe(`celeriac producer -> Python worker (amqp, results ${label})`, () => {
    let vhost: Vhost;
    let worker: Spawned | undefined;
    let app: Celeriac;
    const sent: AsyncResult[] = [];
    const queued: AsyncResult<[string, number]>[] = [];

    beforeAll(async () => {
      vhost = await createVhost();
      app = new Celeriac('interop-amqp', {
        broker: vhost.url,
        backend: results,
        queueMaxPriority: MAX_PRIORITY,
        queues: QUEUES.map((q) => ({ name: q.name, exchange: { name: q.exchange, type: q.type }, routingKey: q.routing_key })),
      });
      // celeriac declares first here; the Python worker then declares the same queues.
      for (const p of [0, 3, 9, 6]) queued.push(await app.sendTask<[string, number]>('interop.seq', [`p${p}`], { queue: 'celery', priority: p }));
      worker = await startPython(vhost.url, results);
    }, 120_000);

    afterAll(async () => {
      if (process.env['INTEROP_DEBUG']) console.log(worker?.output());
      await app?.close();
      await stopProcess(worker);
      await vhost?.remove();
      if (results !== 'rpc://') await cleanupRedis(REDIS_URL, { queues: [], taskIds: [...sent, ...queued].map((r) => r.id) });
    }, 60_000);

    it('both sides declare the same queues', async () => {
      expect(await declaredQueues(vhost)).toEqual(EXPECTED_QUEUES);
    });

    it('priorities: the Python worker takes queued messages 9, 6, 3, 0', async () => {
      const got = await Promise.all(queued.map((r) => r.get(GET)));
      expect(got).toEqual([['p0', 4], ['p3', 3], ['p9', 1], ['p6', 2]]);
    }, 60_000);

    it('for_add / for_subtract through the topic exchange, and a countdown', async () => {
      const add = await app.sendTask<number>('interop.add', [2, 3], { queue: 'for_add' });
      const sub = await app.sendTask<number>('interop.subtract', [10, 4], { queue: 'for_subtract' });
      const t0 = Date.now() / 1000;
      const later = await app.sendTask<number>('interop.now', [], { countdown: 2 });
      sent.push(add, sub, later);
      expect(await add.get(GET)).toBe(5);
      expect(await sub.get(GET)).toBe(6);
      expect(await later.get(GET)).toBeGreaterThanOrEqual(t0 + 2 - CLOCK_SLACK);
    }, 60_000);

    it("a Python task raising ValueError('boom'): RemoteTaskError", async () => {
      const r = await app.sendTask('interop.fail');
      sent.push(r);
      const error = await r.get(GET).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteTaskError);
      expect((error as RemoteTaskError).excType).toBe('ValueError');
      expect((error as Error).message).toContain('boom');
    }, 60_000);
  });
}
