/** The shared ResultBackend contract suite on redis:// (a real Redis on 127.0.0.1), one key prefix per test case. */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { backendConformance } from '../../src/backend/conformance.js';
import { leaseConformance } from '../../src/backend/conformance-lease.js';
import { createBackend } from '../../src/backend/redis/index.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';

const run = `celeriac-rbconf-${randomUUID()}:`;

// Backends of one case share a store id, hence a prefix: they see each other's results, and no other case's.
const cases = backendConformance((options, storeId) => createBackend(REDIS_URL, { ...options, keyPrefix: `${run}${storeId}:` }), {
  promptMs: 100,
  shared: true,
  sharedPromptMs: 500,
});

afterAll(() => deleteKeys(run));

// Beat's leader lease, on the same store.
cases.push(...leaseConformance((options, storeId) => createBackend(REDIS_URL, { ...options, keyPrefix: `${run}${storeId}:` }), { shared: true }));

describe('result backend conformance: redis://', () => {
  it('runs the whole shared suite, skipping only what the capabilities rule out', () => {
    expect(cases.length).toBeGreaterThanOrEqual(13);
    expect(cases.filter((c) => c.skip && !/^no |the harness cannot|do not share a store/i.test(c.skip))).toEqual([]);
  });
  for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run);
});
