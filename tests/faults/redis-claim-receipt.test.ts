// A claim whose reply never arrives (Redis went away after running it) is answered again, not lost: the claim
// script leaves a receipt of what it took, and the store's next claim goes with that receipt. Before this, the
// messages of such a claim sat in kombu's `unacked` hash until the visibility timeout (an hour by default);
// tests/faults/restart-redis.test.ts found it (8 tasks of 4,000 stuck after one SIGKILL of Redis).
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../src/transport/redis/connection.js';
import { RedisStore } from '../../src/transport/redis/store.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';

const prefix = `claim-receipt-${randomUUID().slice(0, 8)}:`;
const envelope = (tag: string): string => JSON.stringify({ body: tag, headers: {}, properties: { delivery_tag: tag, delivery_info: { exchange: '', routing_key: 'q' } } });

describe('redis:// claims are idempotent by their receipt', () => {
  afterAll(() => deleteKeys(prefix));

  it('a claim that failed after Redis ran it gets the same messages on the retry, and nothing stays unacked', async () => {
    const store = new RedisStore(REDIS_URL, parseRedisUrl(REDIS_URL), { keyPrefix: prefix, visibilityTimeout: 3_600_000 });
    await store.open();
    try {
      await store.put(['a', 'b', 'c', 'd'].map((t) => ({ queue: 'q', envelope: envelope(t), tag: t, priority: 0 })));
      // The reply of the first claim is lost: the script ran, the caller sees an error.
      const client = (store as unknown as { client: Record<string, (...args: unknown[]) => Promise<string[]>> }).client;
      const claim = client['celeriacClaim'] as (...args: unknown[]) => Promise<string[]>;
      let lose = true;
      client['celeriacClaim'] = async (...args: unknown[]) => {
        const reply = await claim.apply(client, args);
        if (lose) {
          lose = false;
          throw new Error('Connection is closed.');
        }
        return reply;
      };
      await expect(store.claim(['q'], 2, 'owner')).rejects.toThrow('Connection is closed');
      const retried = await store.claim(['q'], 2, 'owner');
      expect(retried.map((c) => c.tag)).toEqual(['a', 'b']);
      const next = await store.claim(['q'], 10, 'owner');
      expect(next.map((c) => c.tag)).toEqual(['c', 'd']);
      await store.ack(['a', 'b', 'c', 'd'], 'owner');
      expect(await store.info('q')).toEqual({ name: 'q', messages: 0, unacked: 0 });
      // The receipts are deleted by the claims that follow them.
      expect(await store.claim(['q'], 10, 'owner')).toEqual([]);
      const raw = (store as unknown as { client: { keys(p: string): Promise<string[]> } }).client;
      expect(await raw.keys(`${prefix}_celeriac.claim.*`)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
