/** The shared ResultBackend contract suite on memory://. */
import { describe, expect, it } from 'vitest';
import { backendConformance } from '../../src/backend/conformance.js';
import { leaseConformance } from '../../src/backend/conformance-lease.js';
import { createBackend } from '../../src/backend/memory/index.js';

const cases = backendConformance((options) => createBackend('memory://', options), { promptMs: 50 });

// Beat's leader lease, on the same store.
cases.push(...leaseConformance((options) => createBackend('memory://', options)));

describe('result backend conformance: memory://', () => {
  it('runs the whole shared suite, skipping only what the capabilities rule out', () => {
    expect(cases.length).toBeGreaterThanOrEqual(13);
    expect(cases.filter((c) => c.skip && !/^no |the harness cannot|do not share a store/i.test(c.skip))).toEqual([]);
  });
  for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run);
});
