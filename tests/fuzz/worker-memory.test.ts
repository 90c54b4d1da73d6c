// 10,000 hostile task messages, interleaved with good ones, into a worker on memory://.
import { describe, it } from 'vitest';
import { checkOutcome, fuzzWorker, summary } from './harness.js';

describe('hostile task messages on memory://', () => {
  it('the worker stays up, dead-letters each bad message with its reason, runs every good one', async () => {
    const out = await fuzzWorker({ url: 'memory://' }, { bad: 10_000, good: 2_000 });
    console.log(summary('memory', out));
    checkOutcome(out);
  }, 120_000);
});
