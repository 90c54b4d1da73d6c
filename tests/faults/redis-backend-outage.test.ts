// A result stored while the Redis result backend is unreachable for longer than ioredis's 20 reconnect attempts
// (about 40 s with celeriac's back-off; the last attempts wait up to 5 s each) is stored once Redis is back,
// instead of failing: a worker acks early (Celery's default), so a failed write would lose the result for good.
// Before, the write failed after ~46 s ("Reached the max retries per request limit"). Private Redis, ~90 s.
import { afterAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.js';
import { buildResultMeta } from '../../src/protocol/result-meta.js';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server.js';

describe('fault: the Redis result backend down for longer than 20 reconnect attempts', () => {
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
  }, 30_000);

  it('a result written meanwhile is stored once Redis is back', async () => {
    redis = privateRedis(await freePort());
    await redis.start();
    const app = new Celeriac('backend-outage', { broker: 'memory://', backend: redis.url });
    try {
      const backend = await app.resultBackend();
      await redis.stop();
      let outcome = 'pending';
      const write = backend.storeResult(buildResultMeta({ taskId: 'outage-1', status: 'SUCCESS', result: 42, traceback: null, now: Date.now() }));
      write.then(() => (outcome = 'stored'), (e: Error) => (outcome = `failed: ${e.message}`));
      // 20 attempts take at most 100 + 200 + ... + 3,200 + 14 × 5,000 ms = 76 s: down for 80 s.
      await new Promise((r) => setTimeout(r, 80_000));
      expect(outcome).toBe('pending');
      await redis.start();
      await write;
      expect(outcome).toBe('stored');
      expect((await backend.getMeta('outage-1')).result).toBe(42);
    } finally {
      await app.close();
    }
  }, 150_000);
});
