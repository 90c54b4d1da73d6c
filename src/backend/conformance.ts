/**
 * The shared ResultBackend contract suite: every result store runs these same cases by swapping only a
 * factory (`tests/conformance/backend-<store>.test.ts`). Framework-agnostic (`{ name, run }` with
 * node:assert). Each case uses fresh task ids and closes every backend it made.
 *
 * The factory gets the backend options and a store id: backends made with the same id inside one case
 * must share their data when the store can (files, servers); that enables the cross-instance case.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ResultTimeoutError } from '../errors.js';
import { buildResultMeta, type ResultMeta } from '../protocol/result-meta.js';
import { States, type TaskState } from '../protocol/states.js';
import type { BackendOptions, ResultBackend } from './types.js';
import { groupCases } from './conformance-groups.js';

export interface ConformanceCase {
  name: string;
  run: () => Promise<void>;
  /** Set when the case does not apply to this backend: the reason. */
  skip?: string;
}

export interface BackendConformanceOptions {
  /** A stored result wakes a waiter of the same instance within this many ms (default 100). */
  promptMs?: number;
  /** Backends made with the same store id share their data (another process would see it). */
  shared?: boolean;
  /** How promptly another instance's write wakes a waiter, ms (default 500). */
  sharedPromptMs?: number;
  /** False when the backend keeps no group and chord records (./groups.ts); default true. */
  groups?: boolean;
}

export type BackendConformanceFactory = (options: BackendOptions, storeId: string) => Promise<ResultBackend> | ResultBackend;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function meta(taskId: string, status: TaskState, result: unknown, extra: Partial<ResultMeta> = {}): ResultMeta {
  return { ...buildResultMeta({ taskId, status, result, now: Date.now() }), ...extra };
}

/** Backends for one case, all closed afterwards. */
class Fixture {
  readonly storeId = randomUUID();
  private readonly made: ResultBackend[] = [];

  constructor(private readonly factory: BackendConformanceFactory) {}

  async backend(options: BackendOptions = {}): Promise<ResultBackend> {
    const b = await this.factory(options, this.storeId);
    this.made.push(b);
    await b.connect();
    return b;
  }

  async cleanup(): Promise<void> {
    for (const b of this.made) await b.close().catch(() => undefined);
  }
}

