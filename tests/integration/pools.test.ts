// The threads and processes pools end to end, on memory:// and sqlite://: parallel children that load the
// app module, time limits that kill, terminate, states and retries from a child, children replaced.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { Celeriac, ConfigError, createLogger, RemoteTaskError, States, TaskRevokedError, Worker, type WorkerOptions } from '../../src/index.js';
import { defineTasks } from '../fixtures/apps/pool-tasks.js';
import { ROOT } from '../helpers/processes.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const silent = createLogger({ level: 'silent' });
const APP_MODULE = `${ROOT}tests/fixtures/apps/pool-tasks.ts`;

// The pools never see the broker (the worker engine suite covers each broker): threads run on both default
// brokers, processes on sqlite only, to keep the suite's time reasonable on a 2-core machine.
const MATRIX = [['threads', 'memory'], ['threads', 'sqlite'], ['processes', 'sqlite']] as const;

for (const [pool, kind] of MATRIX) {
  {
    describe(`${pool} pool on ${kind}://`, () => {
      let dir: TempDir;
      let app: Celeriac;
      let tasks: ReturnType<typeof defineTasks>;
      const workers: Worker[] = [];

      beforeEach(() => {
        dir = tempDir();
        const url = kind === 'memory' ? 'memory://' : `sqlite://${dir.file('broker.db')}`;
        app = new Celeriac('pool-tests', { broker: url, backend: url, defaultQueue: `q-${randomUUID()}` });
        tasks = defineTasks(app as unknown as Parameters<typeof defineTasks>[0]);
      });

      afterEach(async () => {
        for (const w of workers.splice(0)) await w.stop({ cold: true });
        await app.close();
        dir.remove();
      });

      const start = async (options: WorkerOptions = {}): Promise<Worker> => {
        const w = new Worker(app, { logger: silent, concurrency: 2, pool, appModule: APP_MODULE, ...options });
        workers.push(w);
        return w.start();
      };

      it('runs tasks in two children at once', async () => {
        const w = await start();
        expect(w.pool.name).toBe(pool);
        const results = await Promise.all(Array.from({ length: 6 }, () => tasks.where.delay(150)));
        const where = await Promise.all(results.map((r) => r.get({ timeout: 30_000 })));
        const ids = new Set(where.map((x) => (pool === 'threads' ? x.thread : x.pid)));
        expect(ids.size).toBe(2);
        if (pool === 'processes') expect(ids.has(process.pid)).toBe(false);
        expect(w.stats()['pool']).toMatchObject({ implementation: pool, 'max-concurrency': 2 });
      }, 60_000);

      it('hard time limit kills the child: FAILURE TimeLimitExceeded, and a new child takes the next task', async () => {
        const w = await start({ concurrency: 1 });
        const before = w.pool.pids();
        const r = await tasks.spin.applyAsync([60_000], { timeLimit: 0.5 });
        const err = await r.get({ timeout: 30_000 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RemoteTaskError);
        expect((err as RemoteTaskError).excType).toBe('TimeLimitExceeded');
        const next = await tasks.where.delay(1);
        await next.get({ timeout: 30_000 });
        expect(w.pool.pids()).not.toEqual(before);
      }, 60_000);

      it('soft time limit aborts the task signal with SoftTimeLimitExceeded inside the child', async () => {
        await start();
        const r = await tasks.waitAbort.applyAsync([], { softTimeLimit: 0.3, timeLimit: 20 });
        expect(await r.get({ timeout: 30_000 })).toBe('aborted: SoftTimeLimitExceeded');
        // Uncaught, it is stored in billiard's wire form, as a Python worker stores it.
        const thrown = await tasks.softThrow.applyAsync([], { softTimeLimit: 0.3 });
        await thrown.get({ timeout: 30_000, propagate: false });
        expect((await thrown.meta()).result).toMatchObject({ exc_type: 'SoftTimeLimitExceeded', exc_module: 'billiard.exceptions' });
      }, 60_000);

      it('terminate stops a running task (REVOKED terminated) and the pool keeps working', async () => {
        const w = await start({ concurrency: 1 });
        const r = await tasks.spin.delay(60_000);
        await until(() => w.activeRequests().some((a) => a.id === r.id), 20_000);
        // inspect active names the child running it.
        if (pool === 'processes') await until(() => w.pool.pids().includes(w.activeRequests()[0]?.worker_pid as number), 20_000);
        expect(() => w.revoke([r.id], { terminate: true, signal: 'SIGNOPE' })).toThrow(/unknown signal 'SIGNOPE'/);
        w.revoke([r.id], { terminate: true, signal: 'KILL' });
        const err = await r.get({ timeout: 30_000 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TaskRevokedError);
        expect((await r.meta()).result).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['terminated'] });
        expect(await (await tasks.where.delay(1)).get({ timeout: 30_000 })).toHaveProperty('pid');
      }, 60_000);

      it('a child that exits mid-task: FAILURE WorkerLostError, and a new child serves the next task', async () => {
        await start({ concurrency: 1 });
        const err = await (await tasks.crash.delay()).get({ timeout: 30_000 }).catch((e: unknown) => e);
        expect((err as RemoteTaskError).excType).toBe('WorkerLostError');
        expect(await (await tasks.where.delay(1)).get({ timeout: 30_000 })).toHaveProperty('pid');
      }, 60_000);

      it('updateState from a child is readable as PROGRESS before the result', async () => {
        await start();
        const gate = dir.file('gate');
        const r = await tasks.progress.delay(gate);
        await until(async () => (await r.state()) === 'PROGRESS', 20_000);
        expect(await r.info()).toEqual({ step: 1, of: 2 });
        writeFileSync(gate, '');
        expect(await r.get({ timeout: 30_000 })).toBe('done');
      }, 60_000);

      it('retry() inside a child: RETRY between attempts, then SUCCESS', async () => {
        await start();
        const r = await tasks.retrying.delay();
        expect(await r.get({ timeout: 30_000 })).toBe(2);
      }, 60_000);

      it('autoretryFor with back-off in a child, and maxRetries exceeded gives FAILURE with the last error', async () => {
        await start();
        const ok = await tasks.flaky.delay(2, dir.file('ok'));
        expect(await ok.get({ timeout: 30_000 })).toBe(3);
        const bad = await tasks.flaky.delay(10, dir.file('bad'));
        const err = await bad.get({ timeout: 30_000 }).catch((e: unknown) => e);
        expect((err as RemoteTaskError).excType).toBe('TypeError');
        expect((err as RemoteTaskError).message).toContain('run 4 fails');
      }, 60_000);

      it('--max-tasks-per-child replaces a child after its tasks', async () => {
        await start({ concurrency: 1, maxTasksPerChild: 2 });
        const seen: number[] = [];
        for (let i = 0; i < 4; i++) {
          const x = await (await tasks.where.delay(1)).get({ timeout: 30_000 });
          seen.push(pool === 'threads' ? x.thread : x.pid);
        }
        expect(seen[0]).toBe(seen[1]);
        expect(seen[2]).toBe(seen[3]);
        expect(seen[2]).not.toBe(seen[1]);
      }, 60_000);

      it('--max-memory-per-child replaces a child whose task left it above the limit', async () => {
        const w = await start({ concurrency: 1, maxMemoryPerChild: 1 });
        const first = await (await tasks.where.delay(1)).get({ timeout: 30_000 });
        const second = await (await tasks.where.delay(1)).get({ timeout: 30_000 });
        expect(pool === 'threads' ? second.thread : second.pid).not.toBe(pool === 'threads' ? first.thread : first.pid);
        expect(w.stats()['pool']).toMatchObject({ 'max-memory-per-child': 1 });
      }, 60_000);

      it('autoscale starts children for the backlog and retires them when idle', async () => {
        const w = await start({ autoscale: { max: 3, min: 1, keepalive: 200 } });
        expect(w.pool.pids()).toHaveLength(1);
        const results = await Promise.all(Array.from({ length: 6 }, () => tasks.where.delay(400)));
        await until(() => w.pool.pids().length === 3, 20_000);
        await Promise.all(results.map((r) => r.get({ timeout: 30_000 })));
        await until(() => w.pool.pids().length === 1, 20_000);
        expect(w.stats()['pool']).toMatchObject({ autoscaler: { max: 3, min: 1, qty: 1 } });
      }, 60_000);

      it('pool grow and shrink change the children', async () => {
        const w = await start({ concurrency: 1 });
        w.poolGrow(2);
        await until(() => w.pool.pids().length === 3, 20_000);
        expect(w.pool.concurrency).toBe(3);
        w.poolShrink(2);
        await until(() => w.pool.pids().length === 1, 20_000);
        expect(await (await tasks.where.delay(1)).get({ timeout: 30_000 })).toHaveProperty('pid');
      }, 60_000);
    });
  }
}

