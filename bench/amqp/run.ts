/**
 * celeriac and Python Celery 5 on the same RabbitMQ, side by side in one run (`npm run bench:amqp`).
 *
 * A vhost and user of the run's own (rabbitmqctl; deleted at the end) on the local RabbitMQ hold the broker
 * queue `celery`; results go to db 1 of a private redis-server (free port, no persistence), so completions
 * are counted from outside with DBSIZE, as the anchors do. Per repeat, Celery then celeriac:
 *   Celery (Python)  the anchors' celery_bench.py --broker amqp, -P solo (and the pools in --celery-pools)
 *   celeriac         this file, the same method: worker process
 *                    `node dist/cli/main.js worker -A bench/redis/worker-app.ts -c <c> -l warn`
 *     1. enqueue  N tasks with app.sendMany in batches of 1000 (publisher confirms), no worker running
 *     2. drain    worker started on the full queue; (N-1) / (1st -> N-th result stored)
 *     3. e2e      worker warm; N more sent the same way; first send -> N-th new result
 *     4. latency  sequential add.delay(2, 2) + get() after 20 warm-up round trips: p50 / p99
 *     5. rpc      the same round trips with results through rpc:// (same vhost, a second worker)
 * Knobs: --n 20000  --rt 300  --repeats 1  --concurrency 50  --celery-pools solo  --only celery,celeriac
 * Prints a Markdown table; raw records go to bench/results/amqp-latest.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Celeriac } from 'celeriac';
import { createVhost, type Vhost } from '../../tests/helpers/amqp.js';
import { freePort, privateRedis } from '../../tests/helpers/redis-server.js';
import { percentile, sleep, stopChild as stop } from '../lib.js';
import { ADD, registerBenchTasks } from '../tasks.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = join(ROOT, 'bench', 'results');
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : (process.env[`BENCH_AMQP_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback);
};
const N = Number(flag('n', '20000'));
const RT = Number(flag('rt', '300'));
const REPEATS = Number(flag('repeats', '1'));
const CONCURRENCY = Number(flag('concurrency', '50'));
const POOLS = flag('celery-pools', 'solo').split(',');
const ONLY = new Set(flag('only', 'celery,celeriac').split(','));
const ANCHORS_SRC = process.env['BENCH_ANCHORS_SRC'] ?? join(ROOT, '..', 'shared', 'bench-anchors');
const PY = process.env['CELERIAC_TEST_PYTHON'] ?? '/usr/bin/python3';
const BATCH = 1000;

interface Rec {
  system: string;
  mode: string;
  rep: number;
  n: number;
  enqueue_per_s: number;
  drain_per_s: number;
  e2e_per_s: number;
  p50_ms: number;
  p99_ms: number;
  rpc_p50_ms?: number;
  rpc_p99_ms?: number;
}

const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
async function waitUntil(pred: () => Promise<boolean>, what: string, timeoutMs: number, everyMs = 2): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
  return performance.now();
}

function spawnWorker(broker: string, backend: string, logName: string): ChildProcess {
  mkdirSync(join(RESULTS, 'logs'), { recursive: true });
  const fd = openSync(join(RESULTS, 'logs', logName), 'w');
  return track(
    spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'worker', '-A', join(ROOT, 'bench/redis/worker-app.ts'), '-c', String(CONCURRENCY), '-l', 'warn'], {
      cwd: ROOT,
      env: { ...process.env, CELERIAC_BROKER_URL: broker, CELERIAC_RESULT_BACKEND: backend },
      stdio: ['ignore', fd, fd],
    }),
  );
}

async function sendAll(app: Celeriac, n: number, y: number): Promise<void> {
  for (let start = 0; start < n; start += BATCH) {
    await app.sendMany(Array.from({ length: Math.min(BATCH, n - start) }, (_, k) => ({ name: ADD, args: [start + k, y] })));
  }
}

async function roundTrips(app: Celeriac, count: number): Promise<number[]> {
  const add = app.tasks.get(ADD);
  if (!add) throw new Error('bench.add is not registered');
  const lat: number[] = [];
  for (let i = 0; i < 20 + count; i++) {
    const t0 = performance.now();
    const r = await app.sendTask<number>(ADD, [2, 2]);
    if ((await r.get({ timeout: 30_000 })) !== 4) throw new Error('wrong result');
    if (i >= 20) lat.push(performance.now() - t0);
  }
  return lat;
}

async function celeriacRun(vhost: Vhost, redisUrl: string, rep: number): Promise<Rec> {
  const backend = `${redisUrl}/1`;
  const obs = new Redis(`${redisUrl}/1`);
  const app = new Celeriac('bench-amqp', { broker: vhost.url, backend });
  registerBenchTasks(app);
  try {
    await obs.flushdb();
    const t = await app.connection();
    await app.producer.declareRoute(t, { queue: 'celery', exchange: '', routingKey: 'celery' });
    await t.purge('celery');
    const t0 = performance.now();
    await sendAll(app, N, 1);
    const enqueue = N / ((performance.now() - t0) / 1000);
    if ((await t.queueInfo('celery')).messages !== N) throw new Error('queue depth is not N after the enqueue');
    const worker = spawnWorker(vhost.url, backend, `celeriac-amqp-rep${rep}.log`);
    try {
      const first = await waitUntil(async () => (await obs.dbsize()) >= 1, 'the first result', 60_000);
      const last = await waitUntil(async () => (await obs.dbsize()) >= N, 'N results', 600_000);
      const drain = (N - 1) / ((last - first) / 1000);
      const e0 = performance.now();
      await sendAll(app, N, 2);
      const e1 = await waitUntil(async () => (await obs.dbsize()) >= 2 * N, '2N results', 600_000);
      const lat = await roundTrips(app, RT);
      return { system: 'celeriac', mode: `amqp broker, -c ${CONCURRENCY}`, rep, n: N, enqueue_per_s: Math.round(enqueue), drain_per_s: Math.round(drain), e2e_per_s: Math.round(N / ((e1 - e0) / 1000)), p50_ms: percentile(lat, 50), p99_ms: percentile(lat, 99) };
    } finally {
      await stop(worker);
    }
  } finally {
    await app.close();
    obs.disconnect();
  }
}

/** Round trips with rpc:// results (producer and worker both on rpc://). */
async function celeriacRpc(vhost: Vhost, rep: number): Promise<{ p50: number; p99: number }> {
  const app = new Celeriac('bench-amqp-rpc', { broker: vhost.url, backend: 'rpc://' });
  registerBenchTasks(app);
  const worker = spawnWorker(vhost.url, 'rpc://', `celeriac-amqp-rpc-rep${rep}.log`);
  try {
    const lat = await roundTrips(app, RT);
    return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
  } finally {
    await stop(worker);
    await app.close();
  }
}

