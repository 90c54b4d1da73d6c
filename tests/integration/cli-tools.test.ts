// `celeriac report`, `logtool`, `upgrade settings` and `graph` as a user runs them (built CLI, child processes):
// help with examples, exit 2 on bad arguments, secrets masked, the logs of a real worker (JSON and pretty),
// a Celery 3 config carried over (the TypeScript loads in celeriac, the new names load in Python Celery), and
// graphs Graphviz renders, of live workers on SQLite, Redis and RabbitMQ.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { ROOT, runCli, runProcess, spawnCli, startWorker, type Run, type Spawned } from '../helpers/processes.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { PYTHON, pythonEnv } from '../interop/helpers.js';

const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> => runCli(args, env);
const OLD_CONFIG = `${ROOT}tests/fixtures/python/celeryconfig_old.py`;

/** Renders DOT with Graphviz; the suite fails (never skips) without it. */
async function render(dot: string, dir: TempDir): Promise<string> {
  const file = dir.file(`g-${randomUUID()}.dot`);
  writeFileSync(file, dot);
  const r = await runProcess('dot', ['-Tsvg', file], process.env, ROOT).catch((err: Error) => {
    throw new Error(`Graphviz's dot is needed by this test (apt-get install -y graphviz): ${err.message}`);
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

let dir: TempDir;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => dir.remove());

describe('help and bad arguments', () => {
  it('every command has --help with examples', async () => {
    for (const args of [['graph', 'workers'], ['graph', 'bootsteps'], ['report'], ['logtool'], ['logtool', 'stats'], ['upgrade', 'settings']]) {
      const r = await cli([...args, '--help']);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/Examples?:\n {2}\$ celeriac /);
    }
  });

  it('exits 2 with a message on bad arguments', async () => {
    const cases: [string[], string][] = [
      [['graph'], 'graph needs what to draw'],
      [['graph', 'bootsteps', 'engine'], "'engine' is not a blueprint"],
      [['graph', 'bootsteps', '-P', 'forks'], '-P expects one of async, threads, processes'],
      [['graph', 'bootsteps', '-P', 'processes'], 'give the app module with -A'],
      [['graph', 'workers', '--wmax', 'many'], '--wmax expects an integer'],
      [['graph', 'workers', 'colour:red'], "unknown argument 'colour:red'"],
      [['report', '--verbose'], "unknown option '--verbose'"],
      [['logtool'], 'logtool needs an action'],
      [['logtool', 'stats'], 'needs one or more log files'],
      [['logtool', 'errors', '/no/such.log'], "no such file '/no/such.log'"],
      [['upgrade'], 'upgrade needs what to upgrade'],
      [['upgrade', 'settings'], "missing required argument 'file'"],
      [['upgrade', 'settings', '/no/celeryconfig.py'], "no such file '/no/celeryconfig.py'"],
      [['upgrade', 'settings', OLD_CONFIG, '--celery', '--celeriac'], 'give neither to print both'],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const broken = dir.file('broken.py');
    writeFileSync(broken, "BROKER_URL = 'redis://\n");
    expect(await cli(['upgrade', 'settings', broken])).toMatchObject({ code: 2, stderr: expect.stringContaining('line 1: a string is not closed') });
  });
});

describe('celeriac report', () => {
  it.each([
    ['sqlite', 'sqlite://./x.db', 'sqlite://./x.db'],
    ['redis', 'redis://:pw-redis@127.0.0.1:6379/0', 'redis://:**@127.0.0.1:6379/0'],
    ['amqp', 'amqp://guest:pw-amqp@127.0.0.1:5672//', 'amqp://guest:**@127.0.0.1:5672//'],
  ])('shows versions, platform and the %s broker with its password masked', async (kind, url, masked) => {
    const r = await cli(['report'], { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: 'redis://:pw-results@127.0.0.1:6379/1' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\nsoftware -> celeriac:\d+\.\d+\.\d+ node:v\d+/);
    expect(r.stdout).toMatch(/better-sqlite3:\d[\d.]* ioredis:\d[\d.]* amqplib:\d[\d.]*/);
    expect(r.stdout).toContain(`settings -> transport:${kind} broker:${masked} results:redis://:**@127.0.0.1:6379/1`);
    expect(r.stdout).toContain(`broker: "${masked}"  (from CELERIAC_BROKER_URL)`);
    expect(r.stdout).not.toMatch(/pw-/);
  });

  it("hides the app's secrets, shows its other settings, and prints JSON", async () => {
    const r = await cli(['report', '-A', `${ROOT}tests/fixtures/apps/report-app.ts`, '--json'], { CELERIAC_BROKER_URL: 'sqlite://./r.db' });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    const data = JSON.parse(r.stdout) as { loader: { app: string }; settings: Record<string, unknown>; environment: Record<string, string> };
    expect(data.loader.app).toBe('reporting');
    expect(data.settings).toMatchObject({
      brokerOptions: { password: '********', keyPrefix: 'shown-prefix' },
      backendOptions: { tls: { key: '********' } },
      taskRoutes: { 'tasks.*': { queue: 'reports', routingKey: 'shown.key' } },
      prefetchMultiplier: 2,
    });
    expect(data.settings).not.toHaveProperty('resultExpires');
    expect(data.environment).toEqual({ broker: 'CELERIAC_BROKER_URL' });
    const all = JSON.parse((await cli(['report', '--json', '--with-defaults'])).stdout) as { settings: Record<string, unknown> };
    expect(all.settings).toMatchObject({ resultExpires: 86400, poolRestarts: false });
  });
});

describe('celeriac logtool on a real worker\'s log', { timeout: 120_000 }, () => {
  for (const format of ['json', 'pretty'] as const) {
    it(`${format}: stats, errors, traces and incomplete tasks`, async () => {
      const db = `sqlite://${dir.file(`log-${format}.db`)}`;
      const env = { CELERIAC_BROKER_URL: db, CELERIAC_RESULT_BACKEND: db };
      const w: Spawned = await startWorker(db, ['-Q', 'for_add,celery', '--log-format', format]);
      let stuck = '';
      try {
        expect((await cli(['call', 'tasks.add', '--args', '[1,2]', '--wait'], env)).code).toBe(0);
        expect((await cli(['call', 'tasks.add', '--args', '[2,3]', '--wait'], env)).code).toBe(0);
        expect((await cli(['call', 'tasks.fail', '--args', '["boom"]', '--wait'], env)).code).toBe(1);
        stuck = (await cli(['call', 'tasks.record', '--args', '[1, 600000]'], env)).stdout.trim();
        await w.waitFor(new RegExp(`tasks\\.record\\[${stuck}\\] received`));
      } finally {
        w.child.kill('SIGKILL');
        await w.exited;
      }
      const log = dir.file(`worker-${format}.log`);
      writeFileSync(log, w.output());
      const stats = await cli(['logtool', 'stats', log]);
      expect(stats.stdout).toBe(['', 'Report', '======', 'Task total: 4', 'Task errors: 1', 'Task success: 2', 'Task completed: 3', 'Task retried: 0', 'Task revoked: 0', 'Tasks', '=====', 'tasks.add: 2', 'tasks.fail: 1', 'tasks.record: 1', ''].join('\n'));
      const json = JSON.parse((await cli(['logtool', 'stats', '--json', log])).stdout) as { runtimes: Record<string, { count: number }> };
      expect(json.runtimes['tasks.add']?.count).toBe(2);
      const errors = (await cli(['logtool', 'errors', log])).stdout.trim().split('\n');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/Task tasks\.fail\[[0-9a-f-]+\] raised unexpected: RangeError: boom/);
      const traces = (await cli(['logtool', 'traces', log])).stdout;
      expect(traces).toMatch(/raised unexpected: RangeError: boom\n[\s\S]*RangeError: boom\n\s+at /);
      expect((await cli(['logtool', 'incomplete', log])).stdout).toBe(`Did not complete: ${stuck}\n`);
      expect(JSON.parse((await cli(['logtool', 'incomplete', '--json', log])).stdout)).toEqual([stuck]);
    });
  }
});

describe('celeriac upgrade settings', { timeout: 60_000 }, () => {
  it('the celeriac config it prints is a TypeScript app celeriac accepts', async () => {
    const r = await cli(['upgrade', 'settings', OLD_CONFIG, '--celeriac', '--name', 'carried']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('//   celeriac worker -A ./tasks.ts --time-limit 300 --soft-time-limit 240 --max-tasks-per-child 100 -P processes');
    expect(r.stdout).toMatch(/CELERY_ALWAYS_EAGER \(task_always_eager\), line \d+: no celeriac equivalent/);
    expect(r.stdout).toMatch(/CELERY_EAGER_PROPAGATES_EXCEPTIONS \(task_eager_propagates\), line \d+: assigned inside a block/);
    const file = dir.file('carried.ts');
    writeFileSync(file, `${r.stdout.replace("from 'celeriac'", `from '${ROOT}dist/index.js'`)}\nconsole.log(JSON.stringify({ main: app.main, conf: app.conf }));\n`);
    const run = await runProcess(process.execPath, ['--import', 'tsx', file], process.env, ROOT);
    expect(run.stderr).toBe('');
    const { main, conf } = JSON.parse(run.stdout) as { main: string; conf: Record<string, unknown> };
    expect(main).toBe('carried');
    expect(conf).toMatchObject({
      broker: 'redis://:s3cret@127.0.0.1:6379/0', backend: 'redis://:s3cret@127.0.0.1:6379/1', taskSerializer: 'json', resultExpires: 86400,
      defaultQueue: 'default', taskRoutes: { 'tasks.add': { queue: 'math', routingKey: 'math.add' }, 'tasks.report.*': 'reports' },
      acksLate: true, prefetchMultiplier: 1, concurrency: 8, taskTrackStarted: true, workerSendTaskEvents: true, timezone: 'Europe/Paris',
      visibilityTimeout: 7_200_000, beatSchedule: { 'add-every-30-seconds': { task: 'tasks.add', schedule: { every: 30 }, args: [16, 16], options: { queue: 'math' } } },
    });
  });

  it("the module with Celery's new names loads in Python Celery, with no old name left", async () => {
    const r = await cli(['upgrade', 'settings', OLD_CONFIG, '--celery']);
    expect(r.code).toBe(0);
    writeFileSync(dir.file('newconfig.py'), r.stdout);
    expect(r.stdout).not.toMatch(/^(BROKER_URL|CELERY_RESULT_BACKEND|CELERY_TASK_SERIALIZER|CELERYD_\w+|CELERYBEAT_\w+) =/m);
    const script = [
      'import json',
      'from celery import Celery',
      "app = Celery('t')",
      "app.config_from_object('newconfig')",
      'c = app.conf',
      'out = {k: c[k] for k in ["broker_url", "result_backend", "task_serializer", "result_expires", "task_routes", "worker_prefetch_multiplier", "task_time_limit", "beat_schedule"]}',
      'out["deprecated"] = sorted(c.deprecated_settings or [])',
      'print(json.dumps(out, default=str))',
    ].join('\n');
    const py = await runProcess(PYTHON, ['-c', script], pythonEnv(), dir.path);
    expect(py.stderr).toBe('');
    expect(JSON.parse(py.stdout)).toMatchObject({
      broker_url: 'redis://:s3cret@127.0.0.1:6379/0', result_backend: 'redis://:s3cret@127.0.0.1:6379/1', task_serializer: 'json', result_expires: 86400,
      task_routes: { 'tasks.add': { queue: 'math', routing_key: 'math.add' } }, worker_prefetch_multiplier: 1, task_time_limit: 300,
      beat_schedule: { 'add-every-30-seconds': { task: 'tasks.add', schedule: 30 } },
      deprecated: [],
    });
  });

  it('--json lists what is not carried over, and the default output is one TypeScript file', async () => {
    const data = JSON.parse((await cli(['upgrade', 'settings', OLD_CONFIG, '--json'])).stdout) as { notCarried: { setting: string }[]; unknown: string[]; celery: string };
    expect(data.notCarried.map((n) => n.setting)).toEqual(['CELERY_ALWAYS_EAGER', 'CELERY_ANNOTATIONS', 'CELERY_DISABLE_RATE_LIMITS', 'CELERYD_TASK_LOG_FORMAT', 'CELERY_EAGER_PROPAGATES_EXCEPTIONS']);
    expect(data.unknown).toEqual(['REDIS', 'CELERY_QUEUE_HA_POLICY', 'NIGHTLY', 'CELERY_EXPIRES_LATER', 'DEBUG']);
    const both = (await cli(['upgrade', 'settings', OLD_CONFIG])).stdout;
    expect(both).toContain("/* Celery's new setting names");
    expect(both.trimEnd().endsWith('*/')).toBe(true);
    expect(readFileSync(OLD_CONFIG, 'utf8')).toContain('BROKER_URL ='); // never edited
  });
});

describe('celeriac graph', { timeout: 120_000 }, () => {
  it('bootsteps: the components of the worker the options describe, rendered by Graphviz', async () => {
    const r = await cli(['graph', 'bootsteps', '--autoscale', '4,1', '--statedb', dir.file('state.json'), '-B', '--without-gossip']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"Autoscaler" -> "Pool";');
    expect(r.stdout).toContain('"Control" -> "StateDB";');
    expect(r.stdout).toContain('"Beat" [label="13. Beat');
    expect(r.stdout).not.toContain('Gossip');
    expect(await render(r.stdout, dir)).toContain('<svg');
    const consumer = await cli(['graph', 'bootsteps', 'consumer', '--without-control']);
    expect(consumer.stdout).toContain('"Tasks" [label=');
    expect(consumer.stdout).not.toMatch(/"Pool"|"Control"/);
    await render(consumer.stdout, dir);
  });

  it('workers with no worker online: broker and backend only, exit 69', async () => {
    const db = `sqlite://${dir.file('empty.db')}`;
    const r = await cli(['graph', 'workers', '-t', '0.3'], { CELERIAC_BROKER_URL: db, CELERIAC_RESULT_BACKEND: db });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain('No nodes replied');
    await render(r.stdout, dir);
  });

  for (const kind of ['sqlite', 'redis', 'amqp'] as const) {
    it(`workers: the live fleet on ${kind}, its pool slots and queues`, async () => {
      const node = `graph-${kind}-${randomUUID().slice(0, 6)}@cli`;
      const prefix = `graph-test-${randomUUID()}:`;
      let vhost: Vhost | undefined;
      const backend = `sqlite://${dir.file(`graph-${kind}.db`)}`;
      const url = kind === 'sqlite' ? backend : kind === 'redis' ? `${REDIS_URL}?global_keyprefix=${prefix}` : (vhost = await createVhost()).url;
      const env = { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: backend };
      const w = spawnCli(['worker', '-A', `${ROOT}tests/fixtures/apps/control-tasks.ts`, '-n', node, '-c', '5', '-Q', 'celery,graph_q', '-P', 'async', '--log-format', 'json'], env);
      try {
        await w.waitFor(/ ready\.\n/, 30_000);
        const r = await cli(['graph', 'workers', '-d', node, '-t', '5', '--tmax', '3'], env);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`"worker:${node}" [label="${node}\\nasync × 5"];`);
        expect(r.stdout).toContain(`"queue:graph_q" -> "worker:${node}"`);
        expect(r.stdout).toContain(`"slot:${node}:P₅" -> "worker:${node}"`);
        expect(r.stdout).toContain(`"slot:${node}:P⎨…₃⎬"`);
        if (vhost) expect(r.stdout).not.toContain(vhost.password);
        await render(r.stdout, dir);
        const generic = await cli(['graph', 'workers', '-d', node, '-t', '5', 'generic', 'tmax:0'], env);
        expect(generic.stdout).toContain(`"broker" [label="Broker (${kind === 'sqlite' ? 'sqlite' : kind}://)"`);
        expect(generic.stdout).toContain(`"slot:${node}:P₃"`);
      } finally {
        w.child.kill('SIGTERM');
        await w.exited;
        await vhost?.remove();
        if (kind === 'redis') await deleteKeys(prefix);
      }
    });
  }
});
