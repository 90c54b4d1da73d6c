// 10,000 hostile remote-control requests and 10,000 hostile event messages on RabbitMQ (a private vhost).
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { amqpBroker } from './amqp-broker.js';
import { fuzzControl, fuzzEvents } from './control-harness.js';

describe('hostile pidbox and event messages on amqp://', () => {
  let vhost: Vhost;
  beforeAll(async () => {
    vhost = await createVhost();
  }, 60_000);
  afterAll(() => vhost.remove(), 60_000);

  it('the mailbox node dead-letters malformed requests, answers garbage ones with errors, every ping', async () => {
    const out = await fuzzControl(amqpBroker(vhost), { bad: 10_000, garbage: 2_000, good: 500 });
    console.log(`fuzz control amqp: seed ${out.seed}, ${out.malformed} malformed + ${out.garbage} garbage + ${out.pings} pings in ${out.ms} ms`);
  }, 150_000);

  it('the event receiver dead-letters malformed events, keeps odd fields out of the state, records every good one', async () => {
    const out = await fuzzEvents(amqpBroker(vhost), { bad: 10_000, odd: 2_000, good: 1_000 });
    console.log(`fuzz events amqp: seed ${out.seed}, ${out.malformed} malformed + ${out.odd} odd + ${out.good} good in ${out.ms} ms`);
  }, 150_000);
});
