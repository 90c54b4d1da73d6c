// 10,000 hostile task messages (a tenth of them raw list entries that are not kombu envelopes), interleaved
// with good ones, into a worker on the shared Redis, under a key prefix of its own.
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, it } from 'vitest';
import { RedisKeys } from '../../src/transport/redis/keys.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { checkOutcome, fuzzWorker, summary } from './harness.js';

describe('hostile task messages on redis://', () => {
  const prefix = `fuzz-${randomUUID().slice(0, 8)}:`;
  afterAll(() => deleteKeys(prefix));

  it('the worker stays up, dead-letters each bad message with its reason, runs every good one', async () => {
    const out = await fuzzWorker(
      {
        url: REDIS_URL,
        brokerOptions: { keyPrefix: prefix },
        inject: async (queue, envelopes) => {
          const redis = new Redis(REDIS_URL);
          try {
            await redis.lpush(new RedisKeys(prefix, 0).list(queue, 0), ...envelopes);
          } finally {
            await redis.quit();
          }
        },
      },
      { bad: 10_000, good: 2_000 },
    );
    console.log(summary('redis', out));
    checkOutcome(out);
  }, 120_000);
});
