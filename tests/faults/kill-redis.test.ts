// kill -9 on redis:// (harness.ts), on the shared Redis under a key prefix of this file's own: a worker killed
// mid-batch, and pool children killed mid-batch, lose no task. What a dead worker held stays in kombu's
// `unacked` hash until the visibility timeout passes and a live worker's sweep restores it (10 s here, so the
// test is quick; the default is an hour).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/transport/redis/keys.js';
import { mutexExpiry, restoreVisible, type RestoreClient } from '../../src/transport/redis/restore.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { until } from '../helpers/temp.js';
import { killChildren, killWorkers, type Broker } from './harness.js';

const prefix = `faults-${randomUUID().slice(0, 8)}:`;
afterAll(() => deleteKeys(prefix));
const broker = (name: string): Broker => {
  const keys = `${prefix}${name}:`;
  return {
    name: 'redis',
    url: `${REDIS_URL}?global_keyprefix=${encodeURIComponent(keys)}&visibility_timeout=10000`,
    countsForeignUnacked: true,
    diagnose: async (queue) => {
      const redis = new Redis(REDIS_URL);
      try {
        const index = await redis.zrange(`${keys}unacked_index`, 0, 2, 'WITHSCORES');
        return `ready ${await redis.llen(`${keys}${queue}`)}, unacked ${await redis.hlen(`${keys}unacked`)}, oldest ${index.join(' ')} (now ${Date.now() / 1000}), ` +
          `mutex ${await redis.get(`${keys}unacked_mutex`)} (pttl ${await redis.pttl(`${keys}unacked_mutex`)})`;
      } finally {
        redis.disconnect();
      }
    },
  };
};

describe('kill -9 on redis://', { timeout: 150_000 }, () => {
  it('a worker killed mid-batch (late acks): none of 10,000 tasks lost, duplicates only of what it held', async () => {
    await killWorkers(broker('workers'));
  });

  it('pool children killed mid-batch (acksLate + rejectOnWorkerLost): none lost', async () => {
    await killChildren(broker('children'));
  });

  it('a sweeper that stops mid-sweep (killed) holds the unacked mutex no longer than the visibility timeout', async () => {
    const keys = new RedisKeys(`${prefix}sweeper:`, 0);
    const redis = new Redis(REDIS_URL);
    try {
      // One unacked message fetched long ago, routed through an exchange: the sweep looks its bindings up...
      await redis.hset(keys.unacked, 'tag-1', JSON.stringify([{ properties: {} }, 'some-exchange', 'rk']));
      await redis.zadd(keys.unackedIndex, 1, 'tag-1');
      // ...and never gets an answer, as when its process is killed there: the mutex is left behind.
      void restoreVisible(redis as unknown as RestoreClient, keys, () => new Promise(() => undefined), Date.now(), mutexExpiry(10_000));
      await until(async () => (await redis.exists(keys.unackedMutex)) === 1, 10_000);
      const ttl = await redis.pttl(keys.unackedMutex);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10_000);
      // kombu's 300 s stays the longest, for the default hour.
      expect(mutexExpiry(3_600_000)).toBe(300_000);
    } finally {
      redis.disconnect();
    }
  });
});
