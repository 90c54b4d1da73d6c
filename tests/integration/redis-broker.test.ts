// The Redis broker against its own redis-server: surviving a restart, and clear connection errors.
import { afterEach, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, TransportError, Worker } from '../../src/index.js';
import { createTransport } from '../../src/transport/redis/index.js';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { tempDir, until } from '../helpers/temp.js';

describe('redis:// broker connections', () => {
  const servers: PrivateRedis[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  it('an unreachable host: TransportError naming the URL and what to check', async () => {
    const port = await freePort();
    const t = createTransport(`redis://:hunter2@127.0.0.1:${port}/0`, {});
    const err = await t.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toContain(`redis://:**@127.0.0.1:${port}/0`);
    expect((err as Error).message).not.toContain('hunter2');
    expect((err as Error).message).toMatch(/ECONNREFUSED.*Check that Redis is running there/);
  });

  it('a wrong password: TransportError that says to check the password, with the password masked', async () => {
    const port = await freePort();
    const server = privateRedis(port, ['--requirepass', 'right-one'], 'right-one');
    servers.push(server);
    await server.start();
    const t = createTransport(`redis://:wrong-one@127.0.0.1:${port}/0`, {});
    const err = await t.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/WRONGPASS|invalid username-password/i);
    expect((err as Error).message).toContain('Check the user name and password');
    expect((err as Error).message).not.toContain('wrong-one');
    const ok = createTransport(server.url, {});
    await ok.connect();
    await ok.close();
  });

  it('a worker survives a Redis restart: it reconnects, says so once, and keeps consuming', async () => {
    const port = await freePort();
    const server = privateRedis(port);
    servers.push(server);
    await server.start();
    const dir = tempDir();
    const lines: string[] = [];
    const logger = createLogger({ level: 'error', pretty: false });
    const origError = logger.error.bind(logger);
    logger.error = ((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
      return (origError as (...a: unknown[]) => void)(...args);
    }) as typeof logger.error;
    const app = new Celeriac('restart', { broker: server.url, backend: `sqlite://${dir.file('r.db')}` });
    const add = app.task('tasks.add', (x: number, y: number) => x + y);
    const worker = await new Worker(app, { logger, concurrency: 4 }).start();
    try {
      expect(await (await add.delay(1, 2)).get({ timeout: 10_000 })).toBe(3);
      await server.stop();
      await new Promise((r) => setTimeout(r, 300));
      await server.start();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => add.delay(i, i)));
      const values = await Promise.all(results.map((r) => r.get({ timeout: 20_000 })));
      expect(values).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
      await until(() => lines.some((l) => l.includes('lost the connection to the broker')), 5000);
      expect(lines.filter((l) => l.includes('lost the connection to the broker')).length).toBe(1);
    } finally {
      await worker.stop();
      await app.close();
      dir.remove();
    }
  }, 60_000);

  it('a countdown longer than the visibility timeout runs exactly once (the worker keeps its hold alive; kombu#337)', async () => {
    const port = await freePort();
    const server = privateRedis(port);
    servers.push(server);
    await server.start();
    const runs: number[] = [];
    const mk = () => new Celeriac('eta', { broker: server.url, backend: server.url, visibilityTimeout: 1000 });
    const app = mk();
    const other = mk();
    const t = app.task('tasks.once', (i: number) => {
      runs.push(i);
      return i;
    });
    other.task('tasks.once', (i: number) => {
      runs.push(-i);
      return -i;
    });
    const logger = createLogger({ level: 'silent' });
    // Two workers: if the hold lapsed, the second would take the message again after the timeout.
    const w1 = await new Worker(app, { logger, concurrency: 2 }).start();
    const r = await t.applyAsync([7], { countdown: 3 });
    await new Promise((res) => setTimeout(res, 200));
    const w2 = await new Worker(other, { logger, concurrency: 2 }).start();
    try {
      expect(Math.abs(await r.get({ timeout: 15_000 }))).toBe(7);
      await new Promise((res) => setTimeout(res, 1500));
      expect(runs.length).toBe(1);
    } finally {
      await w1.stop();
      await w2.stop();
      await app.close();
      await other.close();
    }
  }, 30_000);
});
