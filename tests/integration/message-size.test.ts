// maxMessageSize on send: a task message (or any publish) over the limit fails with MessageTooLargeError before
// it reaches the broker, on memory, SQLite, Redis and RabbitMQ; one within it goes through. (Receiving is
// covered by tests/fuzz: bigger deliveries are dead-lettered.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, MessageTooLargeError } from '../../src/index.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';

describe('maxMessageSize on send', () => {
  const dir = tempDir('celeriac-size-');
  const prefix = `size-${randomUUID().slice(0, 8)}:`;
  let vhost: Vhost;
  beforeAll(async () => {
    vhost = await createVhost();
  }, 60_000);
  afterAll(async () => {
    dir.remove();
    await deleteKeys(prefix);
    await vhost?.remove();
  }, 60_000);

  const cases: [string, () => { broker: string; brokerOptions?: Record<string, unknown> }][] = [
    ['memory', () => ({ broker: 'memory://' })],
    ['sqlite', () => ({ broker: `sqlite://${dir.file('size.db')}` })],
    ['redis', () => ({ broker: REDIS_URL, brokerOptions: { keyPrefix: prefix } })],
    ['amqp', () => ({ broker: vhost.url })],
  ];
  for (const [name, options] of cases) {
    it(`${name}: refuses a message over the limit, sends one within it`, async () => {
      const app = new Celeriac('size', { ...options(), backend: 'memory://', maxMessageSize: 4096, logLevel: 'silent' });
      try {
        const err = await app.sendTask('tasks.big', ['x'.repeat(5000)], { queue: `size-${name}` }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MessageTooLargeError);
        expect((err as Error).message).toMatch(/over maxMessageSize \(4096 bytes\).*Send a reference instead/);
        await app.sendTask('tasks.big', ['x'.repeat(1000)], { queue: `size-${name}` });
        expect((await (await app.connection()).queueInfo(`size-${name}`)).messages).toBe(1);
      } finally {
        await (await app.connection()).deleteQueue(`size-${name}`).catch(() => undefined);
        await app.close();
      }
    });
  }
});
