// The canvas end to end with a worker in this process: chain, group, chord, map/starmap/chunks, link and
// linkError, nesting; the same test body on memory://, sqlite:// and redis://.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac, chain, chord, createLogger, group, RemoteTaskError, States, Worker, type WorkerOptions } from '../../src/index.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';

const silent = createLogger({ level: 'silent' });
const T = { timeout: 15_000 };

for (const kind of ['memory', 'sqlite', 'redis'] as const) {
  describe(`canvas on ${kind}://`, () => {
    let dir: TempDir;
    let app: Celeriac;
    const workers: Worker[] = [];
    const keyPrefix = `celeriac-test-${randomUUID()}:`;

    beforeEach(() => {
      dir = tempDir();
      const broker = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? `sqlite://${dir.file('broker.db')}` : REDIS_URL;
      app = new Celeriac('tests', { broker, backend: broker, brokerOptions: { keyPrefix }, backendOptions: { keyPrefix } });
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

    const tasks = () => {
      const add = app.task('tasks.add', (x: number, y: number) => x + y);
      const mul = app.task('tasks.mul', (x: number, y: number) => x * y);
      const tsum = app.task('tasks.tsum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
      const echo = app.task('tasks.echo', (...xs: unknown[]) => xs);
      const fail = app.task('tasks.fail', (msg: string): number => {
        throw new RangeError(msg);
      });
      const seen: unknown[][] = [];
      const record = app.task('tasks.record', (...xs: unknown[]) => {
        seen.push(xs);
        return xs.length;
      });
      return { add, mul, tsum, echo, fail, record, seen };
    };

    it('chain: each step gets the previous result first; the result is the last step', async () => {
      const { add, mul } = tasks();
      await start();
      const r = await chain(add.s(1, 1), add.s(2), mul.s(10)).applyAsync();
      expect(await r.get(T)).toBe(40);
      const piped = await add.s(3, 4).pipe(mul.s(2)).pipe(add.si(100, 1)).applyAsync();
      expect(await piped.get(T)).toBe(101);
    });

    it('group: results in order, completedCount and progress', async () => {
      const { add } = tasks();
      await start();
      const g = await group(Array.from({ length: 20 }, (_, i) => add.s(i, i))).applyAsync();
      const seen: number[] = [];
      const values = await g.get({ ...T, onProgress: (p) => seen.push(p.done) });
      expect(values).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
      expect(seen.at(-1)).toBe(20);
      expect(await g.completedCount()).toBe(20);
      expect(await g.ready()).toBe(true);
      await g.save();
      const back = await app.restoreGroup<number[]>(g.id);
      expect(back?.results.map((r) => r.id)).toEqual(g.results.map((r) => r.id));
    });

    it('a group of 10,000 goes out in one pipelined publishMany, and every result comes back in order', async () => {
      const { add } = tasks();
      await start({ concurrency: 50 });
      const transport = await app.connection();
      const batches: number[] = [];
      const single = { count: 0 };
      const publishMany = transport.publishMany.bind(transport);
      const publish = transport.publish.bind(transport);
      transport.publishMany = async (messages) => {
        batches.push(messages.length);
        return publishMany(messages);
      };
      transport.publish = async (message, options) => {
        // The worker's own events (a heartbeat, when sending 10,000 takes over 2 s on a loaded machine) do not count.
        if (options?.exchange !== 'celeryev') single.count++;
        return publish(message, options);
      };
      const n = 10_000;
      const g = await group(Array.from({ length: n }, (_, i) => add.s(i, 1))).applyAsync();
      expect(batches).toEqual([n]);
      expect(single.count).toBe(0);
      const values = await g.get({ timeout: 120_000 });
      expect(values).toHaveLength(n);
      expect(values.every((v, i) => v === i + 1)).toBe(true);
    }, 150_000);

    it('group with a failing member: get() throws it; propagate: false keeps the others', async () => {
      const { add, fail } = tasks();
      await start();
      const g = await group([add.s(1, 1), fail.s('nope'), add.s(2, 2)]).applyAsync();
      await expect(g.get(T)).rejects.toBeInstanceOf(RemoteTaskError);
      const values = await g.get({ ...T, propagate: false });
      expect(values[0]).toBe(2);
      expect(values[1]).toBeInstanceOf(RemoteTaskError);
      expect(values[2]).toBe(4);
      expect((await g.progress()).failed).toBe(1);
    });

    it('chord: the body runs once with every result in header order', async () => {
      const { add, tsum, echo } = tasks();
      await start({ concurrency: 8 });
      const r = await chord(Array.from({ length: 10 }, (_, i) => add.s(i, 1)), tsum.s()).applyAsync();
      expect(await r.get(T)).toBe(55);
      const ordered = await chord([add.s(5, 5), add.s(1, 1), add.s(3, 3)], echo.s()).applyAsync();
      expect(await ordered.get(T)).toEqual([[10, 2, 6]]);
    });

    it('chord with a failing member: the errback runs, the body does not', async () => {
      const { add, tsum, fail, record, seen } = tasks();
      await start();
      const body = tsum.s().linkError(record.s());
      const r = await chord([add.s(1, 1), fail.s('bad part'), add.s(2, 2)], body).applyAsync();
      const err = await r.get(T).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteTaskError);
      expect((err as RemoteTaskError).excType).toBe('ChordError');
      expect((err as RemoteTaskError).message).toContain('bad part');
      await until(() => seen.length === 1, 10_000);
      expect(seen[0]).toEqual([r.id]);
    });

    it('an empty chord header runs the body with an empty list', async () => {
      const { echo } = tasks();
      await start();
      const r = await chord([], echo.s()).applyAsync();
      expect(await r.get(T)).toEqual([[]]);
    });

    it('map, starmap and chunks (celery.map / celery.starmap built-ins)', async () => {
      const { add, tsum } = tasks();
      await start();
      expect(await (await tsum.map([[1, 2], [3, 4, 5]]).applyAsync()).get(T)).toEqual([3, 12]);
      expect(await (await add.starmap([[1, 2], [3, 4]]).applyAsync()).get(T)).toEqual([3, 7]);
      const g = await add.chunks(Array.from({ length: 10 }, (_, i) => [i, i] as [number, number]), 4).applyAsync();
      expect(await g.get(T)).toEqual([[0, 2, 4, 6], [8, 10, 12, 14], [16, 18]]);
    });

    it('link gets the result, linkError gets the failed task id; immutable links get their own args', async () => {
      const { add, fail, record, seen } = tasks();
      await start();
      const ok = await add.s(2, 3).link(record.s('after')).link(record.si('fixed')).applyAsync();
      expect(await ok.get(T)).toBe(5);
      const bad = await fail.s('x').applyAsync([], { linkError: record.s() });
      await bad.get({ ...T, propagate: false });
      await until(() => seen.length === 3, 10_000);
      expect(seen).toEqual(expect.arrayContaining([[5, 'after'], ['fixed'], [bad.id]]));
    });

    it('a failing chain step fails the rest of the chain, so waiting on it ends', async () => {
      const { add, fail } = tasks();
      await start();
      const r = await chain(add.s(1, 1), fail.si('broken'), add.s(1)).applyAsync();
      const err = await r.get(T).catch((e: unknown) => e);
      expect((err as RemoteTaskError).excType).toBe('RangeError');
      expect(await r.state()).toBe(States.FAILURE);
    });

    it('nested: chains in a chord header, a chord in a chain, a group followed by a step (a chord), a chord in a chord header, a chain as chord body', async () => {
      const { add, mul, tsum, echo } = tasks();
      await start({ concurrency: 8 });
      const inHeader = await chord([chain(add.s(1, 1), mul.s(10)), add.s(5, 5)], echo.s()).applyAsync();
      expect(await inHeader.get(T)).toEqual([[20, 10]]);
      const inChain = await chain(add.s(1, 2), chord([add.s(1), add.s(2)], tsum.s()), mul.s(2)).applyAsync();
      // 3 → header (4, 5) → 9 → 18
      expect(await inChain.get(T)).toBe(18);
      const upgraded = await chain(group([add.s(1, 1), add.s(2, 2)]), tsum.s()).applyAsync();
      expect(await upgraded.get(T)).toBe(6);
      const inChordHeader = await chord([chord([add.s(1, 1), add.s(2, 2)], tsum.s()), add.s(10, 10)], echo.s()).applyAsync();
      expect(await inChordHeader.get(T)).toEqual([[6, 20]]);
      const chainBody = await chord([add.s(1, 1), add.s(2, 2)], chain(tsum.s(), add.s(5))).applyAsync();
      expect(await chainBody.get(T)).toBe(11);
      const groupMidChain = await chain(add.s(1, 1), group([add.s(1), add.s(2)]), tsum.s(), add.s(100)).applyAsync();
      // 2 → (3, 4) → 7 → 107
      expect(await groupMidChain.get(T)).toBe(107);
      // A chain ending in a group: its result id is the group's, saved when the chain was sent.
      const groupLast = await chain(add.s(1, 1), group([add.s(1), add.s(2)])).applyAsync();
      const saved = await app.restoreGroup<number[]>(groupLast.id);
      expect(await saved?.get(T)).toEqual([3, 4]);
    });

    it('options travel: set({ queue }) sends to that queue', async () => {
      const { add } = tasks();
      await start({ queues: ['canvas_q'] });
      const r = await chain(add.s(1, 1).set({ queue: 'canvas_q' }), add.s(1).set({ queue: 'canvas_q' })).applyAsync();
      expect(await r.get(T)).toBe(3);
    });
  });
}