export function backendConformance(factory: BackendConformanceFactory, options: BackendConformanceOptions = {}): ConformanceCase[] {
  const promptMs = options.promptMs ?? 100;
  const cases: ConformanceCase[] = [];
  const add = (name: string, fn: (f: Fixture) => Promise<void>, skip?: string): void => {
    cases.push({
      name,
      ...(skip ? { skip } : {}),
      run: async () => {
        const f = new Fixture(factory);
        try {
          await fn(f);
        } finally {
          await f.cleanup();
        }
      },
    });
  };

  add('a task with no stored result is PENDING', async (f) => {
    const b = await f.backend();
    const id = randomUUID();
    assert.deepEqual(await b.getMeta(id), { status: 'PENDING', result: null, traceback: null, children: [], date_done: null, task_id: id });
  });

  add('store and get round trip (SUCCESS, FAILURE, STARTED, extended fields)', async (f) => {
    const b = await f.backend();
    const ok = meta(randomUUID(), States.SUCCESS, { nested: [1, 'two', null], n: 1.5 }, { children: [[['c1', null], null]] });
    const failed = meta(randomUUID(), States.FAILURE, { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' }, { traceback: 'Traceback ...' });
    const started = meta(randomUUID(), States.STARTED, { pid: 42, hostname: 'w@h' });
    const extended = buildResultMeta({
      taskId: randomUUID(), status: States.SUCCESS, result: 4, now: Date.now(), groupId: 'g1', parentId: 'p1',
      extended: { name: 'tasks.add', args: [2, 2], kwargs: {}, worker: 'w@h', retries: 0, queue: 'celery' },
    });
    for (const m of [ok, failed, started, extended]) {
      await b.storeResult(m);
      assert.deepEqual(await b.getMeta(m.task_id), m, `${m.status} round trip`);
    }
    assert.match(ok.date_done ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    assert.equal(started.date_done, null);
  });

  add('a stored SUCCESS is never overwritten by a later state', async (f) => {
    const b = await f.backend();
    const id = randomUUID();
    const success = meta(id, States.SUCCESS, 4);
    await b.storeResult(success);
    for (const later of [States.STARTED, States.RETRY, States.FAILURE, States.REVOKED, States.PENDING]) {
      await b.storeResult(meta(id, later, null));
      assert.deepEqual(await b.getMeta(id), success, `SUCCESS must survive a later ${later}`);
    }
  });

  add('a ready state is not replaced by a non-ready one; non-ready states progress', async (f) => {
    const b = await f.backend();
    const id = randomUUID();
    await b.storeResult(meta(id, States.STARTED, { pid: 1 }));
    await b.storeResult(meta(id, States.RETRY, null));
    assert.equal((await b.getMeta(id)).status, States.RETRY);
    const failure = meta(id, States.FAILURE, { exc_type: 'E', exc_message: [], exc_module: 'builtins' });
    await b.storeResult(failure);
    for (const late of [States.STARTED, States.RETRY, States.PENDING, States.RECEIVED]) {
      await b.storeResult(meta(id, late, null));
      assert.deepEqual(await b.getMeta(id), failure, `FAILURE must survive a late ${late}`);
    }
  });

  add('waitFor returns at once for a ready result', async (f) => {
    const b = await f.backend();
    const m = meta(randomUUID(), States.SUCCESS, 'done');
    await b.storeResult(m);
    assert.deepEqual(await b.waitFor(m.task_id, { timeout: 1000 }), m);
  });

  add(`waitFor resolves promptly (< ${promptMs} ms) when the result is stored later`, async (f) => {
    const b = await f.backend();
    const id = randomUUID();
    let resolvedAt = 0;
    const waiting = b.waitFor(id, { timeout: 10_000 }).then((m) => {
      resolvedAt = Date.now();
      return m;
    });
    await delay(30);
    await b.storeResult(meta(id, States.STARTED, { pid: 1 }));
    await delay(30);
    assert.equal(resolvedAt, 0, 'a non-ready state must not end the wait');
    const stored = meta(id, States.SUCCESS, 7);
    await b.storeResult(stored);
    const storedAt = Date.now();
    assert.deepEqual(await waiting, stored);
    assert.ok(resolvedAt - storedAt < promptMs, `woke after ${resolvedAt - storedAt} ms (limit ${promptMs} ms)`);
  });

  add('waitFor times out with ResultTimeoutError', async (f) => {
    const b = await f.backend();
    const started = Date.now();
    await assert.rejects(b.waitFor(randomUUID(), { timeout: 80 }), ResultTimeoutError);
    assert.ok(Date.now() - started >= 70, 'the timeout is honoured, not cut short');
  });

  add('waitFor stops when its signal aborts', async (f) => {
    const b = await f.backend();
    const ac = new AbortController();
    const waiting = b.waitFor(randomUUID(), { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await assert.rejects(waiting, /stop/);
    await assert.rejects(b.waitFor(randomUUID(), { signal: AbortSignal.abort(new Error('already')) }), /already/);
  });

  add('many concurrent waiters all get their own result', async (f) => {
    const b = await f.backend();
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const waits = ids.flatMap((id) => [b.waitFor(id, { timeout: 10_000 }), b.waitFor(id, { timeout: 10_000 })]);
    await delay(10);
    await Promise.all(ids.map((id, i) => b.storeResult(meta(id, States.SUCCESS, i))));
    const got = await Promise.all(waits);
    got.forEach((m, j) => {
      const i = Math.floor(j / 2);
      assert.equal(m.task_id, ids[i]);
      assert.equal(m.result, i);
    });
  });

  add('forget removes the result', async (f) => {
    const b = await f.backend();
    const m = meta(randomUUID(), States.SUCCESS, 1);
    await b.storeResult(m);
    await b.forget(m.task_id);
    assert.equal((await b.getMeta(m.task_id)).status, States.PENDING);
    await b.forget(randomUUID()); // forgetting an unknown id is fine
  });

  add('results expire after resultExpires', async (f) => {
    const b = await f.backend({ resultExpires: 0.15 });
    const m = meta(randomUUID(), States.SUCCESS, 1);
    await b.storeResult(m);
    assert.equal((await b.getMeta(m.task_id)).status, States.SUCCESS);
    await delay(300);
    assert.equal((await b.getMeta(m.task_id)).status, States.PENDING);
    const forever = await f.backend({ resultExpires: 0 });
    const kept = meta(randomUUID(), States.SUCCESS, 2);
    await forever.storeResult(kept);
    await delay(50);
    assert.equal((await forever.getMeta(kept.task_id)).status, States.SUCCESS, 'resultExpires 0 keeps results');
  });

  add('close() fails pending waiters instead of leaving them hanging', async (f) => {
    const b = await f.backend();
    const waiting = b.waitFor(randomUUID());
    await delay(10);
    await b.close();
    await assert.rejects(waiting, /closed/);
  });

  add(
    'a result stored by another instance on the same store wakes a waiter',
    async (f) => {
      const reader = await f.backend();
      const writer = await f.backend();
      const id = randomUUID();
      const waiting = reader.waitFor(id, { timeout: 10_000 });
      await delay(20);
      const stored = meta(id, States.SUCCESS, 'cross');
      await writer.storeResult(stored);
      const storedAt = Date.now();
      assert.deepEqual(await waiting, stored);
      const took = Date.now() - storedAt;
      const limit = options.sharedPromptMs ?? 500;
      assert.ok(took < limit, `woke after ${took} ms (limit ${limit} ms)`);
    },
    options.shared ? undefined : 'instances do not share a store',
  );

  groupCases(add, options);
  return cases;
}
