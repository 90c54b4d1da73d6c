// Remote control interop with Python Celery (Debian's 5.2.x) on Redis and on RabbitMQ, both ways: Python's
// `celery inspect` and `celery control` against a celeriac worker, and `celeriac inspect` / `control` / `status`
// against a Python worker. Every command names its node (-d), so other workers on the shared Redis never
// answer; on RabbitMQ each describe has a vhost and user of its own (results through rpc://).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVhost, rabbitmqctl } from '../helpers/amqp.js';
import { CLI, ROOT, type Spawned } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/redis.js';
import { spawnProcess } from '../helpers/processes.js';
import { celeryJson, cleanupRedis, PY_DIR, PYTHON, pythonEnv, requirePythonCelery, runProcess, startCeleriacWorker, startPythonWorker, stopProcess } from './helpers.js';

/** Where one describe runs: a broker URL, a result backend, and how to remove what the describe made. */
interface Place {
  url: string;
  backend: string;
  /** Names the vhost on RabbitMQ (for rabbitmqctl), undefined on Redis. */
  vhost: string | undefined;
  cleanup(what: { queues: string[]; nodeNames: string[]; revoked: string[] }): Promise<void>;
}

const BROKERS: Record<'redis' | 'amqp', () => Promise<Place>> = {
  redis: () =>
    Promise.resolve({
      url: REDIS_URL,
      backend: REDIS_URL,
      vhost: undefined,
      cleanup: async ({ queues, nodeNames, revoked }) => {
        await forgetRevoked(revoked);
        await cleanupRedis(REDIS_URL, { queues, taskIds: [], nodeNames });
      },
    }),
  amqp: async () => {
    const v = await createVhost();
    return { url: v.url, backend: 'rpc://', vhost: v.name, cleanup: () => v.remove() };
  },
};

/** `celery -A interop_app <args> -d <node> -t 5 --json`, parsed; a null node broadcasts (only in a vhost of our own). */
const celery = (place: Place, args: string[], node: string | null): Promise<unknown> => celeryJson(place, args, node);