describe('pool choice', () => {
  it('threads or processes without the app module is a clear error', () => {
    const app = new Celeriac('x', { broker: 'memory://', backend: 'memory://' });
    expect(() => new Worker(app, { pool: 'threads', logger: silent })).toThrow(ConfigError);
    expect(() => new Worker(app, { pool: 'processes', logger: silent })).toThrow(/appModule/);
  });

  it.each(['threads', 'processes'] as const)('%s: an app module without the app fails start() with what to fix, and leaves no child behind', async (pool) => {
    const app = new Celeriac('x', { broker: 'memory://', backend: 'memory://' });
    const w = new Worker(app, { pool, concurrency: 2, appModule: `${ROOT}tests/fixtures/apps/pool-tasks.ts:nothing`, logger: silent });
    await expect(w.start()).rejects.toThrow(/exports no celeriac app named 'nothing'/);
    await until(() => w.pool.pids().length === 0, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(w.pool.pids()).toEqual([]);
    await w.stop({ cold: true });
    await app.close();
  }, 30_000);
});

describe('processes pool: a child killed with SIGKILL mid-task', () => {
  let dir: TempDir;
  let app: Celeriac;
  let tasks: ReturnType<typeof defineTasks>;
  let worker: Worker | undefined;

  beforeEach(() => {
    dir = tempDir();
    const url = `sqlite://${dir.file('broker.db')}`;
    app = new Celeriac('pool-kill', { broker: url, backend: url });
    tasks = defineTasks(app as unknown as Parameters<typeof defineTasks>[0]);
  });

  afterEach(async () => {
    await worker?.stop({ cold: true });
    await app.close();
    dir.remove();
  });

  const killBusyChild = async (w: Worker, id: string): Promise<void> => {
    await until(() => w.activeRequests().some((a) => a.id === id), 20_000);
    await new Promise((r) => setTimeout(r, 200));
    const pids = w.pool.pids();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
  };

  it('without rejectOnWorkerLost: FAILURE WorkerLostError, and a new child serves the next task', async () => {
    worker = await new Worker(app, { pool: 'processes', concurrency: 1, appModule: APP_MODULE, logger: silent }).start();
    const r = await tasks.spin.delay(60_000);
    await killBusyChild(worker, r.id);
    const err = await r.get({ timeout: 30_000 }).catch((e: unknown) => e);
    expect((err as RemoteTaskError).excType).toBe('WorkerLostError');
    expect(await (await tasks.where.delay(1)).get({ timeout: 30_000 })).toHaveProperty('pid');
  }, 60_000);

  it('with acksLate and rejectOnWorkerLost: the task is handed back and completes exactly once', async () => {
    const file = dir.file('runs.log');
    // Children (and their replacements) inherit it.
    process.env['RECORD_FILE'] = file;
    onTestFinished(() => {
      delete process.env['RECORD_FILE'];
    });
    worker = await new Worker(app, { pool: 'processes', concurrency: 2, appModule: APP_MODULE, logger: silent }).start();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => tasks.guarded.delay(i, 400)));
    await until(() => worker!.activeRequests().length === 2, 20_000);
    for (const pid of worker.pool.pids()) process.kill(pid, 'SIGKILL');
    const values = await Promise.all(results.map((r) => r.get({ timeout: 30_000 })));
    expect(values).toEqual([0, 1, 2, 3, 4, 5]);
    for (const r of results) expect(await r.state()).toBe(States.SUCCESS);
    const runs = readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number).sort();
    expect(runs).toEqual([0, 1, 2, 3, 4, 5]);
  }, 60_000);
});
