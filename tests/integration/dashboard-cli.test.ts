// `celeriac dashboard` as a user runs it (the built CLI): it prints its URL, serves the API with basic auth,
// stops on SIGTERM with exit 0; with --history a task seen before a restart is still there after it; bad flags
// exit 2 with a message. `celeriac worker --metrics` serves the worker's Prometheus metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.js';
import { spawnCli, type Spawned } from '../helpers/processes.js';
import { parseMetrics, value } from '../helpers/prometheus.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

/** Starts `celeriac dashboard` on a free port; resolves with it and its URL. */
async function dashboard(env: Record<string, string>, ...args: string[]): Promise<{ p: Spawned; url: string }> {
  const p = spawnCli(['dashboard', '--port', '0', '--timeout', '0.2', ...args], env);
  await p.waitFor(/-> celeriac dashboard: http:\/\/127\.0\.0\.1:\d+ /);
  return { p, url: /(http:\/\/127\.0\.0\.1:\d+)/.exec(p.output())?.[1] as string };
}

async function stop(p: Spawned): Promise<number | null> {
  p.child.kill('SIGTERM');
  return p.exited;
}

describe('celeriac dashboard', { timeout: 60_000 }, () => {
  let dir: TempDir;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = tempDir('celeriac-dashboard-cli-');
    const url = `sqlite://${dir.file('celeriac.db')}`;
    env = { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url };
  });
  afterAll(() => dir.remove());

  it('prints its URL, answers with basic auth, and stops on SIGTERM', async () => {
    const p = spawnCli(['dashboard', '--port', '0', '--basic-auth', 'me:pw', '--timeout', '0.2'], env);
    try {
      await p.waitFor(/-> celeriac dashboard: http:\/\/127\.0\.0\.1:\d+ /);
      const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(p.output())?.[1] as string;
      expect((await fetch(`${url}/api/tasks`)).status).toBe(401);
      const res = await fetch(`${url}/api/tasks?limit=x`, { headers: { authorization: `Basic ${Buffer.from('me:pw').toString('base64')}` } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'limit: expected an integer >= 1, got "x"' });
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  it('--history keeps tasks across a restart of the dashboard', async () => {
    const history = dir.file('history.db');
    const app = new Celeriac('producer', { broker: env['CELERIAC_BROKER_URL'], backend: env['CELERIAC_RESULT_BACKEND'] });
    try {
      const first = await dashboard(env, '--history', history, '--history-max-tasks', '1000', '--history-max-age', '3600');
      const dispatcher = app.events.dispatcher({ hostname: 'w1@history' });
      const id = 'history-task-1';
      try {
        dispatcher.send('task-received', { uuid: id, name: 'tasks.kept', args: '(1,)', kwargs: '{}', root_id: id, parent_id: null, retries: 0, eta: null, expires: null });
        dispatcher.send('task-succeeded', { uuid: id, result: "'done'", runtime: 0.25 });
        await until(async () => ((await (await fetch(`${first.url}/api/task/info/${id}`)).json()) as { state?: string }).state === 'SUCCESS', 10_000);
      } finally {
        await dispatcher.close();
        // The history is written in batches; stopping writes what is pending.
        expect(await stop(first.p)).toBe(0);
      }
      const second = await dashboard(env, '--history', history);
      try {
        const info = await fetch(`${second.url}/api/task/info/${id}`);
        expect(info.status).toBe(200);
        expect(await info.json()).toMatchObject({ uuid: id, name: 'tasks.kept', state: 'SUCCESS', result: "'done'", runtime: 0.25, worker: 'w1@history' });
        const timeline = (await (await fetch(`${second.url}/api/task/timeline/${id}`)).json()) as { events: { event: string }[] };
        expect(timeline.events.map((e) => e.event)).toEqual(['received', 'succeeded']);
      } finally {
        expect(await stop(second.p)).toBe(0);
      }
    } finally {
      await app.close();
    }
  });

  it('celeriac worker --metrics serves Prometheus metrics; a bad address exits 2', async () => {
    const w = spawnCli(['worker', '-A', 'tests/fixtures/apps/test-tasks.ts', '-n', 'metrics@test', '-c', '1', '-l', 'info', '--log-format', 'json', '--metrics', '127.0.0.1:0'], env);
    const app = new Celeriac('producer', { broker: env['CELERIAC_BROKER_URL'], backend: env['CELERIAC_RESULT_BACKEND'] });
    try {
      await w.waitFor(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/);
      const url = /(http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(w.output())?.[1] as string;
      await w.waitFor('metrics@test ready.');
      expect(await (await app.sendTask('tasks.add', [2, 3])).get({ timeout: 10_000 })).toBe(5);
      const m = parseMetrics(await (await fetch(url)).text());
      expect(value(m, 'celeriac_worker_tasks_total', { task: 'tasks.add', state: 'succeeded', worker: 'metrics@test' })).toBe(1);
      expect(value(m, 'celeriac_worker_up', { worker: 'metrics@test' })).toBe(1);
      expect(value(m, 'celeriac_queue_messages', { queue: 'celery' })).toBe(0);
      expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
      expect(await stop(w)).toBe(0);
    } finally {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await app.close();
    }
    const bad = spawnCli(['worker', '--metrics', 'nine'], env);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toMatch(/--metrics expects \[host\]:port/);
  });

  it('bad flags exit 2 with a message', async () => {
    for (const [args, message] of [
      [['--port', 'http'], /--port expects an integer/],
      [['--port', '70000'], /--port expects a port number/],
      [['--basic-auth', 'nocolon'], /--basic-auth expects 'user:password'/],
      [['--history-max-tasks', '10'], /--history-max-tasks and --history-max-age need --history FILE/],
      [['--history', '/nonexistent-dir/h.db'], /cannot open the task history/],
    ] as const) {
      const p = spawnCli(['dashboard', ...args], env);
      expect(await p.exited).toBe(2);
      expect(p.output()).toMatch(message);
    }
  });
});
