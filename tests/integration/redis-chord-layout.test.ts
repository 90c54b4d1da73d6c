// The Redis result backend's group and chord keys, byte for byte where Python reads them: Celery 5.2.6's
// celery-taskset-meta-<gid> record and its .s / .j chord counters (see src/backend/redis/chord.ts).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/backend/redis/index.js';
import type { ResultBackend } from '../../src/index.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { resultFixtures } from '../unit/protocol/wire-fixtures.js';

describe('redis:// group and chord keys in Celery layout', () => {
  const prefix = `celeriac-test-${randomUUID()}:`;
  const made: ResultBackend[] = [];
  const redis = new Redis(REDIS_URL);

  afterEach(async () => {
    for (const b of made.splice(0)) await b.close();
    await deleteKeys(prefix);
  });

  afterAll(async () => {
    await redis.quit();
  });

  const backend = async (): Promise<ResultBackend> => {
    const b = createBackend(REDIS_URL, { keyPrefix: prefix, resultExpires: 3600 });
    made.push(b);
    await b.connect();
    return b;
  };

  it('setChordSize writes <gid>.s with the expiry; parts go to the <gid>.j sorted set scored by group_index', async () => {
    const b = await backend();
    const gid = randomUUID();
    await b.setChordSize?.(gid, 2);
    const key = `${prefix}celery-taskset-meta-${gid}`;
    expect(await redis.get(`${key}.s`)).toBe('2');
    expect(await redis.ttl(`${key}.s`)).toBeGreaterThan(3500);
    expect(await b.chordPartReturn?.({ groupId: gid, taskId: 'b', index: 1, state: 'SUCCESS', result: 'B' })).toBeNull();
    expect(await redis.type(`${key}.j`)).toBe('zset');
    expect(await redis.zrange(`${key}.j`, 0, -1, 'WITHSCORES')).toEqual(['[1,"b","SUCCESS","B"]', '1']);
    const done = await b.chordPartReturn?.({ groupId: gid, taskId: 'a', index: 0, state: 'SUCCESS', result: 'A' });
    expect(done?.map((p) => p.result)).toEqual(['A', 'B']);
    // The chord that completed removes its counters, as Celery does.
    expect(await redis.exists(`${key}.j`, `${key}.s`, `${key}.t`)).toBe(0);
  });

  it('counts the extra parts in <gid>.t (Celery adds them when a header task is replaced)', async () => {
    const b = await backend();
    const gid = randomUUID();
    const key = `${prefix}celery-taskset-meta-${gid}`;
    await b.setChordSize?.(gid, 1);
    await redis.set(`${key}.t`, '1');
    expect(await b.chordPartReturn?.({ groupId: gid, taskId: 'a', index: 0, state: 'SUCCESS', result: 1 })).toBeNull();
    expect(await b.chordPartReturn?.({ groupId: gid, taskId: 'b', index: null, state: 'SUCCESS', result: 2 })).toEqual([
      { taskId: 'a', state: 'SUCCESS', result: 1 },
      { taskId: 'b', state: 'SUCCESS', result: 2 },
    ]);
  });

  it("saveGroup writes GroupResult.save()'s record; a Python-saved record restores", async () => {
    const b = await backend();
    const [, fx] = resultFixtures().find(([name]) => name === 'taskset_group_save') as unknown as [string, { record: { result: [[string, null], [[string, null], null][]] } }];
    const [[gid], members] = fx.record.result;
    await b.saveGroup?.(gid, members.map(([[id]]) => id));
    expect(JSON.parse((await redis.get(`${prefix}celery-taskset-meta-${gid}`)) ?? 'null')).toEqual(fx.record);
    await redis.set(`${prefix}celery-taskset-meta-py`, JSON.stringify(fx.record));
    expect(await b.restoreGroup?.('py')).toEqual(members.map(([[id]]) => id));
  });
});
