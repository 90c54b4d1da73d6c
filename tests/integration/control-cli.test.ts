// `celeriac inspect`, `control` and `status` as a user runs them (built CLI, child processes) against worker
// processes on a temp SQLite file, and on RabbitMQ (a vhost of its own per test, results in a temp SQLite
// file): help from the registry (user commands too), exit codes, allow-list, --without-control and --statedb.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { ROOT, runCli, spawnCli, type Run, type Spawned } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const APP = `${ROOT}tests/fixtures/apps/control-tasks.ts`;

async function stopWorker(w: Spawned): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
  await w.exited;
  clearTimeout(timer);
}

const runWith = (args: string[], url: string, backend: string): Promise<Run> => runCli(args, { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: backend });

for (const kind of ['sqlite', 'amqp'] as const) {
  // Generous: each CLI call is a Node process that connects to the broker, and the machine is busy.
  describe(`celeriac inspect / control / status (${kind})`, { timeout: 90_000 }, () => {
    let dir: TempDir;
    let url: string;
    let backend: string;
    const workers: Spawned[] = [];
    const vhosts: Vhost[] = [];
    const cli = (args: string[]): Promise<Run> => runWith(args, url, backend);

    /** A new, empty broker and result store (the n-th of this test). */
    const fresh = async (n: number): Promise<void> => {
      backend = `sqlite://${dir.file(`store-${n}.db`)}`;
      if (kind === 'sqlite') {
        url = backend;
        return;
      }
      const v = await createVhost();
      vhosts.push(v);
      url = v.url;
    };

    const start = async (name: string, args: string[] = []): Promise<Spawned> => {
      const w = spawnCli(['worker', '-A', APP, '-n', name, '-c', '3', '-l', 'info', '--log-format', 'json', ...args], { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: backend });
      workers.push(w);
      await w.waitFor(/ ready\.\n/, 30_000);
      return w;
    };

    beforeEach(async () => {
      dir = tempDir();
      await fresh(0);
    }, 60_000);

    afterEach(async () => {
      for (const w of workers.splice(0)) await stopWorker(w);
      for (const v of vhosts.splice(0)) await v.remove();
      dir.remove();
    }, 60_000);

    it('--help lists the built-in and the app\'s own commands', async () => {
      const inspect = await cli(['inspect', '-A', APP, '--help']);
      expect(inspect.code).toBe(0);
      for (const c of ['ping', 'active', 'stats', 'registered [taskinfoitems...]', 'query_task <ids...>', 'pool_size']) expect(inspect.stdout).toContain(c);
      expect(inspect.stdout).toContain('How many tasks the pool runs at once');
      const control = await cli(['control', '-A', APP, '--help']);
      expect(control.stdout).toContain('rate_limit <task_name> <rate_limit>');
      expect(control.stdout).toContain('greet <name> [times]');
      expect(control.stdout).not.toContain('pool_size');
    });

    it('bad commands and arguments exit 2 with a message; no worker exits 69', async () => {
      expect(await cli(['inspect', 'nope'])).toMatchObject({ code: 2, stderr: expect.stringContaining("no inspect command 'nope'") });
      expect(await cli(['inspect', 'rate_limit'])).toMatchObject({ code: 2, stderr: expect.stringContaining("'rate_limit' is a control command") });
      expect(await cli(['control', 'rate_limit', 'tasks.add'])).toMatchObject({ code: 2, stderr: expect.stringContaining('rate_limit needs rate_limit') });
      expect(await cli(['control', 'pool_grow', 'lots'])).toMatchObject({ code: 2, stderr: expect.stringContaining('n expects a number') });
      expect(await cli(['inspect', 'ping', '-t', 'soon'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--timeout expects a number') });
      expect(await cli(['inspect'])).toMatchObject({ code: 2 });
      const none = await cli(['inspect', 'ping', '-t', '0.3']);
      expect(none.code).toBe(69);
      expect(none.stderr).toContain('No nodes replied');
      expect((await cli(['status', '-t', '0.3', '--json'])).stdout.trim()).toBe('[]');
    });

    it('inspect, control and status reach workers; a user command runs; the allow-list refuses others', async () => {
      await start('one@cli');
      await start('two@cli', ['--control-allow', 'ping,registered']);
      const status = await cli(['status', '-t', '5', '--json']);
      expect(JSON.parse(status.stdout)).toEqual(['one@cli', 'two@cli']);
      const table = await cli(['status', '-t', '5', '-d', 'one@cli,two@cli']);
      expect(table.stdout).toMatch(/NODE\s+STATUS\none@cli\s+OK\ntwo@cli\s+OK/);
      expect(table.stdout).toContain('2 nodes online.');
      const ping = await cli(['inspect', 'ping', '-d', 'one@cli', '-t', '5']);
      expect(ping.stdout).toBe('->  one@cli: OK\n        pong\n\n1 node online.\n');
      const size = await cli(['inspect', '-A', APP, 'pool_size', '-d', 'one@cli', '-t', '5', '--json']);
      expect(JSON.parse(size.stdout)).toEqual({ 'one@cli': { ok: 'one@cli runs 3' } });
      const greet = await cli(['control', '-A', APP, 'greet', 'you', '2', '-t', '5', '--json', '-d', 'one@cli,two@cli']);
      expect(Object.assign({}, ...(JSON.parse(greet.stdout) as object[]))).toEqual({ 'one@cli': { ok: 'hello youhello you' }, 'two@cli': { error: "command 'greet' is not allowed on two@cli (not in its controlAllow list)" } });
      const registered = await cli(['inspect', 'registered', '-p', 't*', '-t', '1']);
      expect(registered.stdout).toContain('->  two@cli: OK\n    * tasks.add');
      expect(registered.stdout).not.toContain('one@cli');
    });

    it('inspect active prints running tasks as a table', async () => {
      const w = await start('busy@cli');
      const caller = spawnCli(['call', 'tasks.sleep', '--args', '[4000]'], { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: backend });
      await caller.exited;
      await w.waitFor(/tasks\.sleep\[[^\]]+\] received/, 15_000);
      let out = '';
      for (let i = 0; i < 20 && !out.includes('tasks.sleep'); i++) out = (await cli(['inspect', 'active', '-t', '5'])).stdout;
      expect(out).toMatch(/->  busy@cli: OK\n    ID\s+NAME\s+ARGS\s+STARTED\/ETA\n    [0-9a-f-]{36}\s+tasks\.sleep\s+\[4000\]\s+\d{4}-\d\d-\d\dT/);
    });

    it('--without-control: the worker runs tasks but answers no command', async () => {
      await start('mute@cli', ['--without-control']);
      expect((await cli(['inspect', 'ping', '-t', '0.5'])).code).toBe(69);
    });

    it('--statedb keeps revoked ids across restarts; revoke from the CLI reaches workers started later', async () => {
      const statedb = dir.file('state/worker.json');
      await start('keeper@cli', ['--statedb', statedb]);
      const revoke = await cli(['control', 'revoke', 'id-1', 'id-2', '-t', '5', '--json']);
      expect(JSON.parse(revoke.stdout)).toEqual([{ 'keeper@cli': { ok: 'tasks id-1, id-2 flagged as revoked' } }]);
      await stopWorker(workers.pop() as Spawned);
      expect((JSON.parse(readFileSync(statedb, 'utf8')) as { revoked: [string, number][] }).revoked.map(([id]) => id)).toEqual(['id-1', 'id-2']);
      // A fresh broker and result store: only the state file can bring the ids back.
      await fresh(1);
      await start('keeper@cli', ['--statedb', statedb]);
      expect(JSON.parse((await cli(['inspect', 'revoked', '-t', '5', '--json'])).stdout)).toEqual({ 'keeper@cli': ['id-1', 'id-2'] });
      // Revoked while no worker listened: the result store keeps it for the next worker.
      await cli(['control', 'revoke', 'id-3', '-t', '0.2']);
      await start('late@cli');
      expect(JSON.parse((await cli(['inspect', 'revoked', '-d', 'late@cli', '-t', '5', '--json'])).stdout)).toEqual({ 'late@cli': ['id-3'] });
    });

    it('shutdown from the CLI stops the worker process', async () => {
      const w = await start('doomed@cli');
      const r = await cli(['control', 'shutdown', '-d', 'doomed@cli', '-t', '5']);
      expect(r.stdout).toContain('shutting down');
      expect(await w.exited).toBe(0);
    });
  });
}
