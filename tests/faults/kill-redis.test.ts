// kill -9 on redis:// (harness.ts), on the shared Redis under a key prefix of this file's own: a worker killed
// mid-batch, and pool children killed mid-batch, lose no task. What a dead worker held stays in kombu's
// `unacked` hash until the visibility timeout passes and a live worker's sweep restores it (10 s here, so the
// test is quick; the default is an hour).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
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
});
