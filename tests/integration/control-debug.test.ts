// The debugging commands as a user runs them (built CLI, worker processes): `inspect memsample`, `memdump`,
// `objgraph` on a temp SQLite file and on RabbitMQ; `control pool_restart` with the threads and processes pools
// (new children import the app module again, a running task finishes in the old one), refused without
// --pool-restarts and by the async pool.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { ROOT, runCli, spawnCli, type Run, type Spawned } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const APP = `${ROOT}tests/fixtures/apps/restart-tasks.ts`;

async function stopWorker(w: Spawned): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
  await w.exited;
  clearTimeout(timer);
}

function harness(kind: 'sqlite' | 'amqp') {
  const h = {
    dir: undefined as unknown as TempDir,
    url: '',
    backend: '',
    workers: [] as Spawned[],
    vhosts: [] as Vhost[],
    env: (): Record<string, string> => ({ CELERIAC_BROKER_URL: h.url, CELERIAC_RESULT_BACKEND: h.backend, VERSION_FILE: h.dir.file('version') }),
    cli: (args: string[]): Promise<Run> => runCli(args, h.env()),
    start: async (name: string, args: string[] = []): Promise<Spawned> => {
      const w = spawnCli(['worker', '-A', APP, '-n', name, '-c', '2', '-l', 'info', '--log-format', 'json', ...args], h.env());
      h.workers.push(w);
      await w.waitFor(/ ready\.\n/, 30_000);
      return w;
    },
  };
  beforeEach(async () => {
    h.dir = tempDir();
    writeFileSync(h.dir.file('version'), 'v1');
    h.backend = `sqlite://${h.dir.file('store.db')}`;
    if (kind === 'sqlite') h.url = h.backend;
    else {
      const v = await createVhost();
      h.vhosts.push(v);
      h.url = v.url;
    }
  }, 60_000);
  afterEach(async () => {
    for (const w of h.workers.splice(0)) await stopWorker(w);
    for (const v of h.vhosts.splice(0)) await v.remove();
    h.dir.remove();
  }, 60_000);
  return h;
}

const json = (r: Run): unknown => {
  try {
    return JSON.parse(r.stdout) as unknown;
  } catch {
    throw new Error(`not JSON (exit ${String(r.code)}):\n${r.stdout}\n${r.stderr}`);
  }
};

for (const kind of ['sqlite', 'amqp'] as const) {
  describe(`inspect memsample, memdump, objgraph (${kind})`, { timeout: 90_000 }, () => {
    const h = harness(kind);

    it('memsample answers Celery\'s humanised RSS; memdump lists the samples, then starts afresh; objgraph counts constructors', async () => {
      await h.start('mem@debug');
      const sample = json(await h.cli(['inspect', 'memsample', '-d', 'mem@debug', '-t', '5', '--json'])) as Record<string, string>;
      expect(sample['mem@debug']).toMatch(/^\d+(\.\d+)?(KB|MB|GB)$/);
      await h.cli(['inspect', 'memsample', '-d', 'mem@debug', '-t', '5']);
      const dump = await h.cli(['inspect', 'memdump', '-d', 'mem@debug', '-t', '5']);
      expect(dump.code).toBe(0);
      expect(dump.stdout).toMatch(/->  mem@debug: OK\n    - rss \(sample\):\n    -    > [\d.]+MB,\n    -    > [\d.]+MB,\n    - heap used \(sample\):\n/);
      expect(dump.stdout).toMatch(/- rss \(end\): [\d.]+MB\.\n    - heap used \(end\): [\d.]+MB\./);
      // Cleared by the dump, as Celery's: only the memory now.
      expect((json(await h.cli(['inspect', 'memdump', '-d', 'mem@debug', '-t', '5', '--json'])) as Record<string, string>)['mem@debug']).toMatch(/^- rss \(end\): [\d.]+MB\.\n- heap used \(end\): [\d.]+MB\.\n$/);

      const all = (json(await h.cli(['inspect', 'objgraph', '-d', 'mem@debug', '--json'])) as Record<string, { objects: number; types: number; pause_ms: number; counts: Record<string, number> }>)['mem@debug'];
      expect(all?.objects).toBeGreaterThan(10_000);
      expect(Object.keys(all?.counts ?? {}).length).toBe(200);
      expect(all?.counts['Object']).toBeGreaterThan(100);
      const counts = Object.values(all?.counts ?? {});
      expect(counts).toEqual([...counts].sort((a, b) => b - a));
      // Only the name asked for (the Worker, and what V8 names after the class: its prototype...); the snapshot kept as a file on request.
      const one = (json(await h.cli(['inspect', 'objgraph', 'Worker', '5', 'true', '-d', 'mem@debug', '--json'])) as Record<string, { counts: Record<string, number>; filename: string }>)['mem@debug'];
      expect(Object.keys(one?.counts ?? {})).toEqual(['Worker']);
      expect(one?.counts['Worker']).toBeGreaterThanOrEqual(1);
      expect(one?.filename).toMatch(/celeriac-objgraph-\d+-\d+\.heapsnapshot$/);
      expect(existsSync(one?.filename ?? '')).toBe(true);
      rmSync(one?.filename ?? '', { force: true });
      expect(await h.cli(['inspect', 'memsample', 'often'])).toMatchObject({ code: 2, stderr: expect.stringContaining('every expects a number') });
    });
  });
}

