// `celeriac shell -A app` with its input piped, as a user scripts it: the app, its tasks and the canvas in
// scope, top-level await, each line awaited before the next; against a real worker on a temp SQLite file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliWithInput } from '../helpers/cli-input.js';
import { ROOT, startWorker, type Spawned } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const APP = `${ROOT}tests/fixtures/apps/test-tasks.ts`;

let dir: TempDir;
let env: Record<string, string>;
let worker: Spawned | undefined;

beforeAll(async () => {
  dir = tempDir('celeriac-shell-');
  const url = `sqlite://${dir.file('celeriac.db')}`;
  env = { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url };
  worker = await startWorker(url, ['-Q', 'for_add,for_subtract,celery', '-c', '4']);
});

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  dir.remove();
});

/** The values the REPL printed, one per prompt (piped input is not echoed). */
const answers = (stdout: string): string[] => stdout.split('celeriac> ').slice(1).map((s) => s.trim()).filter(Boolean);

describe('celeriac shell', () => {
  it('runs tasks with top-level await, the tasks by export name, chain and group in scope', async () => {
    const input = [
      'await add.delay(2, 2).then(r => r.get({timeout: 10000}))',
      'const r = await subtract.delay(10, 3)',
      'await r.get({ timeout: 10000 })',
      'await chain(add.s(1, 2), add.s(3)).applyAsync().then((res) => res.get({ timeout: 10000 }))',
      'await group([add.s(1, 1), subtract.s(5, 1)]).applyAsync().then((res) => res.get({ timeout: 10000 }))',
      "await signature('tasks.add', [20, 22]).applyAsync().then((res) => res.get({ timeout: 10000 }))",
      "Object.keys(tasks).join(',') + ' ' + app.main",
      'function triple(x) {',
      '  return 3 * x }',
      'triple(await add.delay(1, 1).then((res) => res.get({ timeout: 10000 })))',
    ].join('\n');
    const run = await runCliWithInput(['shell', '-A', APP], `${input}\n`, env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/in scope: app, tasks, signature, chain, group, chord, add, fail, record, subtract/);
    expect(answers(run.stdout)).toEqual(['4', 'undefined', '7', '6', '[ 2, 4 ]', '42', "'tasks.add,tasks.subtract,tasks.record,tasks.fail test-tasks'", '... undefined', '6']);
  });

  it('shows a failing task as an uncaught remote error and goes on', async () => {
    const run = await runCliWithInput(['shell', '-A', APP], "await fail.delay('no luck').then((r) => r.get({ timeout: 10000 }))\n'still here'\n", env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Uncaught RemoteTaskError: RangeError: no luck/);
    expect(run.stdout).toMatch(/'still here'/);
  });

  it('-T keeps tasks out of scope; a bad -A exits 2; --help has examples', async () => {
    const bare = await runCliWithInput(['shell', '-A', APP, '-T'], "typeof add + ' ' + typeof tasks['tasks.add'].delay\n", env);
    expect(answers(bare.stdout)).toEqual(["'undefined function'"]);
    const bad = await runCliWithInput(['shell', '-A', dir.file('nope.ts')], '', env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no such file/);
    const help = await runCliWithInput(['shell', '--help'], '', env);
    expect(help.stdout).toMatch(/Examples:\n\s+\$ celeriac shell -A/);
  });
});
