// The broker under test for the RabbitMQ fuzz files: a private vhost and a dead-letter queue of the run's own,
// counted cheaply (queue.declare passive) while waiting, read once at the end.
import { randomUUID } from 'node:crypto';
import type { Transport } from '../../src/index.js';
import type { Vhost } from '../helpers/amqp.js';
import type { BrokerUnderTest } from './harness.js';

export function amqpBroker(vhost: Vhost): BrokerUnderTest {
  const deadLetterQueue = `fuzz-dead-${randomUUID().slice(0, 8)}`;
  return {
    url: vhost.url,
    brokerOptions: { deadLetterQueue, deadLetterMax: 30_000 },
    deadCount: async (t: Transport) => (await t.queueInfo(deadLetterQueue).catch(() => ({ messages: 0 }))).messages,
  };
}
