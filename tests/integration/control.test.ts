// Remote control end to end on memory://, sqlite://, redis:// and amqp:// (a vhost of its own per test, results in Redis): every built-in command broadcast and
// unicast, timeouts, late replies, user commands, refusals, and many rapid broadcasts to several workers.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker, type WorkerOptions } from '../../src/index.js';
import { createVhost, rabbitmqctl, type Vhost } from '../helpers/amqp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const silent = createLogger({ level: 'silent' });
const T = 3000;

for (const kind of ['memory', 'sqlite', 'redis', 'amqp'] as const) {
  describe(`remote control on ${kind}://`, () => {
    let dir: TempDir;
    let shared: Celeriac | undefined;
    const apps: Celeriac[] = [];
    const workers: Worker[] = [];
    const keyPrefix = `celeriac-test-${randomUUID()}:`;
    let url = '';
    let vhost: Vhost | undefined;

    /** A client or worker app; on memory:// every party shares one app (the broker lives in it). */
    const makeApp = (): Celeriac => {
      if (kind === 'memory' && shared) return shared;
      const backend = kind === 'amqp' ? REDIS_URL : url;
      const app = new Celeriac('tests', { broker: url, backend, brokerOptions: { keyPrefix }, backendOptions: { keyPrefix } });
      app.task('tasks.add', (x: number, y: number) => x + y);
      app.task('tasks.sleep', (ms: number) => new Promise((r) => setTimeout(r, ms)));
      app.control.command('pool_size', { kind: 'inspect', help: 'The pool size' }, (w) => ({ hostname: w.hostname, ok: 4 }));
      app.control.command('echo_args', { kind: 'control', args: [{ name: 'word', type: 'string', required: true }] }, (_w, args) => ({ ok: `echo ${String(args['word'])}` }));
      app.control.command('boom', { kind: 'control' }, () => {
        throw new Error('kaboom');
      });
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
      for (const a of apps.splice(0)) await a.close();
      dir.remove();
      if (kind === 'redis' || kind === 'amqp') await deleteKeys(keyPrefix);
      await vhost?.remove();
    }, 60_000);

    const startWorker = async (name: string, options: WorkerOptions = {}, app = makeApp()): Promise<Worker> => {
      const w = new Worker(app, { logger: silent, concurrency: 2, hostname: `${name}@test-${keyPrefix.slice(14, 22)}`, queues: [`q-${randomUUID()}`], ...options });
      workers.push(w);
      return w.start();
    };

    it('ping: broadcast reaches every worker, unicast only the destination', async () => {
      const [w1, w2] = [await startWorker('w1'), await startWorker('w2')];
      const client = makeApp();
      const all = await client.control.inspect({ timeout: T, limit: 2 }).ping();
      expect(all).toEqual({ [w1.hostname]: { ok: 'pong' }, [w2.hostname]: { ok: 'pong' } });
      const one = await client.control.inspect({ destination: [w2.hostname], timeout: T }).ping();
      expect(one).toEqual({ [w2.hostname]: { ok: 'pong' } });
      const byPattern = await client.control.inspect({ pattern: 'w1@*', timeout: 500 }).ping();
      expect(Object.keys(byPattern)).toEqual([w1.hostname]);
      const replies = await client.control.ping({ destination: w1.hostname, timeout: T });
      expect(replies).toEqual([{ [w1.hostname]: { ok: 'pong' } }]);
    });

    it('every built-in command is answered, broadcast and unicast, with a reply or a clear error', async () => {
      const w = await startWorker('every');
      const client = makeApp();
      const args: Record<string, Record<string, unknown>> = {
        rate_limit: { task_name: 'tasks.add', rate_limit: '5/s' }, time_limit: { task_name: 'tasks.add', soft: 10, hard: 20 },
        revoke: { task_id: randomUUID() }, terminate: { signal: 'SIGTERM', task_id: randomUUID() }, add_consumer: { queue: `q-${randomUUID()}` },
        cancel_consumer: { queue: `q-${randomUUID()}` }, pool_grow: { n: 1 }, pool_shrink: { n: 1 }, autoscale: { max: 3, min: 1 },
        query_task: { ids: ['x'] }, election: { id: 'e', topic: 't', action: null },
      };
      // objgraph takes a heap snapshot of this (large) test process: tests/integration/control-debug.test.ts runs it on a worker process.
      const names = client.control.registry.list().map((d) => d.name).filter((n) => !['shutdown', 'pool_size', 'echo_args', 'boom', 'objgraph'].includes(n));
      expect(names.length).toBe(28);
      for (const name of names) {
        for (const where of [{ limit: 1 }, { destination: [w.hostname] }]) {
          const replies = await client.control.broadcast(name, args[name] ?? {}, { ...where, timeout: T, reply: true });
          expect(replies, `${name} ${JSON.stringify(where)}`).toHaveLength(1);
          const reply = replies[0]?.[w.hostname];
          if (reply && typeof reply === 'object' && 'error' in reply) expect(String(reply.error), name).toMatch(name === 'pool_restart' ? /^Pool restarts not enabled on / : /not supported by this worker/);
          // memsample and memdump reply text, as Celery's.
          else if (name === 'memsample' || name === 'memdump') expect(typeof reply, name).toBe('string');
          else expect(reply === null || typeof reply === 'object', name).toBe(true);
        }
      }
    });

    it('inspect commands reply in Celery shapes', async () => {
      const w = await startWorker('w1');
      const client = makeApp();
      const i = client.control.inspect({ destination: [w.hostname], timeout: T });
      const h = w.hostname;
      expect((await i.registered())[h]).toEqual(['tasks.add', 'tasks.sleep']);
      expect((await i.registered('max_retries'))[h]).toEqual(['tasks.add [max_retries=3]', 'tasks.sleep [max_retries=3]']);
      // As Celery: rate_limit and time_limit set the task's attributes, so registered shows them.
      expect(await client.control.rateLimit('tasks.add', '10/m', { destination: [h], timeout: T })).toEqual([{ [h]: { ok: 'new rate limit set successfully' } }]);
      await client.control.timeLimit('tasks.sleep', { soft: 5, hard: 10 }, { destination: [h], timeout: T });
      expect((await i.registered('rate_limit', 'time_limit', 'soft_time_limit'))[h]).toEqual(['tasks.add [rate_limit=10/m]', 'tasks.sleep [time_limit=10 soft_time_limit=5]']);
      expect((await i.activeQueues())[h]?.map((q) => q.name)).toEqual(w.queues);
      expect((await i.active())[h]).toEqual([]);
      expect((await i.reserved())[h]).toEqual([]);
      expect((await i.scheduled())[h]).toEqual([]);
      expect((await i.revoked())[h]).toEqual([]);
      // Lamport: the worker's clock moves past the clock the request carried.
      client.control.clock.adjust(1000);
      const clock = (await i.clock())[h]?.clock;
      expect(clock).toBeGreaterThan(1000);
      const stats = (await i.stats())[h] as Record<string, unknown>;
      expect(stats['pid']).toBe(process.pid);
      expect(stats['pool']).toMatchObject({ 'max-concurrency': 2 });
      const conf = (await i.conf())[h] as Record<string, unknown>;
      expect(conf['defaultQueue']).toBe('celery');
      expect((await i.report())[h]?.ok).toContain('celeriac');
      expect((await i.queryTask('nope'))[h]).toEqual({});
    });

    it('active, scheduled and query_task see running and ETA tasks', async () => {
      const w = await startWorker('w1');
      const client = makeApp();
      const running = await client.sendTask('tasks.sleep', [1500], { queue: w.queues[0] });
      const later = await client.sendTask('tasks.add', [1, 2], { queue: w.queues[0], countdown: 60 });
      await until(() => w.state.active.size === 1 && w.scheduledRequests().length === 1, 10_000);
      const i = client.control.inspect({ destination: [w.hostname], timeout: T });
      const active = (await i.active())[w.hostname] ?? [];
      expect(active).toHaveLength(1);
      expect(active[0]).toMatchObject({ id: running.id, name: 'tasks.sleep', args: [1500], type: 'tasks.sleep', hostname: w.hostname, acknowledged: true });
      expect(active[0]?.delivery_info.routing_key).toBe(w.queues[0]);
      const scheduled = (await i.scheduled())[w.hostname] ?? [];
      expect(scheduled).toHaveLength(1);
      expect(scheduled[0]?.request.id).toBe(later.id);
      expect(new Date(scheduled[0]?.eta ?? 0).getTime()).toBeGreaterThan(Date.now() + 30_000);
      const q = (await i.queryTask(running.id, later.id))[w.hostname] ?? {};
      expect(q[running.id]?.[0]).toBe('active');
      expect(q[later.id]?.[0]).toBe('scheduled');
    });

    it('control commands: revoke is remembered, unknown tasks and missing engine methods get error replies', async () => {
      const w = await startWorker('w1');
      const client = makeApp();
      const opts = { destination: [w.hostname], timeout: T };
      const id = randomUUID();
      expect(await client.control.revoke(id, { ...opts, reply: true })).toEqual([{ [w.hostname]: { ok: `tasks ${id} flagged as revoked` } }]);
      expect((await client.control.inspect(opts).revoked())[w.hostname]).toEqual([id]);
      const rl = await client.control.rateLimit('tasks.nope', '10/m', opts);
      const rlReply = rl[0]?.[w.hostname];
      expect(rlReply && 'error' in rlReply ? rlReply.error : '').toMatch(/unknown task|not supported by this worker/);
      for (const [name, args] of [['pool_grow', { n: 1 }], ['autoscale', { max: 4, min: 1 }], ['add_consumer', { queue: 'x' }]] as const) {
        const [reply] = await client.control.broadcast(name, args, { ...opts, reply: true });
        const r = reply?.[w.hostname] as Record<string, unknown>;
        expect('ok' in r || /not supported by this worker/.test(String(r['error']))).toBe(true);
      }
      // Celery replies None to election: the worker took part (gossip decides between the workers).
      expect(await client.control.election('x', 'topic', null, opts)).toEqual([{ [w.hostname]: null }]);
      expect(await client.control.broadcast('election', { topic: 't' }, { ...opts, reply: true })).toEqual([{ [w.hostname]: { error: expect.stringMatching(/needs an id and a topic|missing|required/) as unknown } }]);
    });

    it('a revoked id is kept in the result backend: a worker started later knows it', async () => {
      const client = makeApp();
      const id = randomUUID();
      await client.control.revoke(id);
      const w = await startWorker('late');
      expect(w.control?.revoked.has(id)).toBe(true);
      expect((await client.control.inspect({ destination: [w.hostname], timeout: T }).revoked())[w.hostname]).toContain(id);
      const r = client.AsyncResult(randomUUID());
      await r.revoke();
      await until(() => w.control?.revoked.has(r.id) === true, 10_000);
    });

    it('user commands run on the worker; unknown, refused and failing commands get error replies', async () => {
      const w = await startWorker('w1', { control: { allow: ['ping', 'pool_size', 'boom'] } });
      const client = makeApp();
      const i = client.control.inspect({ destination: [w.hostname], timeout: T });
      expect(await i.call('pool_size')).toEqual({ [w.hostname]: { hostname: w.hostname, ok: 4 } });
      expect((await i.call<{ error: string }>('no_such_command'))[w.hostname]?.error).toMatch(/unknown command 'no_such_command'/);
      expect((await i.call<{ error: string }>('echo_args', { word: 'hi' }))[w.hostname]?.error).toMatch(/'echo_args' is not allowed/);
      expect((await i.call<{ error: string }>('boom'))[w.hostname]?.error).toMatch(/kaboom/);
      expect(await i.ping()).toEqual({ [w.hostname]: { ok: 'pong' } });
    });

    it('a worker without control does not answer; a call with no worker times out empty', async () => {
      const client = makeApp();
      const started = Date.now();
      expect(await client.control.inspect({ timeout: 300 }).ping()).toEqual({});
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      await startWorker('quiet', { control: { enabled: false } });
      expect(await client.control.inspect({ timeout: 300 }).ping()).toEqual({});
    });

    it('a reply that comes after the timeout does not corrupt the next call', async () => {
      const app = makeApp();
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      app.control.command('slow', { kind: 'inspect' }, async () => {
        await gate;
        return { ok: 'slow' };
      });
      const w = await startWorker('slow', {}, app);
      const client = makeApp();
      const i = client.control.inspect({ destination: [w.hostname], timeout: 200 });
      expect(await i.call('slow')).toEqual({});
      release();
      expect(await client.control.inspect({ destination: [w.hostname], timeout: T }).ping()).toEqual({ [w.hostname]: { ok: 'pong' } });
      expect(await client.control.inspect({ destination: [w.hostname], timeout: T }).clock()).toHaveProperty(w.hostname);
    });

    it('50 rapid broadcasts to 3 workers are all answered correctly', async () => {
      const ws = [await startWorker('a'), await startWorker('b'), await startWorker('c')];
      const client = makeApp();
      const calls = Array.from({ length: 50 }, (_, n) => client.control.inspect({ timeout: 15_000, limit: 3 }).call('echo_args', { word: String(n) }));
      const results = await Promise.all(calls);
      results.forEach((r, n) => {
        expect(Object.keys(r).sort()).toEqual(ws.map((w) => w.hostname).sort());
        for (const reply of Object.values(r)) expect(reply).toEqual({ ok: `echo ${n}` });
      });
    });

    // RabbitMQ only: the other brokers here have no connection the server can close under the client.
    if (kind === 'amqp') it('after RabbitMQ closes every connection, the node and the client redeclare their auto-delete queues and answer again', async () => {
      const w = await startWorker('phoenix');
      const client = makeApp();
      const ping = () => client.control.inspect({ destination: [w.hostname], timeout: 1000 }).ping();
      expect(await ping()).toEqual({ [w.hostname]: { ok: 'pong' } });
      const connections = async (): Promise<string[]> => (await rabbitmqctl('list_connections', '-s', '-p', vhost?.name ?? '', 'name')).trim().split('\n').filter(Boolean);
      const before = await connections();
      expect(before.length).toBeGreaterThan(0);
      await rabbitmqctl('close_all_connections', '-p', vhost?.name ?? '', 'celeriac test: broker restart');
      let after: Record<string, unknown> = {};
      await until(async () => Object.keys((after = await ping().catch(() => ({})))).length > 0, 30_000, 200);
      expect(after).toEqual({ [w.hostname]: { ok: 'pong' } });
      expect(await client.control.inspect({ timeout: T, limit: 1 }).clock()).toHaveProperty(w.hostname);
      // The answers came over new connections: none of the closed ones is left (RabbitMQ closes them
      // asynchronously: on a busy machine one may still be listed for a moment after the command returned).
      await until(async () => (await connections()).filter((c) => before.includes(c)).length === 0, 30_000, 200);
    }, 60_000);

    it('shutdown stops the worker after replying', async () => {
      const w = await startWorker('doomed');
      const client = makeApp();
      const stopped = new Promise<void>((r) => w.once('stopped', r));
      expect(await client.control.shutdown({ destination: [w.hostname], timeout: T })).toEqual([{ [w.hostname]: { ok: 'shutting down' } }]);
      await stopped;
      expect(w.status).toBe('stopped');
    });
  });
}
