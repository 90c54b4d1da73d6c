/** The shared ResultBackend contract suite on sqlite://, one temp file per test case. */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backendConformance } from '../../src/backend/conformance.js';
import { leaseConformance } from '../../src/backend/conformance-lease.js';
import { createBackend } from '../../src/backend/sqlite/index.js';

const files = new Set<string>();

const cases = backendConformance(
  (options, storeId) => {
    const path = join(tmpdir(), `celeriac-results-${storeId}.db`);
    files.add(path);
    return createBackend(`sqlite://${path}`, options);
  },
  { promptMs: 100, shared: true, sharedPromptMs: 500 },
);

afterAll(() => {
  for (const f of files) for (const suffix of ['', '-wal', '-shm']) rmSync(f + suffix, { force: true });
});

// Beat's leader lease, on the same store.
cases.push(
  ...leaseConformance(
    (options, storeId) => {
      const path = join(tmpdir(), `celeriac-results-${storeId}.db`);
      files.add(path);
      return createBackend(`sqlite://${path}`, options);
    },
    { shared: true },
  ),
);

describe('result backend conformance: sqlite://', () => {
  it('runs the whole shared suite, skipping only what the capabilities rule out', () => {
    expect(cases.length).toBeGreaterThanOrEqual(13);
    expect(cases.filter((c) => c.skip && !/^no |the harness cannot|do not share a store/i.test(c.skip))).toEqual([]);
  });
  for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run);
});
