/** The memory:// result backend's own paths: waits parked on the result's entry, copies, forget and expiry while waiting. */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../../../src/backend/memory/index.js';
import { ResultTimeoutError } from '../../../src/errors.js';
import { buildResultMeta, type ResultMeta } from '../../../src/protocol/result-meta.js';
import { States, type TaskState } from '../../../src/protocol/states.js';

const meta = (taskId: string, status: TaskState, result: unknown): ResultMeta => buildResultMeta({ taskId, status, result, now: Date.now() });

describe('memory:// result backend', () => {
  it('gives every waiter and every reader its own copy of the record', async () => {
    const b = createBackend('memory://', {});
    const id = randomUUID();
    const early = [b.waitFor(id), b.waitFor(id, { timeout: 5000 })];
    const stored = meta(id, States.SUCCESS, { list: [1, 2] });
    await b.storeResult(stored);
    (stored.result as { list: number[] }).list.push(99);
    const [a, c] = await Promise.all(early);
    expect(a).not.toBe(c);
    expect(a?.result).toEqual({ list: [1, 2] });
    (a?.result as { list: number[] }).list.push(3);
    expect(c?.result).toEqual({ list: [1, 2] });
    const late = await b.waitFor(id);
    expect(late.result).toEqual({ list: [1, 2] });
    expect((await b.getMeta(id)).result).toEqual({ list: [1, 2] });
    await b.close();
  });

  it('a record of JSON scalars (kept without its text) is copied in and out too, and reads back as Celery text', async () => {
    const b = createBackend('memory://', {});
    const id = randomUUID();
    const waiting = b.waitFor(id);
    const stored = meta(id, States.SUCCESS, 41);
    await b.storeResult(stored);
    (stored as { result: unknown }).result = 99;
    stored.children.push('changed');
    const first = await waiting;
    expect(first).toEqual({ ...meta(id, States.SUCCESS, 41), date_done: first.date_done });
    first.children.push('mine');
    const again = await b.waitFor(id);
    expect(again.result).toBe(41);
    expect(again.children).toEqual([]);
    const read = await b.getMeta(id);
    expect(Object.keys(read)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(read.result).toBe(41);
    await b.close();
  });

  it('keeps a wait parked through forget() and a non-ready write, and settles it on the ready one', async () => {
    const b = createBackend('memory://', {});
    const id = randomUUID();
    let settled = false;
    const waiting = b.waitFor(id, { timeout: 5000 }).then((m) => ((settled = true), m));
    await b.storeResult(meta(id, States.STARTED, { pid: 1 }));
    await b.forget(id);
    expect((await b.getMeta(id)).status).toBe(States.PENDING);
    await delay(5);
    expect(settled).toBe(false);
    await b.storeResult(meta(id, States.FAILURE, { exc_type: 'ValueError', exc_message: ['x'], exc_module: 'builtins' }));
    expect((await waiting).status).toBe(States.FAILURE);
    await b.close();
  });

  it('a timed-out or aborted wait leaves the others on the same id waiting, and the store clean', async () => {
    const b = createBackend('memory://', {});
    const id = randomUUID();
    const ac = new AbortController();
    const short = b.waitFor(id, { timeout: 20 });
    const aborted = b.waitFor(id, { signal: ac.signal });
    const long = b.waitFor(id, { timeout: 5000 });
    ac.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    await expect(short).rejects.toBeInstanceOf(ResultTimeoutError);
    await b.storeResult(meta(id, States.SUCCESS, 5));
    expect((await long).result).toBe(5);
    // A wait that timed out alone leaves nothing behind: the id reads PENDING, and a later result is stored.
    const lone = randomUUID();
    await expect(b.waitFor(lone, { timeout: 10 })).rejects.toBeInstanceOf(ResultTimeoutError);
    expect((await b.getMeta(lone)).status).toBe(States.PENDING);
    await b.storeResult(meta(lone, States.SUCCESS, 6));
    expect((await b.waitFor(lone)).result).toBe(6);
    await b.close();
  });

  it('a result that expired while nobody read it reads PENDING, and a wait on it waits for the next write', async () => {
    const b = createBackend('memory://', { resultExpires: 0.05 });
    const id = randomUUID();
    await b.storeResult(meta(id, States.SUCCESS, 1));
    await delay(80);
    expect((await b.getMeta(id)).status).toBe(States.PENDING);
    await expect(b.waitFor(id, { timeout: 20 })).rejects.toThrow(/state PENDING/);
    const waiting = b.waitFor(id, { timeout: 5000 });
    await b.storeResult(meta(id, States.SUCCESS, 2));
    expect((await waiting).result).toBe(2);
    await b.close();
  });

  it('never overwrites a SUCCESS, and a STARTED written after FAILURE does not replace it', async () => {
    const b = createBackend('memory://', {});
    const id = randomUUID();
    await b.storeResult(meta(id, States.SUCCESS, 1));
    await b.storeResult(meta(id, States.FAILURE, null));
    expect((await b.getMeta(id)).status).toBe(States.SUCCESS);
    const other = randomUUID();
    await b.storeResult(meta(other, States.FAILURE, null));
    await b.storeResult(meta(other, States.STARTED, null));
    expect((await b.getMeta(other)).status).toBe(States.FAILURE);
    await b.close();
  });

  it('rejects a record JSON cannot hold', async () => {
    const b = createBackend('memory://', {});
    await expect(b.storeResult(meta(randomUUID(), States.SUCCESS, 10n))).rejects.toThrow(/BigInt/);
    await b.close();
  });
});
