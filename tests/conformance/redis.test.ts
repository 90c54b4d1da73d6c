/** The shared Transport contract suite on redis:// (a real Redis on 127.0.0.1), one key prefix per run. */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { transportConformance } from '../../src/transport/conformance.js';
import { createTransport } from '../../src/transport/redis/index.js';
import type { VirtualTransport } from '../../src/transport/virtual/base.js';
import type { Transport } from '../../src/transport/types.js';

const prefix = `celeriac-conf-${randomUUID()}:`;

const cases = transportConformance(() => createTransport(REDIS_URL, { keyPrefix: prefix }), {
  injectEnvelope: (t: Transport, queue, envelope) =>
    (t as VirtualTransport).store.put([{ queue, envelope, tag: `raw-${queue}`, priority: 0 }]),
});

afterAll(() => deleteKeys(prefix));

describe('transport conformance: redis://', () => {
  it('runs the whole shared suite, skipping only what the capabilities rule out', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(cases.filter((c) => c.skip && !/^no |the harness cannot|do not share a store/i.test(c.skip))).toEqual([]);
  });
  for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run);
});
