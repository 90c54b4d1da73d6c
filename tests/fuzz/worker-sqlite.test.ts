// 10,000 hostile task messages (a tenth of them raw envelopes that are not kombu's), interleaved with good
// ones, into a worker on sqlite://.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, it } from 'vitest';
import { tempDir } from '../helpers/temp.js';
import { checkOutcome, fuzzWorker, summary } from './harness.js';

describe('hostile task messages on sqlite://', () => {
  const dir = tempDir('celeriac-fuzz-');
  afterAll(() => dir.remove());

  it('the worker stays up, dead-letters each bad message with its reason, runs every good one', async () => {
    const file = dir.file('fuzz.db');
    const out = await fuzzWorker(
      {
        url: `sqlite://${file}`,
        inject: async (queue, envelopes) => {
          const db = new Database(file);
          try {
            const insert = db.prepare('INSERT INTO celeriac_messages (queue, priority, tag, envelope, visible_at) VALUES (?, 0, ?, ?, ?)');
            db.transaction(() => {
              for (const e of envelopes) insert.run(queue, randomUUID(), e, Date.now());
            })();
          } finally {
            db.close();
          }
        },
      },
      { bad: 10_000, good: 2_000 },
    );
    console.log(summary('sqlite', out));
    checkOutcome(out);
  }, 120_000);
});
