// A reserved message whose delivery the broker took back (AMQP: its channel died with the connection) is not
// run: RabbitMQ delivers it again, so running it too would run the task twice. Found by
// tests/faults/restart-amqp.test.ts (140 duplicate runs in 10,000 tasks across one RabbitMQ restart, 0 after).
import { describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import type { ConsumerOptions, Delivery, Transport } from '../../src/transport/types.js';

describe('worker: deliveries the broker took back', () => {
  it('are dropped, not run; the others run', async () => {
    const app = new Celeriac('gone', { broker: 'memory://', backend: 'memory://' });
    const runs: string[] = [];
    const task = app.task('gone.run', (name: string) => {
      runs.push(name);
      return name;
    });
    // The broker's deliveries, as an AMQP channel that died would leave them: `gone` for the message of 'stale'.
    const transport = (await app.connection()) as Transport;
    const create = transport.createConsumer.bind(transport);
    transport.createConsumer = (options: ConsumerOptions) =>
      create({
        ...options,
        onMessage: (d: Delivery) => {
          const stale = d.message.body.toString().includes('stale');
          options.onMessage(Object.assign(Object.create(d) as Delivery, { gone: () => stale }));
        },
      });
    const worker = await new Worker(app, { logger: createLogger({ level: 'silent' }), concurrency: 1 }).start();
    try {
      const stale = await task.delay('stale');
      const fresh = await task.delay('fresh');
      expect(await fresh.get({ timeout: 10_000 })).toBe('fresh');
      expect(runs).toEqual(['fresh']);
      expect(await stale.state()).toBe('PENDING');
    } finally {
      await worker.stop();
      await app.close();
    }
  });
});