/** `celeriac <args> -d <node> -t 5 --json`, parsed; a null node broadcasts (only in a vhost of our own). */
async function celeriac(place: Place, args: string[], node: string | null): Promise<{ code: number | null; json: unknown }> {
  const r = await runProcess(process.execPath, [CLI, ...args, ...(node ? ['-d', node] : []), '-t', '5', '--json'], { ...process.env, CELERIAC_BROKER_URL: place.url, CELERIAC_RESULT_BACKEND: place.backend }, ROOT);
  try {
    return { code: r.code, json: JSON.parse(r.stdout) as unknown };
  } catch {
    throw new Error(`celeriac ${args.join(' ')} printed no JSON (exit ${String(r.code)}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** Removes ids this file revoked from celeriac's shared revoked set (3-hour expiry otherwise). */
async function forgetRevoked(ids: string[]): Promise<void> {
  if (!ids.length) return;
  const redis = new Redis(REDIS_URL);
  try {
    await redis.zrem('celeriac-revoked', ...ids);
  } finally {
    redis.disconnect();
  }
}

/** The pidbox exchanges and a node's queue as RabbitMQ holds them: what both sides must declare alike. */
async function pidboxTopology(vhost: string, node: string): Promise<string[]> {
  const exchanges = (await rabbitmqctl('list_exchanges', '-p', vhost, 'name', 'type', 'durable', 'auto_delete')).split('\n').filter((l) => /pidbox\t/.test(l));
  const queues = (await rabbitmqctl('list_queues', '-p', vhost, 'name', 'durable', 'auto_delete', 'arguments')).split('\n').filter((l) => l.startsWith(`${node}.celery.pidbox\t`));
  return [...exchanges.sort(), ...queues];
}

/** What Python Celery 5.2.6 declares (captured with rabbitmqctl while a Python worker ran). */
const PIDBOX_TOPOLOGY = (node: string): string[] => [
  'celery.pidbox\tfanout\tfalse\tfalse',
  'reply.celery.pidbox\tdirect\tfalse\tfalse',
  `${node}.celery.pidbox\tfalse\ttrue\t[{"x-expires",10000},{"x-message-ttl",300000}]`,
];

beforeAll(() => {
  requirePythonCelery();
});

for (const broker of ['redis', 'amqp'] as const) {
  describe(`Python celery inspect/control -> celeriac worker (${broker})`, () => {
    const queue = `interop-ctl-ts-${randomUUID()}`;
    const node = `ctl-ts-${queue.slice(-8)}@interop`;
    const revoked = [randomUUID()];
    const added = `${queue}-added`;
    let place: Place;
    let worker: Spawned | undefined;

    beforeAll(async () => {
      place = await BROKERS[broker]();
      worker = await startCeleriacWorker(place.url, queue, ['-c', '2', '-n', node], place.backend);
    }, 60_000);

    afterAll(async () => {
      await stopProcess(worker);
      await place?.cleanup({ queues: [queue, added], nodeNames: [node], revoked });
    }, 60_000);

    it('inspect ping, registered, active, stats list the celeriac worker', async () => {
      expect(await celery(place, ['inspect', 'ping'], node)).toEqual({ [node]: { ok: 'pong' } });
      const registered = (await celery(place, ['inspect', 'registered'], node)) as Record<string, string[]>;
      expect(registered[node]).toEqual(expect.arrayContaining(['interop.add', 'interop.echo', 'interop.seq']));
      expect(await celery(place, ['inspect', 'active'], node)).toEqual({ [node]: [] });
      const stats = (await celery(place, ['inspect', 'stats'], node)) as Record<string, Record<string, unknown>>;
      expect(stats[node]?.['pool']).toMatchObject({ 'max-concurrency': 2 });
      expect(typeof stats[node]?.['pid']).toBe('number');
      const queues = (await celery(place, ['inspect', 'active_queues'], node)) as Record<string, { name: string }[]>;
      expect(queues[node]?.map((q) => q.name)).toEqual([queue]);
      if (place.vhost) expect(await pidboxTopology(place.vhost, node)).toEqual(PIDBOX_TOPOLOGY(node));
    }, 120_000);

    it('control revoke, rate_limit and add_consumer act on it', async () => {
      const [id] = revoked as [string];
      expect(await celery(place, ['control', 'revoke', id], node)).toEqual([{ [node]: { ok: `tasks ${id} flagged as revoked` } }]);
      // Contains, not equals: a worker loads the revoked ids kept in the shared Redis at start, and another
      // run of this suite on the same Redis may have revoked some a moment ago.
      expect(await celery(place, ['inspect', 'revoked'], node)).toEqual({ [node]: expect.arrayContaining([id]) as unknown });
      expect(await celery(place, ['control', 'rate_limit', 'interop.add', '10/m'], node)).toEqual([{ [node]: { ok: 'new rate limit set successfully' } }]);
      expect(await celery(place, ['inspect', 'registered', 'rate_limit'], node)).toMatchObject({ [node]: expect.arrayContaining(['interop.add [rate_limit=10/m]']) });
      expect(await celery(place, ['control', 'add_consumer', added], node)).toEqual([{ [node]: { ok: `add consumer ${added}` } }]);
      const queues = (await celery(place, ['inspect', 'active_queues'], node)) as Record<string, { name: string }[]>;
      expect(queues[node]?.map((q) => q.name).sort()).toEqual([queue, added].sort());
    }, 120_000);

    it('control shutdown stops it', async () => {
      expect(await celery(place, ['control', 'shutdown'], node)).toEqual([{ [node]: { ok: 'shutting down' } }]);
      expect(await worker?.exited).toBe(0);
    }, 60_000);
  });

  describe(`celeriac inspect/control/status -> Python worker (${broker})`, () => {
    const queue = `interop-ctl-py-${randomUUID()}`;
    const node = `ctl-py-${queue.slice(-8)}@interop`;
    const added = `${queue}-added`;
    const revoked = [randomUUID()];
    let place: Place;
    let worker: Spawned | undefined;

    beforeAll(async () => {
      place = await BROKERS[broker]();
      worker = await startPythonWorker(place.url, queue, node, place.backend);
    }, 60_000);

    afterAll(async () => {
      await stopProcess(worker);
      await place?.cleanup({ queues: [queue, added], nodeNames: [node], revoked });
    }, 60_000);

    it('inspect ping, registered, active_queues, stats and status reach it', async () => {
      expect(await celeriac(place, ['inspect', 'ping'], node)).toEqual({ code: 0, json: { [node]: { ok: 'pong' } } });
      const registered = (await celeriac(place, ['inspect', 'registered'], node)).json as Record<string, string[]>;
      expect(registered[node]).toEqual(expect.arrayContaining(['interop.add', 'interop.echo']));
      const queues = (await celeriac(place, ['inspect', 'active_queues'], node)).json as Record<string, { name: string }[]>;
      expect(queues[node]?.map((q) => q.name)).toEqual([queue]);
      const stats = (await celeriac(place, ['inspect', 'stats'], node)).json as Record<string, Record<string, unknown>>;
      expect(stats[node]?.['pool']).toMatchObject({ 'max-concurrency': 1 });
      expect(await celeriac(place, ['status'], node)).toEqual({ code: 0, json: [node] });
      if (place.vhost) expect(await pidboxTopology(place.vhost, node)).toEqual(PIDBOX_TOPOLOGY(node));
    }, 120_000);

    it('control rate_limit, revoke, add_consumer act on it', async () => {
      expect((await celeriac(place, ['control', 'rate_limit', 'interop.add', '10/m'], node)).json).toEqual([{ [node]: { ok: 'new rate limit set successfully' } }]);
      expect((await celeriac(place, ['inspect', 'registered', 'rate_limit'], node)).json).toMatchObject({ [node]: expect.arrayContaining(['interop.add [rate_limit=10/m]']) });
      const [id] = revoked as [string];
      expect((await celeriac(place, ['control', 'revoke', id], node)).json).toEqual([{ [node]: { ok: `tasks ${id} flagged as revoked` } }]);
      expect((await celeriac(place, ['inspect', 'revoked'], node)).json).toEqual({ [node]: [id] });
      expect((await celeriac(place, ['control', 'add_consumer', added], node)).json).toEqual([{ [node]: { ok: `add consumer ${added}` } }]);
      const queues = (await celeriac(place, ['inspect', 'active_queues'], node)).json as Record<string, { name: string }[]>;
      expect(queues[node]?.map((q) => q.name).sort()).toEqual([queue, added].sort());
    }, 120_000);

    it('control shutdown stops it', async () => {
      await celeriac(place, ['control', 'shutdown'], node);
      await worker?.exited;
      expect(worker?.child.exitCode ?? worker?.child.signalCode).not.toBeNull();
    }, 60_000);
  });

  describe(`mingle and a mixed fleet: a Python worker starting up learns the revoked ids of a celeriac worker (${broker})`, () => {
    const queue = `interop-ctl-mingle-${randomUUID()}`;
    const tsNode = `ctl-mingle-ts-${queue.slice(-8)}@interop`;
    const pyNode = `ctl-mingle-py-${queue.slice(-8)}@interop`;
    const revoked = [randomUUID()];
    const started: Spawned[] = [];
    let place: Place | undefined;

    afterAll(async () => {
      for (const p of started) await stopProcess(p);
      await place?.cleanup({ queues: [queue], nodeNames: [tsNode, pyNode], revoked });
    }, 60_000);

    it('hello is answered in Celery\'s LimitedSet layout; both workers answer both CLIs', async () => {
      place = await BROKERS[broker]();
      started.push(await startCeleriacWorker(place.url, queue, ['-n', tsNode], place.backend));
      const [id] = revoked as [string];
      expect((await celeriac(place, ['control', 'revoke', id], tsNode)).json).toEqual([{ [tsNode]: { ok: `tasks ${id} flagged as revoked` } }]);
      // With mingle (no --without-mingle): the Python worker says hello to every node at start-up.
      const py = spawnProcess(
        PYTHON,
        ['-m', 'celery', '-A', 'interop_app', 'worker', '-P', 'solo', '-Q', queue, '-l', 'info', '-n', pyNode, '--without-gossip', '--without-heartbeat'],
        pythonEnv({ INTEROP_BROKER: place.url, INTEROP_BACKEND: place.backend, INTEROP_QUEUE: queue }),
        PY_DIR,
      );
      started.push(py);
      await py.waitFor(/ ready\.\s*$/m, 45_000);
      expect(py.output()).toMatch(/mingle: sync with [1-9]\d* nodes?/);
      expect(py.output()).not.toMatch(/Expecting float timestamp|Traceback/);
      const seen = (await celery(place, ['inspect', 'revoked'], pyNode)) as Record<string, string[]>;
      expect(seen[pyNode]).toContain(id);
      // A mixed fleet: both kinds of worker answer both kinds of client (a broadcast where the vhost is ours alone).
      const both = place.vhost ? null : `${tsNode},${pyNode}`;
      expect(await celery(place, ['inspect', 'ping'], both)).toEqual({ [tsNode]: { ok: 'pong' }, [pyNode]: { ok: 'pong' } });
      const status = await celeriac(place, ['status'], both);
      expect(status.code).toBe(0);
      expect((status.json as string[]).sort()).toEqual([tsNode, pyNode].sort());
    }, 120_000);
  });

  describe(`election in a mixed fleet: Python's gossip acks a celeriac worker's election (${broker})`, () => {
    const queue = `interop-ctl-elect-${randomUUID()}`;
    const tsNode = `ctl-elect-ts-${queue.slice(-8)}@interop`;
    const pyNode = `ctl-elect-py-${queue.slice(-8)}@interop`;
    const started: Spawned[] = [];
    let place: Place | undefined;

    afterAll(async () => {
      for (const p of started) await stopProcess(p);
      await place?.cleanup({ queues: [queue], nodeNames: [tsNode, pyNode], revoked: [] });
    }, 60_000);

    it('the celeriac worker waits for the Python worker\'s worker-elect-ack, wins, and sends the action', async () => {
      place = await BROKERS[broker]();
      const ts = await startCeleriacWorker(place.url, queue, ['-n', tsNode, '-l', 'debug', '--heartbeat-interval', '0.5'], place.backend);
      started.push(ts);
      // Gossip and heartbeats on (Celery's defaults): the Python worker follows worker events and acks elections.
      const py = spawnProcess(
        PYTHON,
        ['-m', 'celery', '-A', 'interop_app', 'worker', '-P', 'solo', '-Q', `${queue}-py`, '-l', 'info', '-n', pyNode, '--without-mingle'],
        pythonEnv({ INTEROP_BROKER: place.url, INTEROP_BACKEND: place.backend, INTEROP_QUEUE: `${queue}-py` }),
        PY_DIR,
      );
      started.push(py);
      await py.waitFor(/ ready\.\s*$/m, 45_000);
      // The celeriac worker saw the Python worker's heartbeat: from now on its election needs that worker's ack.
      await ts.waitFor(`${pyNode} joined`, 30_000);
      const id = `elect-${randomUUID()}`;
      const taskId = randomUUID();
      // Python's Control.broadcast, as `app.control.election` sends it, unicast so no other worker takes part.
      const script = [
        'import json, sys',
        'from interop_app import app',
        `action = app.signature('interop.seq', args=('elected',), queue='${queue}', task_id='${taskId}')`,
        `print(json.dumps(app.control.broadcast('election', arguments={'id': '${id}', 'topic': 'task', 'action': dict(action)}, destination=['${tsNode}'], reply=True, timeout=5)))`,
      ].join('\n');
      const r = await runProcess(PYTHON, ['-c', script], pythonEnv({ INTEROP_BROKER: place.url, INTEROP_BACKEND: place.backend }), PY_DIR);
      expect(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? 'null'), r.stderr).toEqual([{ [tsNode]: null }]);
      // Python parsed the worker-elect event and its worker-elect-ack came back (other workers alive on a
      // shared Redis may ack too, or, without gossip, make the election wait for its timeout).
      await ts.waitFor(`election ${id} acked by ${pyNode}`, 30_000);
      await ts.waitFor(`I won the election ${id}`, 30_000);
      await ts.waitFor(new RegExp(`interop\\.seq\\[${taskId}\\] succeeded`), 30_000);
      expect(py.output()).not.toMatch(/Traceback|election request missing field/);
    }, 120_000);
  });
}
