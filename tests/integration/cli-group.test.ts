// `celeriac call --group`: a group sent from the command line (pipelined), its progress and ordered results,
// run as a user runs it (the built CLI, a worker process, a temp SQLite file).
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startWorker, type Run, type Spawned } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const cli = (args: string[], url: string): Promise<Run> => runCli(args, { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url });

describe('celeriac call --group', () => {
  let dir: TempDir;
  let url: string;
  let worker: Spawned | undefined;

  beforeEach(async () => {
    dir = tempDir();
    url = `sqlite://${dir.file('cli-group.db')}`;
    worker = await startWorker(url, ['-c', '8']);
  });

  afterEach(async () => {
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    dir.remove();
  });

  it('sends one task per argument list and, with --wait, prints progress lines and the results in order', async () => {
    const lists = Array.from({ length: 200 }, (_, i) => [i, 1]);
    const run = await cli(['call', 'tasks.add', '--group', JSON.stringify(lists), '--wait', '--timeout', '50000'], url);
    expect(run.stderr).toContain('progress: 200/200 done (100%)');
    // Not a terminal: one line per tenth, not a redrawn bar.
    expect(run.stderr).not.toContain('\r');
    const [id, results] = run.stdout.trim().split('\n');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(results ?? '')).toEqual(lists.map(([i]) => (i as number) + 1));
    expect(run.code).toBe(0);
  });

  it('--group-file and --json; a failing member makes the exit code 1 and is shown in its place', async () => {
    const file = dir.file('lists.json');
    writeFileSync(file, JSON.stringify([[1, 2], [3, 4]]));
    const ok = await cli(['call', 'tasks.add', '--group-file', file, '--json'], url);
    expect(JSON.parse(ok.stdout)).toMatchObject({ id: expect.any(String), members: [expect.any(String), expect.any(String)] });
    const bad = await cli(['call', 'tasks.fail', '--group', '[["one"], ["two"]]', '--wait', '--json', '--timeout', '50000'], url);
    expect(bad.code).toBe(1);
    const out = JSON.parse(bad.stdout) as { results: { error: string }[] };
    expect(out.results.map((r) => r.error)).toEqual([expect.stringContaining('one'), expect.stringContaining('two')]);
    expect(bad.stderr).toContain('2 of 2 tasks of group');
  });

  it.each([
    [['--group', '[1, 2]'], /--group expects a list of argument lists/],
    [['--group', '[]'], /at least one argument list/],
    [['--group', '[[1]]', '--args', '[1]'], /--args and --group do not mix/],
    [['--group', '[[1]]', '--group-file', 'x.json'], /not both/],
    [['--group-file', '/nonexistent/lists.json'], /cannot read/],
  ])('call %j exits 2 and says what was expected', async (flags, message) => {
    const run = await cli(['call', 'tasks.add', ...flags], url);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
