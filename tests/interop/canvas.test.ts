// Canvas interop with Python Celery (Debian's 5.2.x) on Redis: chains, chords and links built on one side
// run on the other, and chords whose header parts run partly on a Python worker and partly on a celeriac
// worker complete once, with results in header order (both count in Celery's celery-taskset-meta-<gid>.j).
// One Python worker (queue qp) and one celeriac worker (queue qt); every signature names its queue.
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, chain, chord, RemoteTaskError, type AsyncResult } from '../../src/index.js';
import type { Spawned } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/redis.js';
import { cleanupRedis, PY_DIR, PYTHON, pythonEnv, requirePythonCelery, startCeleriacWorker, startPythonWorker, stopProcess, type PyOutcome } from './helpers.js';

const GET = { timeout: 30_000 };

interface CanvasRun {
  id: string;
  outcome: PyOutcome;
  /** Every task id of the workflow the Python producer knows (for cleanup). */
  ids: string[];
}

/** Task ids the Python producer reported, removed from Redis after the suite. */
const tracked = new Set<string>();

/** Runs tests/fixtures/python/canvas_producer.py with a plan (see its docstring). */
function runPythonCanvas(plan: Record<string, unknown>, limit = 60_000): Promise<CanvasRun> {
  const body = JSON.stringify({ broker: REDIS_URL, backend: REDIS_URL, timeout: 30, ...plan });
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['canvas_producer.py', body], { cwd: PY_DIR, env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`canvas_producer.py failed (exit ${String(code)}):\n${stdout.slice(-2000)}\n${stderr.slice(-4000)}`));
      else {
        const run = JSON.parse(line) as CanvasRun;
        for (const id of run.ids) tracked.add(id);
        resolve(run);
      }
    });
  });
}

/**
 * Python Celery leaves a chord's counters behind when a part failed (its ChordError is raised before the
 * cleanup): deletes the .j / .s / .t keys of every chord with a part among `ids`.
 */
async function deleteChordKeys(ids: ReadonlySet<string>): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', 'celery-taskset-meta-*.j', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const members = await redis.zrange(key, 0, -1);
        const ours = members.some((m) => {
          try {
            return ids.has((JSON.parse(m) as unknown[])[1] as string);
          } catch {
            return false;
          }
        });
        if (ours) await redis.del(key, `${key.slice(0, -2)}.s`, `${key.slice(0, -2)}.t`);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

beforeAll(() => {
  requirePythonCelery();
});

