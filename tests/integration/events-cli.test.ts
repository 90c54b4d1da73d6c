// `celeriac events` as a user runs it (the built CLI, child processes) against a `celeriac worker -E` on a temp
// SQLite file: --json and --dump lines for heartbeats and task events, Ctrl-C stops it and removes its monitor
// queue, bad arguments exit 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../dist/index.js';
import { createTransport } from '../../dist/transport/sqlite/index.js';
import { runCli, spawnCli, startWorker, type Run, type Spawned } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

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
