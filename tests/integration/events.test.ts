// Events end to end on memory://, sqlite://, redis:// (a key prefix of its own) and amqp:// (a vhost of its own,
// results in Redis): a worker's heartbeats and task events as a receiver sees them, enable_events /
// disable_events / heartbeat through app.control, task-sent from a producer, and the cluster State.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AsyncResult, Celeriac, createLogger, Worker, type AnyEvent, type ElectionOutcome, type EventReceiver, type Received, type WorkerOptions } from '../../src/index.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const silent = createLogger({ level: 'silent' });
const T = 5000;

for (const kind of ['memory', 'sqlite', 'redis', 'amqp'] as const) {
  describe(`events on ${kind}://`, () => {
    let dir: TempDir;
    let shared: Celeriac | undefined;
    const apps: Celeriac[] = [];
    const workers: Worker[] = [];
    const receivers: EventReceiver[] = [];
    const keyPrefix = `celeriac-test-${randomUUID()}:`;
    let url = '';
    let vhost: Vhost | undefined;

    /** A client or worker app; on memory:// every party shares one app (the broker lives in it). */
    const makeApp = (options: { taskSendSentEvent?: boolean } = {}): Celeriac => {
      if (kind === 'memory' && shared) return shared;
      const backend = kind === 'amqp' ? REDIS_URL : url;
      const app = new Celeriac('tests', { broker: url, backend, brokerOptions: { keyPrefix }, backendOptions: { keyPrefix }, ...options });
      app.task('tasks.add', (x: number, y: number) => x + y);
      app.task('tasks.fail', () => {
        const e = new Error('boom');
        e.name = 'ValueError';
        throw e;
      });
      app.task('tasks.retry_once', () => {
        const { request, retry } = app.currentTask;
        if (request.retries < 1) retry({ countdown: 0 });
        return request.retries;
      }, { bind: true });
      apps.push(app);
      if (kind === 'memory') shared = app;
      return app;
    };

    beforeEach(async () => {
      dir = tempDir();
      vhost = kind === 'amqp' ? await createVhost() : undefined;
      url = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? `sqlite://${dir.file('broker.db')}` : vhost ? vhost.url : REDIS_URL;
      shared = undefined;
    }, 60_000);

    afterEach(async () => {
      for (const w of workers.splice(0)) await w.stop({ cold: true });
      for (const r of receivers.splice(0)) await r.close();
      for (const a of apps.splice(0)) await a.close();
      dir.remove();
      if (kind === 'redis' || kind === 'amqp') await deleteKeys(keyPrefix);
      await vhost?.remove();
    }, 60_000);

    /** A started receiver collecting every event of `hostname` (other senders may share a broker). */
    const watch = async (app: Celeriac, hostname?: () => string): Promise<Received[]> => {
      const seen: Received[] = [];
      const r = app.events.receiver();
      receivers.push(r);
      r.on('event', (e) => {
        if (!hostname || e.hostname === hostname()) seen.push(e);
      });
      await r.start();
      return seen;
    };

    const nodeName = (name: string): string => `${name}@events-${keyPrefix.slice(14, 22)}`;
    const startWorker = async (name: string, options: WorkerOptions = {}, app = makeApp()): Promise<Worker> => {
      const w = new Worker(app, { logger: silent, concurrency: 1, hostname: nodeName(name), queues: [`q-${randomUUID()}`], ...options });
      workers.push(w);
      return w.start();
    };

    const ofTask = (events: AnyEvent[], id: string): AnyEvent[] => events.filter((e) => e['uuid'] === id);

    it('a bad heartbeat interval is refused with a clear error', () => {
      expect(() => new Worker(makeApp(), { logger: silent, heartbeatInterval: 0 })).toThrow(/heartbeatInterval must be a number of seconds > 0/);
    });

    it('a worker with task events: online, heartbeats, every task event in order with increasing clocks, offline on stop', async () => {
      const client = makeApp();
      const seen = await watch(client, () => nodeName('ev'));
      const w = await startWorker('ev', { taskEvents: true, heartbeatInterval: 0.2 }, makeApp());
      const queue = w.queues[0] as string;
      const add = await client.sendTask('tasks.add', [2, 2], { queue });
      const fail = await client.sendTask('tasks.fail', [], { queue });
      const retried = await client.sendTask('tasks.retry_once', [], { queue });
      expect(await add.get({ timeout: T })).toBe(4);
      await expect(fail.get({ timeout: T })).rejects.toThrow(/boom/);
      expect(await retried.get({ timeout: T })).toBe(1);
      const later = await client.sendTask('tasks.add', [1, 1], { queue, countdown: 600 });
      await until(() => ofTask(seen, later.id).length === 1, T);
      await client.control.revoke(later.id, { destination: [w.hostname], timeout: T, reply: true });
      // Received before it expires (brokers with message TTL drop an expired message unseen), due after.
      const expired = await client.sendTask('tasks.add', [1, 1], { queue, countdown: 2.5, expires: 1.5 });
      await until(() => seen.filter((e) => e.type === 'worker-heartbeat').length >= 2 && ofTask(seen, later.id).length === 2 && ofTask(seen, expired.id).length === 2, T);
      await w.stop();
      await until(() => seen.some((e) => e.type === 'worker-offline'), T);

      expect(seen[0]).toMatchObject({ type: 'worker-online', hostname: w.hostname, freq: 0.2, sw_ident: 'celeriac', active: 0, processed: 0 });
      expect(seen.at(-1)).toMatchObject({ type: 'worker-offline', processed: 4 });
      const types = (id: string): string[] => ofTask(seen, id).map((e) => e.type);
      expect(types(add.id)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      expect(types(fail.id)).toEqual(['task-received', 'task-started', 'task-failed']);
      expect(types(retried.id)).toEqual(['task-received', 'task-started', 'task-retried', 'task-received', 'task-started', 'task-succeeded']);
      expect(types(later.id)).toEqual(['task-received', 'task-revoked']);
      expect(types(expired.id)).toEqual(['task-received', 'task-revoked']);
      expect(ofTask(seen, add.id)[0]).toMatchObject({ name: 'tasks.add', args: '(2, 2)', kwargs: '{}', retries: 0, root_id: add.id, parent_id: null, eta: null });
      expect(ofTask(seen, add.id)[2]).toMatchObject({ result: '4' });
      expect(ofTask(seen, fail.id)[2]).toMatchObject({ exception: "ValueError('boom')" });
      expect(String(ofTask(seen, fail.id)[2]?.['traceback'])).toContain('boom');
      expect(ofTask(seen, later.id)[1]).toMatchObject({ terminated: false, signum: null, expired: false });
      expect(ofTask(seen, expired.id)[1]).toMatchObject({ expired: true });
      // Clocks: unique, and increasing along each task's life.
      const clocks = seen.map((e) => e.clock);
      expect(new Set(clocks).size).toBe(clocks.length);
      for (const id of [add.id, fail.id, retried.id, later.id]) {
        const c = ofTask(seen, id).map((e) => e.clock);
        expect(c).toEqual([...c].sort((a, b) => a - b));
      }
      // The cluster State built from the same events.
      const state = client.events.state();
      for (const e of seen) state.event(e);
      expect(state.task(add.id)).toMatchObject({ state: 'SUCCESS', name: 'tasks.add', worker: w.hostname, result: '4' });
      expect(state.task(fail.id)?.state).toBe('FAILURE');
      expect(state.task(later.id)?.state).toBe('REVOKED');
      expect(state.worker(w.hostname)).toMatchObject({ alive: false, processed: 4 });
    });

    it('enable_events and disable_events through app.control toggle task events; heartbeat sends a worker-heartbeat', async () => {
      const client = makeApp();
      const seen = await watch(client, () => nodeName('toggle'));
      const w = await startWorker('toggle', { heartbeatInterval: 3600 }, makeApp());
      const queue = w.queues[0] as string;
      const opts = { destination: [w.hostname], timeout: T };
      const quiet = await client.sendTask('tasks.add', [1, 1], { queue });
      await quiet.get({ timeout: T });
      expect(await client.control.enableEvents(opts)).toEqual([{ [w.hostname]: { ok: 'task events enabled' } }]);
      expect(await client.control.enableEvents(opts)).toEqual([{ [w.hostname]: { ok: 'task events already enabled' } }]);
      const loud = await client.sendTask('tasks.add', [2, 2], { queue });
      await loud.get({ timeout: T });
      await until(() => ofTask(seen, loud.id).length === 3, T);
      expect(await client.control.disableEvents(opts)).toEqual([{ [w.hostname]: { ok: 'task events disabled' } }]);
      expect(await client.control.disableEvents(opts)).toEqual([{ [w.hostname]: { ok: 'task events already disabled' } }]);
      const quietAgain = await client.sendTask('tasks.add', [3, 3], { queue });
      await quietAgain.get({ timeout: T });
      await client.control.enableEvents(opts);
      const last = await client.sendTask('tasks.add', [4, 4], { queue });
      await last.get({ timeout: T });
      await until(() => ofTask(seen, last.id).length === 3, T);
      // Events of one worker arrive in the order sent: nothing of the tasks run while events were off came before.
      expect(ofTask(seen, quiet.id)).toEqual([]);
      expect(ofTask(seen, quietAgain.id)).toEqual([]);
      // heartbeat: Celery replies None, and a worker-heartbeat goes out at once (the interval here is an hour).
      expect(seen.filter((e) => e.type === 'worker-heartbeat')).toEqual([]);
      expect(await client.control.heartbeat(opts)).toEqual([{ [w.hostname]: null }]);
      await until(() => seen.some((e) => e.type === 'worker-heartbeat'), T);
      expect(seen.find((e) => e.type === 'worker-heartbeat')).toMatchObject({ hostname: w.hostname, freq: 3600, processed: 4 });
    });

    it('without heartbeats no worker-* event goes out; task-sent comes from a producer with taskSendSentEvent', async () => {
      const client = makeApp();
      const seen = await watch(client);
      const w = await startWorker('nohb', { heartbeat: false, taskEvents: true }, makeApp());
      const producer = kind === 'memory' ? client : makeApp({ taskSendSentEvent: true });
      const r = await producer.sendTask('tasks.add', [5, 5], { queue: w.queues[0] as string });
      expect(await r.get({ timeout: T })).toBe(10);
      await until(() => ofTask(seen, r.id).some((e) => e.type === 'task-succeeded'), T);
      const mine = seen.filter((e) => e.hostname === w.hostname);
      expect(mine.map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      if (kind !== 'memory') {
        await until(() => ofTask(seen, r.id).some((e) => e.type === 'task-sent'), T);
        const sent = ofTask(seen, r.id).find((e) => e.type === 'task-sent');
        expect(sent).toMatchObject({ hostname: `gen${process.pid}@${sent?.hostname.split('@')[1]}`, name: 'tasks.add', args: '(5, 5)', kwargs: '{}', queue: w.queues[0], retries: 0 });
      }
    });

    it('election through app.control: the workers agree on one leader, which alone sends the action; --without-gossip refuses', async () => {
      const client = makeApp();
      const ws: Worker[] = [];
      for (const n of ['g1', 'g2', 'g3']) ws.push(await startWorker(n, { heartbeatInterval: 0.2 }, makeApp()));
      const mute = await startWorker('g-mute', { heartbeat: false, gossip: false }, makeApp());
      expect(mute.gossip).toBeUndefined();
      const names = new Set(ws.map((w) => w.hostname));
      // Each sees the other two alive through their heartbeats (never itself).
      await until(() => ws.every((w) => w.gossip?.state.aliveWorkers().filter((x) => names.has(x.hostname)).length === 2), T);
      const outcomes: ElectionOutcome[] = [];
      for (const w of ws) w.gossip?.on('elected', (o) => outcomes.push(o));
      const taskId = randomUUID();
      const action = client.signature<number>('tasks.add', [20, 22]).set({ taskId, queue: ws[0]?.queues[0] as string }).toDict();
      const replies = await client.control.election('nightly-1', 'task', action, { destination: [...names], timeout: T, limit: 3 });
      expect(Object.assign({}, ...replies)).toEqual(Object.fromEntries([...names].map((n) => [n, null])));
      expect(await new AsyncResult<number>(taskId, client).get({ timeout: T })).toBe(42);
      await until(() => outcomes.length === 3, T);
      expect(new Set(outcomes.map((o) => o.leader)).size).toBe(1);
      expect(outcomes.filter((o) => o.won)).toHaveLength(1);
      expect(outcomes.every((o) => o.id === 'nightly-1' && o.topic === 'task' && o.candidates === 3)).toBe(true);
      expect(await client.control.election('nightly-2', 'task', 'tasks.add', { destination: [mute.hostname], timeout: T })).toEqual([
        { [mute.hostname]: { error: `gossip is off on ${mute.hostname} (--without-gossip, or a broker without events)` } },
      ]);
    });
  });
}