async function celeryRun(vhost: Vhost, redisPort: number, pool: string, rep: number, dir: string): Promise<Rec> {
  const out = join(dir, `celery-${pool}-${rep}.jsonl`);
  const child = track(
    spawn(PY, ['celery_bench.py', '--broker', 'amqp', '--pool', pool, '--n', String(N), '--rt', String(RT), '--rep', String(rep), '--out', out, '--redis-port', String(redisPort), '--timeout', '900'], {
      cwd: dir,
      env: { ...process.env, AMQP_URL: vhost.url, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`celery_bench.py exited with ${String(code)}`);
  const line = readFileSync(out, 'utf8').trim().split('\n').at(-1) as string;
  const rec = JSON.parse(line) as Rec;
  return { ...rec, system: 'Celery (Python)' };
}

function table(recs: Rec[]): string {
  const f = (x: number | undefined, d = 0): string => (x === undefined ? '–' : x.toFixed(d));
  const rows = recs.map((r) => `| ${r.system} | ${r.mode} | ${r.rep} | ${f(r.enqueue_per_s)} | ${f(r.drain_per_s)} | ${f(r.e2e_per_s)} | ${f(r.p50_ms, 2)} | ${f(r.p99_ms, 2)} | ${f(r.rpc_p50_ms, 2)} | ${f(r.rpc_p99_ms, 2)} |`);
  return ['| system | mode | rep | enqueue/s | drain/s | e2e/s | p50 ms | p99 ms | rpc p50 ms | rpc p99 ms |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
}

async function main(): Promise<void> {
  const port = await freePort();
  const redis = privateRedis(port);
  await redis.start();
  const vhost = await createVhost();
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-bench-amqp-'));
  for (const f of ['celery_bench.py', 'benchlib.py', 'tasks.py']) cpSync(join(ANCHORS_SRC, f), join(dir, f));
  const recs: Rec[] = [];
  try {
    for (let rep = 1; rep <= REPEATS; rep++) {
      if (ONLY.has('celery')) for (const pool of POOLS) recs.push(await celeryRun(vhost, port, pool, rep, dir));
      if (ONLY.has('celeriac')) {
        const rec = await celeriacRun(vhost, `redis://127.0.0.1:${port}`, rep);
        const rpc = await celeriacRpc(vhost, rep);
        recs.push({ ...rec, rpc_p50_ms: rpc.p50, rpc_p99_ms: rpc.p99 });
      }
      process.stdout.write(`${table(recs)}\n\n`);
    }
  } finally {
    for (const c of children) await stop(c);
    await vhost.remove();
    await redis.stop();
  }
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'amqp-latest.json'), JSON.stringify({ at: new Date().toISOString(), config: { N, RT, REPEATS, CONCURRENCY, POOLS }, recs }, null, 2));
  process.stdout.write(`${table(recs)}\n`);
}

await main();
