// Chords across processes on one sqlite:// file: two worker processes run the header parts; the counter in
// the result table (one write transaction per part) lets exactly one of them send the body.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac, chord } from '../../src/index.js';
import { startWorker, type Spawned } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

describe('chords across worker processes on sqlite://', () => {
  let dir: TempDir;
  let url: string;
  let app: Celeriac;
  const workers: Spawned[] = [];

  beforeEach(() => {
    dir = tempDir();
    url = `sqlite://${dir.file('chord.db')}`;
    app = new Celeriac('chord-producer', { broker: url, backend: url });
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.child.kill('SIGTERM');
      await w.exited;
    }
    await app.close();
    dir.remove();
  });

  it('two workers, 200 header parts: the body runs once, with every result in header order', async () => {
    const record = dir.file('record.txt');
    workers.push(...(await Promise.all([startWorker(url, ['-c', '4', '-n', 'one@%h'], { RECORD_FILE: record }), startWorker(url, ['-c', '4', '-n', 'two@%h'], { RECORD_FILE: record })])));
    const header = Array.from({ length: 200 }, (_, i) => app.signature<number>('tasks.add', [i, 1000]));
    // tasks.record(i) appends i to RECORD_FILE and returns it: the body's one line is the list of results.
    const body = await chord(header, app.signature<number[]>('tasks.record')).applyAsync();
    const expected = Array.from({ length: 200 }, (_, i) => i + 1000);
    expect(await body.get({ timeout: 60_000 })).toEqual(expected);
    const lines = readFileSync(record, 'utf8').trim().split('\n');
    expect(lines).toEqual([expected.join(',')]);
    // Both workers took part (the header was not all run by one of them).
    const outputs = workers.map((w) => w.output());
    expect(outputs.every((o) => o.includes('tasks.add'))).toBe(true);
  }, 90_000);
});
