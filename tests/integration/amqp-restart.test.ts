// A true RabbitMQ restart, on a private node (never the shared one): the worker and the producer reconnect
// with back-off, redeclare and go on; persistent messages on durable queues survive the restart.
import { afterAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { privateRabbit, type PrivateRabbit } from '../helpers/rabbitmq-server.js';
import { tempDir, until } from '../helpers/temp.js';

describe('amqp:// across a RabbitMQ restart', () => {
  let rabbit: PrivateRabbit | undefined;
  const dir = tempDir();
  afterAll(async () => {
    await rabbit?.remove();
    dir.remove();
  }, 120_000);

  it('a worker keeps consuming after the broker restarts; parked persistent messages are still there', async () => {
    rabbit = await privateRabbit();
    await rabbit.start();
    const lines: string[] = [];
    const logger = createLogger({ level: 'error', pretty: false });
    const origError = logger.error.bind(logger);
    logger.error = ((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
      return (origError as (...a: unknown[]) => void)(...args);
    }) as typeof logger.error;
    const app = new Celeriac('restart', { broker: rabbit.url, backend: `sqlite://${dir.file('r.db')}` });
    const add = app.task('tasks.add', (x: number, y: number) => x + y);
    const worker = await new Worker(app, { logger, concurrency: 2 }).start();
    try {
      expect(await (await add.delay(1, 2)).get({ timeout: 20_000 })).toBe(3);
      for (let i = 0; i < 10; i++) await add.applyAsync([i, i], { queue: 'parked' });
      await rabbit.stop();
      await until(() => lines.some((l) => /lost the connection to RabbitMQ/.test(l)), 20_000);
      await rabbit.start();
      const again = await add.delay(2, 2);
      expect(await again.get({ timeout: 60_000 })).toBe(4);
      const t = await app.connection();
      expect((await t.queueInfo('parked')).messages).toBe(10);
    } finally {
      await worker.stop();
      await app.close();
    }
  }, 240_000);
});
