/** The shared Transport contract suite on memory://. */
import { describe, expect, it } from 'vitest';
import { transportConformance } from '../../src/transport/conformance.js';
import { createTransport } from '../../src/transport/memory/index.js';
import type { VirtualTransport } from '../../src/transport/virtual/base.js';
import type { Transport } from '../../src/transport/types.js';

const cases = transportConformance(() => createTransport('memory://', {}), {
  injectEnvelope: (t: Transport, queue, envelope) =>
    (t as VirtualTransport).store.put([{ queue, envelope, tag: `raw-${queue}`, priority: 0 }]),
});

describe('transport conformance: memory://', () => {
  it('runs the whole shared suite, skipping only what the capabilities rule out', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(cases.filter((c) => c.skip && !/^no |the harness cannot|do not share a store/i.test(c.skip))).toEqual([]);
  });
  for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run);
});
