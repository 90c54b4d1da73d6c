// Events interop with Python Celery (Debian's 5.2.x) on Redis and on RabbitMQ, both ways: a celeriac worker's
// events as Python's app.events.Receiver and State see them (tests/fixtures/python/events_receiver.py),
// Python's `celery control enable_events` / `heartbeat` acting on a celeriac worker, and a Python worker -E seen
// by celeriac's receiver and ClusterState. Events of other workers sharing the test Redis are filtered out by
// node name; on RabbitMQ each describe has a vhost of its own (results through rpc://).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, type AnyEvent, type Received } from '../../src/index.js';
import { createVhost, rabbitmqctl } from '../helpers/amqp.js';
import { spawnProcess, type Spawned } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/redis.js';
import { until } from '../helpers/temp.js';
import { celeryJson, cleanupRedis, PY_DIR, PYTHON, pythonEnv, requirePythonCelery, startCeleriacWorker, startPythonWorker, stopProcess } from './helpers.js';

interface Place {
  url: string;
  backend: string;
  vhost: string | undefined;
  cleanup(what: { queues: string[]; taskIds: string[]; nodeNames: string[] }): Promise<void>;
}

const BROKERS: Record<'redis' | 'amqp', () => Promise<Place>> = {
  redis: () => Promise.resolve({ url: REDIS_URL, backend: REDIS_URL, vhost: undefined, cleanup: async (what) => void (await cleanupRedis(REDIS_URL, what)) }),
  amqp: async () => {
    const v = await createVhost();
    return { url: v.url, backend: 'rpc://', vhost: v.name, cleanup: () => v.remove() };
  },
};

interface PyLine {
  ready?: string;
  event?: AnyEvent;
  worker_alive?: boolean | null;
  task_state?: string | null;
}

/** tests/fixtures/python/events_receiver.py on `url`; resolves once its queue is consumed. */
async function pythonReceiver(url: string): Promise<Spawned> {
  const p = spawnProcess(PYTHON, ['events_receiver.py', '150'], pythonEnv({ INTEROP_BROKER: url }), PY_DIR);
  try {
    await p.waitFor('{"ready":', 45_000);
  } catch (err) {
    await stopProcess(p, 2_000);
    throw err;
  }
  return p;
}

const lines = (p: Spawned): PyLine[] => p.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as PyLine);
const ofNode = (p: Spawned, node: string): PyLine[] => lines(p).filter((l) => l.event?.hostname === node);
const ofTask = (p: Spawned, id: string): PyLine[] => lines(p).filter((l) => l.event?.['uuid'] === id);

beforeAll(() => {
  requirePythonCelery();
});

