// Fault: events sent while the broker is down are kept in the dispatcher's outbox and sent once it is back.
// A private Redis (never the shared one) is killed while a worker with task events and heartbeats runs tasks;
// the tasks finish during the outage; a monitor (another app, its own connections) sees their task-succeeded
// events, and heartbeats stamped during the outage, after Redis is back. Results go to SQLite, which stays up.
import { afterAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { tempDir, until } from '../helpers/temp.js';

describe('fault: events during a broker outage', () => {
  const dir = tempDir('celeriac-faults-events-');
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
    dir.remove();
  }, 30_000);

  it('task events and heartbeats of the outage reach a monitor after Redis is back', async () => {
    redis = privateRedis(await freePort());
    await redis.start();
    const app = new Celeriac('events-outage', { broker: redis.url, backend: `sqlite://${dir.file('r.db')}` });
    const slow = app.task('faults.slow', async (i: number) => {
      await new Promise((r) => setTimeout(r, 1000));
      return i;
    });
    const monitor = new Celeriac('events-monitor', { broker: redis.url, backend: 'memory://' });
    const receiver = monitor.events.receiver();
    const started = new Set<string>();
    const succeeded = new Map<string, number>();
    const heartbeats: number[] = [];
    receiver.on('task-started', (e) => void started.add(e.uuid));
    receiver.on('task-succeeded', (e) => void succeeded.set(e.uuid, e.timestamp * 1000));
    receiver.on('worker-heartbeat', (e) => void heartbeats.push(e.timestamp * 1000));
    await receiver.start();
    const warnings: string[] = [];
    const logger = createLogger({ level: 'warn', pretty: false });
    const warn = logger.warn.bind(logger);
    logger.warn = ((...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
      return (warn as (...a: unknown[]) => void)(...args);
    }) as typeof logger.warn;
    const worker = await new Worker(app, { logger, concurrency: 4, taskEvents: true, heartbeatInterval: 0.5 }).start();
    try {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => slow.delay(i)));
      const ids = results.map((r) => r.id);
      // The first four run (the other four are prefetched): then Redis goes away for 3 s.
      await until(() => started.size >= 4, 20_000);
      const down = Date.now();
      await redis.stop('SIGKILL');
      await new Promise((r) => setTimeout(r, 3000));
      const up = Date.now();
      await redis.start();
      await until(() => ids.every((id) => succeeded.has(id)), 40_000);
      const during = [...succeeded.values()].filter((t) => t > down && t < up);
      // Tasks finished while Redis was down, and their events arrived afterwards (none is lost).
      expect(during.length).toBeGreaterThanOrEqual(4);
      await until(() => heartbeats.some((t) => t > down && t < up), 20_000);
      expect(await Promise.all(results.map((r) => r.get({ timeout: 20_000 })))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(warnings.filter((w) => /events dropped/.test(w))).toEqual([]);
    } finally {
      await worker.stop();
      await receiver.close();
      await monitor.close();
      await app.close();
    }
  }, 120_000);
});
