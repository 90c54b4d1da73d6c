// 10,000 hostile remote-control requests and 10,000 hostile event messages on sqlite://.
import { afterAll, describe, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';
import { fuzzControl, fuzzEvents } from './control-harness.js';

describe('hostile pidbox and event messages on sqlite://', () => {
  const dir = tempDir('celeriac-fuzz-');
  afterAll(() => dir.remove());

  it('the mailbox node dead-letters malformed requests, answers garbage ones with errors, every ping', async () => {
    const out = await fuzzControl({ url: `sqlite://${dir.file('control.db')}` }, { bad: 10_000, garbage: 2_000, good: 500 });
    console.log(`fuzz control sqlite: seed ${out.seed}, ${out.malformed} malformed + ${out.garbage} garbage + ${out.pings} pings in ${out.ms} ms`);
  }, 120_000);

  it('the event receiver dead-letters malformed events, keeps odd fields out of the state, records every good one', async () => {
    const out = await fuzzEvents({ url: `sqlite://${dir.file('events.db')}` }, { bad: 10_000, odd: 2_000, good: 1_000 });
    console.log(`fuzz events sqlite: seed ${out.seed}, ${out.malformed} malformed + ${out.odd} odd + ${out.good} good in ${out.ms} ms`);
  }, 120_000);
});