for (const broker of ['redis', 'amqp'] as const) {
  describe(`celeriac worker events -> Python's Receiver and State (${broker})`, () => {
    const queue = `interop-ev-ts-${randomUUID()}`;
    const node = `ev-ts-${queue.slice(-8)}@interop`;
    const taskIds: string[] = [];
    const queues = [queue];
    const started: Spawned[] = [];
    let place: Place;
    let client: Celeriac;
    let py: Spawned;

    beforeAll(async () => {
      place = await BROKERS[broker]();
      client = new Celeriac('interop-events-client', { broker: place.url, backend: place.backend });
      py = await pythonReceiver(place.url);
      started.push(py);
      queues.push(lines(py)[0]?.ready ?? '');
    }, 60_000);

    afterAll(async () => {
      for (const p of started) await stopProcess(p);
      await client.close();
      await place?.cleanup({ queues, taskIds, nodeNames: [node] });
    }, 60_000);

    it('worker-online, heartbeats, task events and worker-offline are read by Celery, and its State follows', async () => {
      const worker = await startCeleriacWorker(place.url, queue, ['-E', '-n', node, '--heartbeat-interval', '0.5'], place.backend);
      started.push(worker);
      await until(() => ofNode(py, node).some((l) => l.event?.type === 'worker-heartbeat'), 20_000);
      const add = await client.sendTask('interop.add', [2, 2], { queue });
      const fail = await client.sendTask('interop.fail', ['ValueError', 'boom'], { queue });
      taskIds.push(add.id, fail.id);
      expect(await add.get({ timeout: 20_000 })).toBe(4);
      await expect(fail.get({ timeout: 20_000 })).rejects.toThrow(/boom/);
      await until(() => ofTask(py, add.id).length === 3 && ofTask(py, fail.id).length === 3, 20_000);
      await stopProcess(worker);
      await until(() => ofNode(py, node).some((l) => l.event?.type === 'worker-offline'), 20_000);

      const mine = ofNode(py, node);
      expect(mine[0]?.event).toMatchObject({ type: 'worker-online', freq: 0.5, sw_ident: 'celeriac', sw_sys: expect.any(String) });
      expect(mine.filter((l) => l.event?.type === 'worker-heartbeat').every((l) => l.worker_alive === true)).toBe(true);
      expect(mine.at(-1)).toMatchObject({ event: { type: 'worker-offline' }, worker_alive: false });
      expect(ofTask(py, add.id).map((l) => [l.event?.type, l.task_state])).toEqual([['task-received', 'RECEIVED'], ['task-started', 'STARTED'], ['task-succeeded', 'SUCCESS']]);
      expect(ofTask(py, add.id)[0]?.event).toMatchObject({ name: 'interop.add', args: '(2, 2)', kwargs: '{}', retries: 0, root_id: add.id });
      expect(ofTask(py, add.id)[2]?.event).toMatchObject({ result: '4' });
      expect(ofTask(py, fail.id).map((l) => l.task_state)).toEqual(['RECEIVED', 'STARTED', 'FAILURE']);
      expect(ofTask(py, fail.id)[2]?.event).toMatchObject({ exception: "ValueError('boom')" });
      // Celery's receiver adjusted its clock to ours: clocks as sent, increasing.
      const clocks = mine.map((l) => l.event?.clock as number);
      expect(new Set(clocks).size).toBe(clocks.length);
      if (place.vhost) {
        const exchanges = (await rabbitmqctl('list_exchanges', '-p', place.vhost, 'name', 'type', 'durable', 'auto_delete')).split('\n').filter((l) => l.startsWith('celeryev\t'));
        expect(exchanges).toEqual(['celeryev\ttopic\ttrue\tfalse']);
      }
    }, 120_000);

    it('Python\'s celery control enable_events / disable_events / heartbeat act on a celeriac worker', async () => {
      const quietNode = `q${node}`;
      const worker = await startCeleriacWorker(place.url, queue, ['-n', quietNode, '--heartbeat-interval', '3600'], place.backend);
      started.push(worker);
      const before = await client.sendTask('interop.add', [1, 1], { queue });
      taskIds.push(before.id);
      expect(await before.get({ timeout: 20_000 })).toBe(2);
      expect(await celeryJson(place, ['control', 'enable_events'], quietNode)).toEqual([{ [quietNode]: { ok: 'task events enabled' } }]);
      const after = await client.sendTask('interop.add', [3, 4], { queue });
      taskIds.push(after.id);
      expect(await after.get({ timeout: 20_000 })).toBe(7);
      await until(() => ofTask(py, after.id).some((l) => l.event?.type === 'task-succeeded'), 20_000);
      expect(ofTask(py, before.id)).toEqual([]);
      expect(await celeryJson(place, ['control', 'disable_events'], quietNode)).toEqual([{ [quietNode]: { ok: 'task events disabled' } }]);
      const beats = (): number => ofNode(py, quietNode).filter((l) => l.event?.type === 'worker-heartbeat').length;
      expect(beats()).toBe(0);
      await celeryJson(place, ['control', 'heartbeat'], quietNode);
      await until(() => beats() === 1, 20_000);
      await stopProcess(worker);
    }, 120_000);
  });

  describe(`Python worker -E -> celeriac's EventReceiver and ClusterState (${broker})`, () => {
    const queue = `interop-ev-py-${randomUUID()}`;
    const node = `ev-py-${queue.slice(-8)}@interop`;
    const taskIds: string[] = [];
    let place: Place;
    let client: Celeriac;
    let worker: Spawned | undefined;

    beforeAll(async () => {
      place = await BROKERS[broker]();
      client = new Celeriac('interop-events-monitor', { broker: place.url, backend: place.backend });
    }, 60_000);

    afterAll(async () => {
      await stopProcess(worker);
      await client.close();
      await place?.cleanup({ queues: [queue], taskIds, nodeNames: [node] });
    }, 60_000);

    it('sees worker-online, heartbeats, batched task events and worker-offline of a Python worker', async () => {
      const receiver = client.events.receiver();
      const state = client.events.state();
      const seen: Received[] = [];
      const results: string[] = [];
      receiver.on('event', (e) => {
        if (e.hostname !== node) return;
        seen.push(e);
        state.event(e);
      });
      receiver.on('task-succeeded', (e) => results.push(e.result));
      await receiver.start();
      worker = await startPythonWorker(place.url, queue, node, place.backend, { events: true });
      await until(() => seen.some((e) => e.type === 'worker-online'), 20_000);
      expect(seen[0]).toMatchObject({ type: 'worker-online', sw_ident: 'py-celery', sw_ver: '5.2.6', freq: 2 });
      expect(state.worker(node)).toMatchObject({ alive: true, sw_ident: 'py-celery' });
      const add = await client.sendTask('interop.add', [2, 2], { queue });
      const fail = await client.sendTask('interop.fail', [], { queue });
      taskIds.push(add.id, fail.id);
      expect(await add.get({ timeout: 20_000 })).toBe(4);
      await expect(fail.get({ timeout: 20_000 })).rejects.toThrow(/boom/);
      const ofTask = (id: string): Received[] => seen.filter((e) => e['uuid'] === id);
      await until(() => ofTask(add.id).length === 3 && ofTask(fail.id).length === 3, 20_000);
      await until(() => seen.some((e) => e.type === 'worker-heartbeat'), 20_000);
      expect(ofTask(add.id).map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      expect(ofTask(add.id)[0]).toMatchObject({ name: 'interop.add', args: '(2, 2)', kwargs: '{}' });
      expect(results).toContain('4');
      expect(ofTask(fail.id)[2]).toMatchObject({ type: 'task-failed' });
      expect(String(ofTask(fail.id)[2]?.['traceback'])).toContain("ValueError: boom");
      expect(state.task(add.id)).toMatchObject({ state: 'SUCCESS', name: 'interop.add', result: '4', worker: node });
      expect(state.task(fail.id)?.state).toBe('FAILURE');
      // The receiver's clock moved past every clock it saw.
      expect(receiver.clock.value).toBeGreaterThan(Math.max(...seen.map((e) => e.clock)));
      await stopProcess(worker);
      await until(() => seen.some((e) => e.type === 'worker-offline'), 20_000);
      expect(state.worker(node)?.alive).toBe(false);
      await receiver.close();
    }, 120_000);
  });
}
