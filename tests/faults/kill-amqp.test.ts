// kill -9 on amqp:// (harness.ts), on the shared RabbitMQ in a vhost of this file's own: a worker killed
// mid-batch, and pool children killed mid-batch, lose no task. RabbitMQ requeues what a consumer held unacked
// when its connection closes, and a killed process's socket closes at once.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createVhost, rabbitmqctl, type Vhost } from '../helpers/amqp.js';
import { killChildren, killWorkers, type Broker } from './harness.js';

let vhost: Vhost;
beforeAll(async () => {
  vhost = await createVhost();
}, 60_000);
afterAll(() => vhost?.remove(), 60_000);

const broker = (): Broker => ({
  name: 'amqp',
  url: vhost.url,
  countsForeignUnacked: false,
  diagnose: (queue) => rabbitmqctl('list_queues', '-p', vhost.name, 'name', 'messages_ready', 'messages_unacknowledged', 'consumers').then((out) => out.split('\n').filter((l) => l.includes(queue)).join('; ')),
});

describe('kill -9 on amqp://', { timeout: 150_000 }, () => {
  it('a worker killed mid-batch (late acks): none of 10,000 tasks lost, duplicates only of what it held', async () => {
    await killWorkers(broker());
  });

  it('pool children killed mid-batch (acksLate + rejectOnWorkerLost): none lost', async () => {
    await killChildren(broker());
  });
});