describe('control pool_restart', { timeout: 120_000 }, () => {
  const h = harness('sqlite');

  const call = async (args: string[]): Promise<{ id: string; result?: unknown }> => json(await h.cli(['call', ...args, '--json'])) as { id: string; result?: unknown };

  for (const pool of ['processes', 'threads'] as const) {
    it(`-P ${pool}: new children import the app again; a running task finishes in the old one`, async () => {
      const w = await h.start(`restart-${pool}@debug`, ['-P', pool, '--pool-restarts']);
      expect((await call(['restart.version', '--wait'])).result).toBe('v1');
      const before = (json(await h.cli(['inspect', 'stats', '-d', `restart-${pool}@debug`, '-t', '5', '--json'])) as Record<string, { pool: { processes: number[] } }>)[`restart-${pool}@debug`]?.pool.processes;
      const slow = await call(['restart.slow', '--args', '[1500]']);
      await w.waitFor(new RegExp(`restart\\.slow\\[${slow.id}\\] received`), 15_000);
      writeFileSync(h.dir.file('version'), 'v2');
      expect(json(await h.cli(['control', 'pool_restart', '-d', `restart-${pool}@debug`, '-t', '5', '--json']))).toEqual([{ [`restart-${pool}@debug`]: { ok: 'reload started' } }]);
      await w.waitFor('pool restarted', 30_000);
      expect((await call(['restart.version', '--wait'])).result).toBe('v2');
      // The task that ran during the restart finished where it started, in the old code.
      expect(json(await h.cli(['result', slow.id, '--wait', '--json']))).toMatchObject({ state: 'SUCCESS', result: 'v1' });
      const after = (json(await h.cli(['inspect', 'stats', '-d', `restart-${pool}@debug`, '-t', '5', '--json'])) as Record<string, { pool: { processes: number[] } }>)[`restart-${pool}@debug`]?.pool.processes;
      expect(after).toHaveLength(2);
      expect(after?.some((pid) => before?.includes(pid))).toBe(false);
    });
  }

  it('new children that cannot load the app are stopped; the old ones keep working', async () => {
    const w = await h.start('broken@debug', ['-P', 'threads', '--pool-restarts']);
    writeFileSync(h.dir.file('version'), 'broken');
    expect(json(await h.cli(['control', 'pool_restart', '-d', 'broken@debug', '-t', '5', '--json']))).toEqual([{ 'broken@debug': { ok: 'reload started' } }]);
    await w.waitFor(/pool restart failed; the old threads keep working: .*broken on purpose/, 30_000);
    expect((await call(['restart.version', '--wait'])).result).toBe('v1');
  });

  it('is refused without --pool-restarts, and by the async pool', async () => {
    await h.start('gated@debug', ['-P', 'threads']);
    await h.start('async@debug', ['--pool-restarts']);
    const replies = Object.assign({}, ...(json(await h.cli(['control', 'pool_restart', '-d', 'gated@debug,async@debug', '-t', '5', '--json'])) as object[])) as Record<string, { error?: string }>;
    expect(replies['gated@debug']?.error).toContain('Pool restarts not enabled on gated@debug: start the worker with --pool-restarts');
    expect(replies['async@debug']?.error).toContain('the async pool cannot re-import the app module');
    const text = await h.cli(['control', 'pool_restart', '-d', 'gated@debug', '-t', '5']);
    expect(text.stdout).toContain('->  gated@debug: ERROR');
  });
});
