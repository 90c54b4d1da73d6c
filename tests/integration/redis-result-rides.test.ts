// Result writes that ride the broker's claim (src/util/redis-rides.ts): a worker whose redis:// broker and
// result backend are one private redis-server, in two databases. Every result must land in the backend's
// database in Celery's layout (celery-task-meta-<id>, the JSON record, its expiry), be published on the key's
// channel (get() waits on it), and none in the broker's database; the claim script carried them (the
// backend's own store script never ran: Redis's script cache does not hold it). A backend on another server
// writes alone.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { STORE_RESULT_LUA } from '../../src/backend/redis/store-result.js';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server.js';

const logger = createLogger({ level: 'silent' });

describe('result writes riding the redis claim', () => {
  let redis: PrivateRedis;
  let other: PrivateRedis;
  let admin: Redis;
  beforeAll(async () => {
    redis = privateRedis(await freePort());
    other = privateRedis(await freePort());
    await Promise.all([redis.start(), other.start()]);
    admin = new Redis({ host: '127.0.0.1', port: redis.port });
  }, 30_000);
  afterAll(async () => {
    await admin?.quit();
    await Promise.all([redis?.stop(), other?.stop()]);
  });

  // ioredis runs a defined command with EVALSHA, and with EVAL (which caches it) the first time the server lacks it.
  const storeScriptRan = async (r: Redis): Promise<boolean> => {
    const [exists] = (await r.script('EXISTS', createHash('sha1').update(STORE_RESULT_LUA).digest('hex'))) as number[];
    return exists === 1;
  };

  for (const concurrency of [1, 8]) {
    it(`stores every result in the backend's database with its expiry, published, through the claim (-c ${concurrency})`, async () => {
      const base = `redis://127.0.0.1:${redis.port}`;
      const app = new Celeriac('rides', { broker: `${base}/2`, backend: `${base}/5`, logLevel: 'silent', resultExpires: 600 });
      app.task('rides.add', (x: number, y: number) => x + y);
      app.task('rides.fail', () => {
        throw new Error('boom');
      });
      const results = new Redis({ host: '127.0.0.1', port: redis.port, db: 5 });
      const broker = new Redis({ host: '127.0.0.1', port: redis.port, db: 2 });
      await admin.script('FLUSH');
      const worker = await new Worker(app, { queues: ['rides'], logger, concurrency, heartbeat: false, gossip: false }).start();
      try {
        const n = 300;
        const sent = await app.sendMany<number>(Array.from({ length: n }, (_, i) => ({ name: 'rides.add', args: [i, 1], options: { queue: 'rides' } })));
        const values = await Promise.all(sent.map((r) => r.get({ timeout: 60_000 })));
        expect(values).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        const failed = await app.sendTask('rides.fail', [], { queue: 'rides' });
        await expect(failed.get({ timeout: 30_000 })).rejects.toThrow(/boom/);

        for (const r of [...sent, failed]) {
          const key = `celery-task-meta-${r.id}`;
          const text = await results.get(key);
          expect(text, key).not.toBeNull();
          const record = JSON.parse(text as string) as { status: string; task_id: string };
          expect(record.task_id).toBe(r.id);
          expect(record.status).toBe(r === failed ? 'FAILURE' : 'SUCCESS');
          const ttl = await results.pttl(key);
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(600_000);
        }
        expect(await broker.keys('celery-task-meta-*')).toEqual([]);
        expect(await broker.llen('rides')).toBe(0);
        expect(await broker.hlen('unacked')).toBe(0);
        expect(await storeScriptRan(admin)).toBe(false);
      } finally {
        await worker.stop();
        await app.close();
        await results.quit();
        await broker.quit();
      }
    }, 120_000);
  }

  it('ride_claims=false keeps the result writes on the backend connection', async () => {
    const base = `redis://127.0.0.1:${redis.port}`;
    const app = new Celeriac('rides3', { broker: `${base}/6`, backend: `${base}/7?ride_claims=false`, logLevel: 'silent' });
    app.task('rides.sub', (x: number, y: number) => x - y);
    await admin.script('FLUSH');
    const worker = await new Worker(app, { queues: ['rides3'], logger, concurrency: 1, heartbeat: false, gossip: false }).start();
    try {
      const r = await app.sendTask<number>('rides.sub', [5, 2], { queue: 'rides3' });
      expect(await r.get({ timeout: 30_000 })).toBe(3);
      expect(await storeScriptRan(admin)).toBe(true);
    } finally {
      await worker.stop();
      await app.close();
    }
  }, 60_000);

  it('a result backend on another server writes its results itself', async () => {
    const app = new Celeriac('rides2', { broker: `redis://127.0.0.1:${redis.port}/3`, backend: `redis://127.0.0.1:${other.port}/4`, logLevel: 'silent' });
    app.task('rides.mul', (x: number, y: number) => x * y);
    const elsewhere = new Redis({ host: '127.0.0.1', port: other.port, db: 4 });
    const worker = await new Worker(app, { queues: ['rides2'], logger, concurrency: 2, heartbeat: false, gossip: false }).start();
    try {
      const sent = await Promise.all(Array.from({ length: 20 }, (_, i) => app.sendTask<number>('rides.mul', [i, 3], { queue: 'rides2' })));
      expect(await Promise.all(sent.map((r) => r.get({ timeout: 30_000 })))).toEqual(Array.from({ length: 20 }, (_, i) => i * 3));
      for (const r of sent) expect(await elsewhere.exists(`celery-task-meta-${r.id}`)).toBe(1);
      expect(await storeScriptRan(elsewhere)).toBe(true);
    } finally {
      await worker.stop();
      await app.close();
      await elsewhere.quit();
    }
  }, 60_000);
});
