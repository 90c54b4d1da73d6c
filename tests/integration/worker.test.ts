// The worker end to end inside one process, on memory:// and on sqlite:// (same behaviour on both).
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, NotRegisteredError, RemoteTaskError, States, TaskRevokedError, Worker, type Task, type WorkerOptions } from '../../src/index.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';

const silent = createLogger({ level: 'silent' });

for (const kind of ['memory', 'sqlite', 'redis'] as const) {
  describe(`worker on ${kind}://`, () => {
    let dir: TempDir;
    let app: Celeriac;
    const workers: Worker[] = [];

    const keyPrefix = `celeriac-test-${randomUUID()}:`;

    beforeEach(() => {
      dir = tempDir();
      const sqlite = `sqlite://${dir.file('broker.db')}`;
      const broker = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? sqlite : REDIS_URL;
      const backend = broker;
      app = new Celeriac('tests', { broker, backend, brokerOptions: { keyPrefix }, backendOptions: { keyPrefix }, taskRoutes: { 'tasks.add': 'for_add', 'tasks.subtract': 'for_subtract' } });
    });

    afterEach(async () => {
      for (const w of workers.splice(0)) await w.stop({ cold: true });
      await app.close();
      dir.remove();
      if (kind === 'redis') await deleteKeys(keyPrefix);
    });

    const start = async (options: WorkerOptions = {}): Promise<Worker> => {
      const w = new Worker(app, { logger: silent, concurrency: 4, ...options });
      workers.push(w);
      return w.start();
    };

    it('runs a task and returns its typed result', async () => {
      const add = app.task('tasks.add', (x: number, y: number) => x + y);
      await start({ queues: ['for_add'] });
      const r = await add.delay(5, 5);
      expect(await r.get({ timeout: 5000 })).toBe(10);
      expect(await r.state()).toBe(States.SUCCESS);
    });

    it('routes by taskRoutes: a worker on for_add runs additions only', async () => {
      const add = app.task('tasks.add', (x: number, y: number) => x + y);
      const sub = app.task('tasks.subtract', (x: number, y: number) => x - y);
      await start({ queues: ['for_add'] });
      const a = await add.delay(2, 3);
      const s = await sub.delay(9, 4);
      expect(await a.get({ timeout: 5000 })).toBe(5);
      await new Promise((r) => setTimeout(r, 200));
      expect(await s.state()).toBe(States.PENDING);
      const transport = await app.connection();
      expect((await transport.queueInfo('for_subtract')).messages).toBe(1);
      await start({ queues: ['for_subtract'] });
      expect(await s.get({ timeout: 5000 })).toBe(5);
    });

    it('sends by name, with kwargs placed by parameter name', async () => {
      app.task('tasks.greet', (greeting: string, name: string) => `${greeting}, ${name}`);
      await start();
      const r = await app.sendTask<string>('tasks.greet', ['hello'], { kwargs: { name: 'world' } });
      expect(await r.get({ timeout: 5000 })).toBe('hello, world');
    });

    it('stores a failure with the error type, message and stack, and re-raises it on get()', async () => {
      const boom = app.task('tasks.boom', (msg: string): number => {
        throw new RangeError(msg);
      });
      await start();
      const r = await boom.delay('too big');
      const err = await r.get({ timeout: 5000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteTaskError);
      expect((err as RemoteTaskError).excType).toBe('RangeError');
      expect((err as RemoteTaskError).message).toContain('too big');
      expect(await r.traceback()).toContain('RangeError: too big');
      expect(await r.get({ timeout: 100, propagate: false })).toBeInstanceOf(RemoteTaskError);
    });

    it('marks an unknown task FAILURE (NotRegistered), dead-letters it and keeps going', async () => {
      const add = app.task('tasks.add', (x: number, y: number) => x + y);
      await start({ queues: ['celery', 'for_add'] });
      const unknown = await app.sendTask('tasks.nope', [1]);
      const err = await unknown.get({ timeout: 5000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotRegisteredError);
      expect((err as Error).message).toContain("unregistered task 'tasks.nope'");
      const meta = await unknown.meta();
      expect(meta.result).toMatchObject({ exc_type: 'NotRegistered', exc_module: 'celery.exceptions' });
      expect(await (await add.delay(1, 1)).get({ timeout: 5000 })).toBe(2);
      const dead = await (await app.connection()).deadLetters();
      expect(dead.map((d) => d.reason)).toContain("unregistered task 'tasks.nope'");
    });

    it('dead-letters a malformed message and keeps consuming', async () => {
      const add = app.task('tasks.add', (x: number, y: number) => x + y);
      await start({ queues: ['celery', 'for_add'] });
      const transport = await app.connection();
      await transport.declareQueue({ name: 'celery' });
      await transport.publish(
        { body: Buffer.from('cos\nsystem\n(S"echo pwned"\ntR.'), contentType: 'application/x-python-serialize', contentEncoding: 'binary', headers: { task: 'tasks.add', id: 'evil' }, properties: {} },
        { exchange: '', routingKey: 'celery' },
      );
      await transport.publish(
        { body: Buffer.from('{not json'), contentType: 'application/json', contentEncoding: 'utf-8', headers: { task: 'tasks.add', id: 'bad-json' }, properties: {} },
        { exchange: '', routingKey: 'celery' },
      );
      await until(async () => (await transport.deadLetters()).length >= 2, 5000);
      const reasons = (await transport.deadLetters()).map((d) => d.reason).join('\n');
      expect(reasons).toMatch(/pickle/);
      expect(reasons).toMatch(/not valid json/);
      expect(await (await add.delay(2, 2)).get({ timeout: 5000 })).toBe(4);
      expect((await transport.queueInfo('celery')).messages).toBe(0);
    });

    it('does not run an expired task: REVOKED (expired)', async () => {
      let ran = false;
      const t = app.task('tasks.late', () => {
        ran = true;
      });
      // Received before it expires (a message past its expiration is dropped by brokers with message TTL,
      // never reaching the worker), due only after: the worker's own check revokes it.
      await start();
      const r = await t.applyAsync([], { countdown: 2.5, expires: 1.5 });
      const err = await r.get({ timeout: 5000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskRevokedError);
      expect((await r.meta()).result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['expired'] });
      expect(ran).toBe(false);
    });

    it('holds a countdown task until it is due', async () => {
      const add = app.task('tasks.add', (x: number, y: number) => x + y);
      await start({ queues: ['for_add'] });
      const sent = Date.now();
      const r = await add.applyAsync([1, 2], { countdown: 0.6 });
      expect(await r.get({ timeout: 5000 })).toBe(3);
      expect(Date.now() - sent).toBeGreaterThanOrEqual(550);
    });

    it('runs tasks in priority order on a busy queue (as the broker orders priorities)', async () => {
      const order: number[] = [];
      const t = app.task('tasks.order', (p: number) => {
        order.push(p);
      });
      const results = [];
      for (const p of [0, 9, 3, 6]) results.push(await t.applyAsync([p], { priority: p }));
      await start({ concurrency: 1, prefetchMultiplier: 1 });
      for (const r of results) await r.get({ timeout: 5000 });
      const { priority } = (await app.connection()).capabilities;
      // SQLite and memory: 9 before 0 (AMQP's order); Redis: 0 before 9 (kombu's emulation).
      expect(order).toEqual(priority === 'lower-first' ? [0, 3, 6, 9] : [9, 6, 3, 0]);
    });

    it('warm shutdown finishes running tasks and hands waiting ones back', async () => {
      const slow = app.task('tasks.slow', async (i: number) => {
        await new Promise((r) => setTimeout(r, 150));
        return i;
      });
      const w = await start({ concurrency: 1, prefetchMultiplier: 4 });
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => slow.delay(i)));
      await until(() => w.state.active.size === 1);
      await w.stop();
      const states = await Promise.all(results.map((r) => r.state()));
      const done = states.filter((s) => s === States.SUCCESS).length;
      expect(done).toBeGreaterThanOrEqual(1);
      const transport = await app.connection();
      const info = await transport.queueInfo('celery');
      expect(info.messages + done).toBe(6);
      expect(info.unacked).toBe(0);
      await start({ concurrency: 4 });
      expect(await Promise.all(results.map((r) => r.get({ timeout: 5000 })))).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('retry(): the task runs again with retries + 1, is RETRY in between, and succeeds', async () => {
      const seen: number[] = [];
      const flaky = app.task('tasks.flaky', (x: number) => {
        seen.push(flaky.request.retries);
        if (flaky.request.retries < 2) flaky.retry({ countdown: 0.05, exc: new Error('not yet') });
        return x * 10;
      }, { bind: true });
      await start();
      const r = await flaky.delay(4);
      expect(await r.get({ timeout: 5000 })).toBe(40);
      expect(seen).toEqual([0, 1, 2]);
    });

    it('retry() past maxRetries: FAILURE with the error that caused it', async () => {
      app.task('tasks.hopeless', () => app.currentTask.retry({ countdown: 0, exc: new RangeError('still broken') }), { maxRetries: 1, bind: true });
      const hopeless = app.tasks.get('tasks.hopeless') as Task<[], never>;
      await start();
      const err = await (await hopeless.delay()).get({ timeout: 5000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteTaskError);
      expect((err as RemoteTaskError).excType).toBe('RangeError');
      expect((err as RemoteTaskError).message).toContain('still broken');
    });

    it('task.request and app.currentTask outside a run are errors that say so', () => {
      const t = app.task('tasks.lonely', () => 1);
      expect(() => t.request).toThrow(/only available while a worker runs this task/);
      expect(() => app.currentTask).toThrow(/only available while a worker runs a task registered with \{ bind: true \}/);
    });

    it('with acksLate a task is acked only after it finished', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const t = app.task('tasks.gated', async () => {
        await gate;
        return 'ok';
      }, { acksLate: true });
      await start({ concurrency: 1 });
      const r = await t.delay();
      const transport = await app.connection();
      await until(async () => (await transport.queueInfo('celery')).unacked === 1);
      release();
      expect(await r.get({ timeout: 5000 })).toBe('ok');
      await until(async () => (await transport.queueInfo('celery')).unacked === 0);
    });
  });
}
