// 10,000 hostile task messages, interleaved with good ones, into a worker on RabbitMQ (a private vhost).
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { amqpBroker } from './amqp-broker.js';
import { checkOutcome, fuzzWorker, summary } from './harness.js';

describe('hostile task messages on amqp://', () => {
  let vhost: Vhost;
  beforeAll(async () => {
    vhost = await createVhost();
  }, 60_000);
  afterAll(() => vhost.remove(), 60_000);

  it('the worker stays up, dead-letters each bad message with its reason, runs every good one', async () => {
    const out = await fuzzWorker(amqpBroker(vhost), { bad: 10_000, good: 2_000 });
    console.log(summary('amqp', out));
    checkOutcome(out);
  }, 150_000);
});