describe('canvas between Python Celery and celeriac (redis)', () => {
  const tag = randomUUID();
  const qp = `interop-canvas-py-${tag}`;
  const qt = `interop-canvas-ts-${tag}`;
  const nodeName = `canvas-${tag.slice(-12)}@interop`;
  const taskIds = new Set<string>();
  let python: Spawned | undefined;
  let celeriac: Spawned | undefined;
  let app: Celeriac;

  const track = <T>(r: AsyncResult<T>): AsyncResult<T> => {
    taskIds.add(r.id);
    return r;
  };

  beforeAll(async () => {
    app = new Celeriac('interop-canvas', { broker: REDIS_URL, backend: REDIS_URL });
    [python, celeriac] = await Promise.all([startPythonWorker(REDIS_URL, qp, nodeName), startCeleriacWorker(REDIS_URL, qt, ['-c', '4', '-n', `canvas-ts-${tag.slice(-8)}@%h`])]);
  }, 90_000);

  afterAll(async () => {
    if (process.env['INTEROP_DEBUG']) console.log(python?.output(), celeriac?.output());
    await Promise.all([stopProcess(python), stopProcess(celeriac)]);
    await app?.close();
    const ids = new Set([...taskIds, ...tracked]);
    await deleteChordKeys(ids);
    await cleanupRedis(REDIS_URL, { queues: [qp, qt], taskIds: ids, nodeNames: [nodeName] });
  }, 30_000);

  describe('built in Python', () => {
    it('a chain across both workers: 7', async () => {
      const run = await runPythonCanvas({ qp, qt, case: 'chain' });
      taskIds.add(run.id);
      expect(run.outcome).toMatchObject({ ok: true, result: 7 });
    });

    it('a chord run by celeriac workers: the body gets every result once', async () => {
      const run = await runPythonCanvas({ qp, qt, case: 'chord' });
      taskIds.add(run.id);
      expect(run.outcome).toMatchObject({ ok: true, result: 30 });
    });

    it('a chord whose header runs on both workers completes once, results in header order', async () => {
      const run = await runPythonCanvas({ qp, qt, case: 'chord_mixed' });
      taskIds.add(run.id);
      // The body is celeriac's interop.echo: it returns its arguments.
      expect(run.outcome).toMatchObject({ ok: true, result: [[100, 101, 102, 103, 104, 105, 106, 107]] });
    });

    it('a chord with a member failing on the Python worker: the body fails with ChordError', async () => {
      const run = await runPythonCanvas({ qp, qt, case: 'chord_fail' });
      taskIds.add(run.id);
      expect(run.outcome).toMatchObject({ ok: false, state: 'FAILURE', exc_type: 'ChordError' });
      expect(run.outcome.exc_str).toContain('boom');
    });

    it('a chord inside a chain, parts on both workers: the chain goes on after the body', async () => {
      const run = await runPythonCanvas({ qp, qt, case: 'chain_chord' });
      taskIds.add(run.id);
      // 1 + 2 = 3 → header (3 + 1, 3 + 2) → tsum 9 → 9 + 10
      expect(run.outcome).toMatchObject({ ok: true, result: 19 });
    });

    it('link: celeriac sends the callback with the result, the Python worker runs it', async () => {
      const link = randomUUID();
      taskIds.add(link);
      const run = await runPythonCanvas({ qp, qt, case: 'link', ids: { link } });
      taskIds.add(run.id);
      expect(run.outcome).toMatchObject({ ok: true, result: 4 });
      expect(await app.AsyncResult(link).get(GET)).toEqual({ args: [4], kwargs: {} });
    });

    it('link_error: celeriac sends the errback with the failed task id', async () => {
      const errback = randomUUID();
      taskIds.add(errback);
      const run = await runPythonCanvas({ qp, qt, case: 'link_error', ids: { errback } });
      taskIds.add(run.id);
      expect(run.outcome).toMatchObject({ ok: false, exc_type: 'ValueError' });
      expect(await app.AsyncResult(errback).get(GET)).toEqual({ args: [run.id], kwargs: {} });
    });

    it('map, starmap and chunks: the celeriac worker runs celery.map and celery.starmap', async () => {
      const map = await runPythonCanvas({ qp, qt, case: 'map' });
      const starmap = await runPythonCanvas({ qp, qt, case: 'starmap' });
      const chunks = await runPythonCanvas({ qp, qt, case: 'chunks' });
      for (const run of [map, starmap, chunks]) for (const id of run.ids) taskIds.add(id);
      expect(map.outcome).toMatchObject({ ok: true, result: [3, 3] });
      expect(starmap.outcome).toMatchObject({ ok: true, result: [3, 7] });
      expect(chunks.outcome).toMatchObject({ ok: true, result: [[0, 2], [4, 6], [8]] });
    });
  });

  describe('built in celeriac', () => {
    const on = (queue: string) => ({ queue });
    /** A signature on the Python worker's queue, with an id of its own (tracked for cleanup). */
    const sig = <R = unknown>(name: string, args: unknown[] = []) => {
      const taskId = randomUUID();
      taskIds.add(taskId);
      return app.signature<R>(name, args).set({ queue: qp, taskId });
    };
    const add = (...args: number[]) => sig<number>('interop.add', args);

    it('a chain across both workers: 7', async () => {
      const r = track(await chain(add(1, 1).set(on(qt)), add(2), add(3).set(on(qt))).applyAsync());
      expect(await r.get(GET)).toBe(7);
    });

    it('a chord run by the Python worker', async () => {
      const r = track(await chord([0, 1, 2, 3, 4, 5].map((i) => add(i, i)), sig<number>('interop.tsum')).applyAsync());
      expect(await r.get(GET)).toBe(30);
    });

    it('a chord whose header runs on both workers, body on the Python worker: once, in order', async () => {
      const header = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => add(i, 100).set(on(i % 2 ? qp : qt)));
      const r = track(await chord(header, sig('interop.echo')).applyAsync());
      expect(await r.get(GET)).toEqual({ args: [[100, 101, 102, 103, 104, 105, 106, 107]], kwargs: {} });
    });

    it('a chord inside a chain, parts on both workers', async () => {
      const inner = chord([add(1), add(2).set(on(qt))], sig<number>('interop.tsum').set(on(qt)));
      const r = track(await chain(add(1, 2).set(on(qt)), inner, add(10)).applyAsync());
      expect(await r.get(GET)).toBe(19);
    });

    it('a chord with a member failing on the Python worker: ChordError', async () => {
      const header = [add(1, 1).set(on(qt)), sig('interop.fail'), add(2, 2)];
      const r = track(await chord(header, sig<number>('interop.tsum').set(on(qt))).applyAsync());
      const err = await r.get(GET).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteTaskError);
      expect((err as RemoteTaskError).excType).toBe('ChordError');
    });

    it('map, starmap and chunks run by the Python worker (its celery.map / celery.starmap built-ins)', async () => {
      // A producer-only app: the functions are never run here, they only give the signatures their types.
      const local = new Celeriac('interop-canvas-local', { broker: REDIS_URL, backend: REDIS_URL });
      try {
        const addT = local.task('interop.add', (x: number, y: number) => x + y);
        const tsumT = local.task('interop.tsum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
        const m = track(await tsumT.map([[1, 2], [3]]).set(on(qp)).applyAsync());
        const s = track(await addT.starmap([[1, 2], [3, 4]]).set(on(qp)).applyAsync());
        const c = await addT.chunks([0, 1, 2, 3, 4].map((i) => [i, i] as [number, number]), 2).applyAsync([], on(qp));
        c.results.forEach(track);
        expect(await m.get(GET)).toEqual([3, 3]);
        expect(await s.get(GET)).toEqual([3, 7]);
        expect(await c.get(GET)).toEqual([[0, 2], [4, 6], [8]]);
      } finally {
        await local.close();
      }
    });

    it('link and linkError run by the other side', async () => {
      const link = randomUUID();
      const errback = randomUUID();
      const ok = track(await add(2, 2).link(app.signature('interop.echo').set({ queue: qt, taskId: link })).applyAsync());
      expect(await ok.get(GET)).toBe(4);
      expect(await track(app.AsyncResult(link)).get(GET)).toEqual([4]);
      // Python's worker runs an errback it knows inline (new-style, with the request); one only celeriac
      // knows (interop.greet) is sent as a task with the failed id, as Celery does for old-style errbacks.
      const bad = track(await sig('interop.fail').linkError(app.signature('interop.greet').set({ queue: qt, taskId: errback })).applyAsync());
      await expect(bad.get(GET)).rejects.toBeInstanceOf(RemoteTaskError);
      expect(await track(app.AsyncResult(errback)).get(GET)).toBe(`hello, ${bad.id}`);
    });
  });
});
