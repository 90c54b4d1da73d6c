// `celeriac events` as a user runs it (the built CLI, child processes) against a `celeriac worker -E` on a temp
// SQLite file: --json and --dump lines for heartbeats and task events, Ctrl-C stops it and removes its monitor
// queue, bad arguments exit 2; with no flag, the live view in a pseudo-terminal (`script`), or exit 2 without one.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../dist/index.js';
import { createTransport } from '../../dist/transport/sqlite/index.js';
import { CLI, ROOT, runCli, spawnCli, startWorker, type Run, type Spawned } from '../helpers/processes.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const run = (args: string[], url: string): Promise<Run> => runCli(args, { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url });

async function stop(p: Spawned | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (!p || p.child.exitCode !== null) return p?.child.exitCode ?? null;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

/** The celeryev.<uuid> queues other than the worker's own (its gossip follows worker events through one). */
async function monitorQueues(url: string, except: readonly string[] = gossipQueues): Promise<string[]> {
  const t = createTransport(url, {});
  try {
    return (await t.listQueues()).map((q) => q.name).filter((n) => n.startsWith('celeryev.') && !except.includes(n));
  } finally {
    await t.close();
  }
}
let gossipQueues: string[] = [];

describe('celeriac events', { timeout: 60_000 }, () => {
  let dir: TempDir;
  let url: string;
  let worker: Spawned | undefined;
  let app: Celeriac;

  beforeAll(async () => {
    dir = tempDir('celeriac-events-cli-');
    url = `sqlite://${dir.file('celeriac.db')}`;
    worker = await startWorker(url, ['-Q', 'for_add', '-E', '-n', 'evcli@test', '--heartbeat-interval', '0.3']);
    app = new Celeriac('client', { broker: url, backend: url, taskRoutes: { 'tasks.add': 'for_add' } });
    gossipQueues = await monitorQueues(url, []);
  }, 60_000);

  afterAll(async () => {
    await app.close();
    await stop(worker);
    dir.remove();
  });

  it('--json prints one event per line; Ctrl-C stops it and deletes its queue', async () => {
    const mon = spawnCli(['events', '--json'], { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url });
    await mon.waitFor('capturing');
    expect(await monitorQueues(url)).toHaveLength(1);
    const r = await app.sendTask('tasks.add', [20, 22]);
    expect(await r.get({ timeout: 15_000 })).toBe(42);
    await mon.waitFor(/"type":"task-succeeded"/);
    await mon.waitFor(/"type":"worker-heartbeat"/);
    expect(await stop(mon, 'SIGINT')).toBe(0);
    const lines = mon.output().split('\n').filter((l) => l.startsWith('{'));
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const mine = events.filter((e) => e['uuid'] === r.id).map((e) => e['type']);
    expect(mine).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(events.find((e) => e['type'] === 'task-succeeded')).toMatchObject({ hostname: 'evcli@test', result: '42' });
    expect(mon.output()).toMatch(/stopped after \d+ event\(s\)/);
    expect(await monitorQueues(url)).toEqual([]);
  });

  it('--dump prints lines as celery events --dump; --routing-key filters', async () => {
    const mon = spawnCli(['events', '--dump'], { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url });
    const tasksOnly = spawnCli(['events', '-r', 'task.#', '--json'], { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url });
    await mon.waitFor('capturing');
    await tasksOnly.waitFor('capturing');
    const r = await app.sendTask('tasks.add', [1, 2]);
    await r.get({ timeout: 15_000 });
    const line = new RegExp(`^evcli@test \\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{6})?\\] task succeeded: tasks\\.add\\(${r.id}\\) args=\\(1, 2\\) kwargs=\\{\\} .*result=3, runtime=`, 'm');
    await mon.waitFor(line);
    await mon.waitFor(/^evcli@test \[[^\]]+\] heartbeat: active=\d+, clock=\d+, freq=0\.3, /m);
    await tasksOnly.waitFor(/"type":"task-succeeded"/);
    expect(await stop(mon, 'SIGINT')).toBe(0);
    expect(await stop(tasksOnly, 'SIGTERM')).toBe(0);
    expect(mon.output()).toMatch(new RegExp(`task received: tasks\\.add\\(${r.id}\\) args=\\(1, 2\\) kwargs=\\{\\} clock=`));
    expect(tasksOnly.output()).not.toMatch(/worker-heartbeat/);
    expect(await monitorQueues(url)).toEqual([]);
  });

  it('with no flag and no terminal: exit 2 saying to use --dump', async () => {
    const plain = await run(['events'], url);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/the live view needs a terminal .* use --dump/);
  });

  it('with no flag in a terminal: the live view shows the worker and a task turning SUCCESS; r revokes, q quits and restores the terminal', async () => {
    // `script` runs the CLI in a pseudo-terminal of 120x30; keys are written to its stdin.
    const cmd = `stty cols 120 rows 30; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} events`;
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { cwd: ROOT, env: { ...process.env, CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    /** The last frame drawn (frames start by moving the cursor home). */
    const frame = (): string => out.slice(out.lastIndexOf('\x1b[H')).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    try {
      await until(() => /evcli@test +online/.test(frame()), 20_000);
      const r = await app.sendTask('tasks.add', [20, 22]);
      expect(await r.get({ timeout: 15_000 })).toBe(42);
      await until(() => new RegExp(`${r.id.slice(0, 8)} +tasks\\.add +SUCCESS +evcli@test +\\(20, 22\\) +42 `).test(frame()), 20_000);
      expect(frame()).toMatch(/SUCCESS [1-9]/);
      child.stdin.write('\r');
      await until(() => frame().includes(`Task ${r.id}`), 20_000);
      child.stdin.write('r');
      await until(() => frame().includes(`revoke sent for ${r.id}`), 20_000);
      child.stdin.write('q');
      expect(await exited).toBe(0);
      expect(out).toContain('\x1b[?1049l');
      expect(out).toMatch(/stopped after \d+ event/);
      expect(await monitorQueues(url)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('bad arguments exit 2 with a message', async () => {
    const both = await run(['events', '--dump', '--json'], url);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/two output formats/);
    const key = await run(['events', '-r', 'a b'], url);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(/--routing-key expects/);
    expect((await run(['events', '--nope'], url)).code).toBe(2);
  });
});
