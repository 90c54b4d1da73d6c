/** The shared Transport contract suite on sqlite://, one temp file per test case. */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { transportConformance } from '../../src/transport/conformance.js';
import { createTransport } from '../../src/transport/sqlite/index.js';
import type { VirtualTransport } from '../../src/transport/virtual/base.js';
import type { Transport } from '../../src/transport/types.js';

const files: string[] = [];

function tempDb(): string {
  const path = join(tmpdir(), `celeriac-conf-${randomUUID()}.db`);
  files.push(path);
  return path;
}

const cases = transportConformance(() => createTransport(`sqlite://${tempDb()}`, {}), {
  injectEnvelope: (t: Transport, queue, envelope) =>
    (t as VirtualTransport).store.put([{ queue, envelope, tag: `raw-${queue}`, priority: 0 }]),
});

afterAll(() => {
  for (const f of files) for (const suffix of ['', '-wal', '-shm']) rmSync(f + suffix, { force: true });
});

describe('transport conformance: sqlite://', () => {
  it('runs the whole shared suite, skipping only what the capabilities rule out', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(cases.filter((c) => c.skip && !/^no |the harness cannot|do not share a store/i.test(c.skip))).toEqual([]);
  });
  for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run);
});
