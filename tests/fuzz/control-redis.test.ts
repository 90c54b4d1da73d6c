// 10,000 hostile remote-control requests and 10,000 hostile event messages on the shared Redis (a key prefix
// and exchanges of their own).
import { randomUUID } from 'node:crypto';
import { afterAll, describe, it } from 'vitest';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { fuzzControl, fuzzEvents } from './control-harness.js';

describe('hostile pidbox and event messages on redis://', () => {
  const prefix = `fuzz-${randomUUID().slice(0, 8)}:`;
  afterAll(() => deleteKeys(prefix));

  it('the mailbox node dead-letters malformed requests, answers garbage ones with errors, every ping', async () => {
    const out = await fuzzControl({ url: REDIS_URL, brokerOptions: { keyPrefix: prefix } }, { bad: 10_000, garbage: 2_000, good: 500 });
    console.log(`fuzz control redis: seed ${out.seed}, ${out.malformed} malformed + ${out.garbage} garbage + ${out.pings} pings in ${out.ms} ms`);
  }, 120_000);

  it('the event receiver dead-letters malformed events, keeps odd fields out of the state, records every good one', async () => {
    const out = await fuzzEvents({ url: REDIS_URL, brokerOptions: { keyPrefix: prefix } }, { bad: 10_000, odd: 2_000, good: 1_000 });
    console.log(`fuzz events redis: seed ${out.seed}, ${out.malformed} malformed + ${out.odd} odd + ${out.good} good in ${out.ms} ms`);
  }, 120_000);
});
