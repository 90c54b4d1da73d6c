// The worker engine on the async pool, on memory://, sqlite://, redis:// and amqp://: ETA heap, rate limits, time
// limits, revocation, updateState, autoretry, trackStarted / ignoreResult, and the control surface.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac, ConfigError, createLogger, RemoteTaskError, States, TaskError, TaskRevokedError, Worker, type WorkerOptions } from '../../src/index.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const silent = createLogger({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const kind of ['memory', 'sqlite', 'redis', 'amqp'] as const) {
  describe(`worker engine on ${kind}://`, () => {
    let dir: TempDir;
    let app: Celeriac;
    const workers: Worker[] = [];
    const keyPrefix = `celeriac-test-${randomUUID()}:`;
    // amqp://: a vhost of this file's own (results in Redis, under the key prefix).
    let vhost: Vhost | undefined;
    beforeAll(async () => {
      if (kind === 'amqp') vhost = await createVhost();
    }, 120_000);
    afterAll(() => vhost?.remove(), 120_000);

    beforeEach(() => {
      dir = tempDir();
      const url = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? `sqlite://${dir.file('broker.db')}` : kind === 'redis' ? REDIS_URL : (vhost as Vhost).url;
      const backend = kind === 'amqp' ? REDIS_URL : url;
      app = new Celeriac('engine', { broker: url, backend, brokerOptions: { keyPrefix }, backendOptions: { keyPrefix }, defaultQueue: `q-${randomUUID()}` });
    });

    afterEach(async () => {
      for (const w of workers.splice(0)) await w.stop({ cold: true });
      await app.close();
      dir.remove();
      if (kind === 'redis' || kind === 'amqp') await deleteKeys(keyPrefix);
    });

    const start = async (options: WorkerOptions = {}): Promise<Worker> => {
      const w = new Worker(app, { logger: silent, concurrency: 2, ...options });
      workers.push(w);
      return w.start();
    };

    it('holds ETA tasks in the timer heap (visible to scheduled), outside the prefetch window, and runs them on time', async () => {
      const startedAt = new Map<string, number>();
      const t = app.task('e.stamp', (i: number) => {
        startedAt.set(String(i), Date.now());
        return i;
      });
      const w = await start({ concurrency: 1, prefetchMultiplier: 1 });
      const later = await t.applyAsync([0], { countdown: 60 });
      const soon = await t.applyAsync([1], { countdown: 0.8 });
      await until(() => w.scheduledRequests().length === 2, 10_000);
      const scheduled = w.scheduledRequests();
      expect(scheduled.map((s) => s.request.id)).toEqual([soon.id, later.id]);
      expect(scheduled[0]?.eta).toMatch(/^\d{4}-\d\d-\d\dT.*\+00:00$/);
      const due = Date.parse(scheduled[0]?.eta as string);
      // Two held ETA tasks do not starve a window of one: plain tasks still run.
      const now = await Promise.all([2, 3, 4].map((i) => t.delay(i)));
      for (const r of now) await r.get({ timeout: 10_000 });
      expect(await soon.get({ timeout: 10_000 })).toBe(1);
      // On time: not before its ETA, and late only by scheduling noise (bench/ measures it on an idle worker).
      const late = (startedAt.get('1') as number) - due;
      expect(late).toBeGreaterThanOrEqual(-2);
      expect(late).toBeLessThan(1000);
      expect(await later.state()).toBe(States.PENDING);
      expect(w.scheduledRequests().map((s) => s.request.id)).toEqual([later.id]);
    });

    it('rate limit: tasks over it wait, none is dropped', async () => {
      const ran: number[] = [];
      const t = app.task('e.limited', (i: number) => ran.push(Date.now()) && i, { rateLimit: '5/s' });
      await start({ concurrency: 4 });
      const t0 = Date.now();
      const results = await Promise.all([0, 1, 2, 3].map((i) => t.delay(i)));
      expect(await Promise.all(results.map((r) => r.get({ timeout: 10_000 })))).toEqual([0, 1, 2, 3]);
      // One token at once, then one every 200 ms: the fourth runs at least ~600 ms after the first.
      expect(ran.length).toBe(4);
      expect(Math.max(...ran) - Math.min(...ran)).toBeGreaterThanOrEqual(550);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    });

    it('setRateLimit at run time; unknown tasks and malformed rates are refused with a clear error', async () => {
      app.task('e.free', () => 1);
      const w = await start();
      expect(() => w.setRateLimit('e.nope', '1/s')).toThrow(TaskError);
      expect(() => w.setRateLimit('e.free', '10 per second')).toThrow(/'<tasks>\/<s\|m\|h>'/);
      w.setRateLimit('e.free', '100/m');
      w.setRateLimit('e.free', null);
      expect(() => app.task('e.bad', () => 1, { rateLimit: 'fast' })).toThrow(ConfigError);
    });

    it('soft time limit aborts the signal with SoftTimeLimitExceeded; hard limit fails and abandons the run', async () => {
      const soft = app.task(
        'e.soft',
        async () => {
          const signal = soft.signal as AbortSignal;
          await new Promise((r) => signal.addEventListener('abort', r));
          return (signal.reason as Error).name;
        },
        { bind: true, softTimeLimit: 0.2 },
      );
      const hang = app.task('e.hang', () => new Promise<never>(() => undefined), { timeLimit: 0.3 });
      const quick = app.task('e.quick', () => 'ok');
      await start({ concurrency: 1 });
      expect(await (await soft.delay()).get({ timeout: 10_000 })).toBe('SoftTimeLimitExceeded');
      const err = await (await hang.delay()).get({ timeout: 10_000 }).catch((e: unknown) => e);
      expect((err as RemoteTaskError).excType).toBe('TimeLimitExceeded');
      // The abandoned run freed its slot: the only slot takes the next task.
      expect(await (await quick.delay()).get({ timeout: 10_000 })).toBe('ok');
    });

    it('the message timelimit header [hard, soft] and the worker-wide limit apply; setTimeLimit overrides the task', async () => {
      const hang = app.task('e.hang2', () => new Promise<never>(() => undefined));
      const w = await start({ timeLimit: 30 });
      const viaHeader = await hang.applyAsync([], { timeLimit: 0.2 });
      expect(((await viaHeader.get({ timeout: 10_000 }).catch((e: unknown) => e)) as RemoteTaskError).excType).toBe('TimeLimitExceeded');
      w.setTimeLimit('e.hang2', undefined, 0.2);
      const viaControl = await hang.delay();
      expect(((await viaControl.get({ timeout: 10_000 }).catch((e: unknown) => e)) as RemoteTaskError).excType).toBe('TimeLimitExceeded');
      expect((w.stats()['pool'] as { timeouts: number[] }).timeouts).toEqual([0, 30]);
    });

    it('revoke: a waiting task is REVOKED at once, a revoked id that arrives later never runs', async () => {
      const runs: string[] = [];
      const t = app.task('e.rev', (x: string) => void runs.push(x));
      const w = await start();
      const held = await t.applyAsync(['held'], { countdown: 60 });
      await until(() => w.scheduledRequests().length === 1, 10_000);
      w.revoke([held.id]);
      expect(await held.get({ timeout: 10_000 }).catch((e: unknown) => e)).toBeInstanceOf(TaskRevokedError);
      expect(w.scheduledRequests()).toEqual([]);
      const id = randomUUID();
      w.revoke([id]);
      const r = await t.applyAsync(['late'], { taskId: id });
      expect(await r.get({ timeout: 10_000 }).catch((e: unknown) => e)).toBeInstanceOf(TaskRevokedError);
      expect((await r.meta()).result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['revoked'] });
      expect(runs).toEqual([]);
      expect(w.revoked.ids()).toEqual([held.id, id]);
    });

    it('revoke with terminate in the async pool aborts the running task signal: REVOKED (terminated)', async () => {
      const t = app.task(
        'e.long',
        async () => {
          const signal = t.signal as AbortSignal;
          await new Promise((r) => signal.addEventListener('abort', r));
          return 'stopped';
        },
        { bind: true },
      );
      const w = await start();
      const r = await t.delay();
      await until(() => w.activeRequests().length === 1, 10_000);
      const active = w.activeRequests()[0];
      expect(active).toMatchObject({ id: r.id, name: 'e.long', type: 'e.long', hostname: w.hostname, acknowledged: true, worker_pid: process.pid });
      expect(active?.delivery_info).toHaveProperty('routing_key');
      w.revoke([r.id], { terminate: true });
      expect((await r.meta().then(async () => r.get({ timeout: 10_000 }).catch((e: unknown) => e))) as Error).toBeInstanceOf(TaskRevokedError);
      expect((await r.meta()).result).toMatchObject({ exc_message: ['terminated'] });
    });

    it('updateState: PROGRESS and its meta are readable while the task runs', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const t = app.task(
        'e.progress',
        async () => {
          await t.updateState('PROGRESS', { current: 5, total: 10 });
          await gate;
          return 'done';
        },
        { bind: true },
      );
      await start();
      const r = await t.delay();
      await until(async () => (await r.state()) === 'PROGRESS', 10_000);
      expect(await r.info()).toEqual({ current: 5, total: 10 });
      release();
      expect(await r.get({ timeout: 10_000 })).toBe('done');
    });

    it('autoretryFor with exponential back-off: RETRY in between, SUCCESS in the end; past maxRetries FAILURE with the last error', async () => {
      const attempts = new Map<string, number>();
      const t = app.task(
        'e.auto',
        (key: string, failures: number) => {
          const n = (attempts.get(key) ?? 0) + 1;
          attempts.set(key, n);
          if (n <= failures) throw new TypeError(`${key} attempt ${n}`);
          return n;
        },
        { autoretryFor: [TypeError], retryBackoff: 0.1, retryBackoffMax: 0.2, retryJitter: false, maxRetries: 2 },
      );
      await start();
      const ok = await t.delay('ok', 2);
      await until(async () => (await ok.state()) === States.RETRY, 10_000);
      expect(await ok.get({ timeout: 10_000 })).toBe(3);
      const bad = await t.delay('bad', 5);
      const err = (await bad.get({ timeout: 10_000 }).catch((e: unknown) => e)) as RemoteTaskError;
      expect(err.excType).toBe('TypeError');
      expect(err.message).toContain('bad attempt 3');
      expect(attempts.get('bad')).toBe(3);
    });

    it('trackStarted records STARTED; ignoreResult stores nothing', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const started = app.task('e.started', async () => gate.then(() => 1), { trackStarted: true });
      const ignored = app.task('e.ignored', () => 1, { ignoreResult: true });
      const w = await start();
      const r = await started.delay();
      await until(async () => (await r.state()) === States.STARTED, 10_000);
      release();
      expect(await r.get({ timeout: 10_000 })).toBe(1);
      const i = await ignored.delay();
      await until(() => (w.stats()['total'] as Record<string, number>)['e.ignored'] === 1, 10_000);
      await sleep(100);
      expect(await i.state()).toBe(States.PENDING);
    });

    it('reserved, stats, pool grow/shrink, add and cancel consumer', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const t = app.task('e.block', async (i: number) => gate.then(() => i));
      const w = await start({ concurrency: 1, prefetchMultiplier: 4 });
      const results = await Promise.all([0, 1, 2].map((i) => t.delay(i)));
      await until(() => w.reservedRequests().length === 2, 10_000);
      expect(w.reservedRequests()[0]).toMatchObject({ name: 'e.block', acknowledged: false, time_start: null });
      w.poolGrow(2);
      await until(() => w.activeRequests().length === 3, 10_000);
      w.poolShrink(2);
      expect(w.pool.concurrency).toBe(1);
      release();
      await Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
      await until(() => w.state.processed === 3, 10_000);
      const stats = w.stats();
      expect(stats).toMatchObject({ pid: process.pid, total: { 'e.block': 3 }, prefetch_count: 4, pool: { implementation: 'async', 'max-concurrency': 1 } });
      expect(stats['rusage']).toHaveProperty('utime');
      const extra = `extra-${randomUUID()}`;
      await w.addConsumer(extra);
      expect(w.queues).toContain(extra);
      const r = await t.applyAsync([9], { queue: extra });
      expect(await r.get({ timeout: 10_000 })).toBe(9);
      await w.cancelConsumer(extra);
      expect(w.queues).not.toContain(extra);
    });

    it('autoscale grows the pool with the backlog and shrinks it back when idle', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const t = app.task('e.scale', async (i: number) => gate.then(() => i));
      const w = await start({ autoscale: { max: 4, min: 1, keepalive: 100 } });
      expect(w.pool.concurrency).toBe(1);
      const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => t.delay(i)));
      await until(() => w.pool.concurrency === 4 && w.activeRequests().length === 4, 15_000);
      release();
      await Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
      await until(() => w.pool.concurrency === 1, 15_000);
    });
  });
}
