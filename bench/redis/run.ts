/**
 * celeriac on Redis, side by side in one run with BullMQ, Python Celery 5 and redis-benchmark (`npm run bench:redis`).
 *
 * One private redis-server (loopback, no persistence, on a free port; FLUSHALLed between systems, stopped
 * at the end) serves every system. Per repeat, interleaved (all systems in repeat 1, then repeat 2):
 *   redis-benchmark  the anchors' redis_ceiling.py (LPUSH / RPOP / BRPOP, 50 clients, -P 16, 1 client)
 *   BullMQ           the anchors' bullmq_bench.mjs, Worker concurrency 1 and 50
 *   Celery (Python)  the anchors' celery_bench.py, -P solo and -P threads -c 50 (redis broker db 0, results db 1)
 *   celery-node      the anchors' celerynode_bench.mjs (client and worker in Node; broker db 0, results db 1)
 *   celeriac         this file, with the anchors' method: worker process
 *                    `node dist/cli/main.js worker -A bench/redis/worker-app.ts -c 1|50 -l warn`
 *                    (broker redis://…/0, results redis://…/1), producer here:
 *     1. enqueue  N tasks with app.sendMany in batches of 1000, no worker running; LLEN checked
 *     2. drain    worker started on the full queue; (N-1) / (1st → N-th result), results counted from
 *                 outside with DBSIZE of db 1 every 2 ms (start-up excluded)
 *     3. e2e      worker warm; N more sent the same way; first send → N-th new result stored
 *     4. latency  sequential add.delay(2, 2) + get() (pub/sub wake-up), after 20 warm-up round trips
 *     5. RSS      VmHWM of the worker process (summed over children, as the anchors do), after all phases
 *   and checks: every result stored once, queue and unacked hash empty.
 * --million: 1,000,000 tasks queued (sendMany) before a -c 50 worker starts; the worker's RSS is sampled
 * every second until the last result is stored (prefetch must bound memory: RSS stays flat).
 *
 * The anchors (/work/shared/bench-anchors: bullmq, ioredis, celery-node pinned) are copied to a writable
 * folder and installed there on first use (--anchors, default $TMPDIR/celeriac-anchors).
 * Writes bench/results/redis-latest.json and bench/results/redis-raw-<stamp>.jsonl; prints Markdown tables.
 *
 * Knobs (flags, or env BENCH_REDIS_<NAME>): --n 20000  --rt 500  --repeats 2  --concurrency 1,50
 *   --only redis,bullmq,celery,celerynode,celeriac   --celery-pools solo,threads:50   --celery-n (= n)
 *   --million  --million-n 1000000  --million-c 50  --million-batch 1000  --million-systems celeriac[,bullmq]
 *   --port (default: a free one)  --anchors DIR  --worker-node-args '--cpu-prof --cpu-prof-dir=…'
 *   --worker-app bench/redis/worker-app.mjs (the same app in plain JS: no tsx loader thread in the worker)
 *   --probe: instead of the table, drain only, celeriac and BullMQ alternating: rate, worker and redis-server
 *            CPU per task, Redis commands per task (--probe-systems celeriac,bullmq; with --worker-node-args
 *            both workers get the flags)
 */
import { freePort } from '../../tests/helpers/redis-server.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { Celeriac } from 'celeriac';
import { cpuTimeMs, percentile, sleep, stopChild as stop, slope } from '../lib.js';
import { ADD, registerBenchTasks } from '../tasks.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const LOG_DIR = join(RESULTS_DIR, 'logs');

// ------------------------------------------------------------------------------------------------ knobs

const argv = process.argv.slice(2);
const BOOLEAN_FLAGS = new Set(['million', 'probe']);
function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i !== -1) {
    if (BOOLEAN_FLAGS.has(name)) return 'true';
    const next = argv[i + 1];
    if (next === undefined) throw new Error(`--${name} needs a value`);
    return next;
  }
  return process.env[`BENCH_REDIS_${name.toUpperCase().replace(/-/g, '_')}`];
}
function int(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
}
const list = (name: string, fallback: string): string[] => (flag(name) ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
const bool = (name: string): boolean => ['1', 'true', 'yes'].includes(flag(name) ?? '');

const N = int('n', 20_000);
const RT = int('rt', 500);
const RT_WARMUP = 20;
const BATCH = 1000;
const REPEATS = int('repeats', 2);
const CONCURRENCY = list('concurrency', '1,50').map(Number);
const ONLY = new Set(list('only', 'redis,bullmq,celery,celerynode,celeriac'));
const CELERY_POOLS = list('celery-pools', 'solo,threads:50');
const CELERY_N = int('celery-n', N);
const MILLION = bool('million');
const PROBE = bool('probe');
const PROBE_SYSTEMS = list('probe-systems', 'celeriac,bullmq');
const MILLION_N = int('million-n', 1_000_000);
const MILLION_C = int('million-c', 50);
const MILLION_BATCH = int('million-batch', 1000);
const MILLION_SYSTEMS = new Set(list('million-systems', 'celeriac'));
const WORKER_NODE_ARGS = (flag('worker-node-args') ?? '').split(' ').filter(Boolean);
/** The module the celeriac worker loads (-A); worker-app.mjs is the same app without the TypeScript loader. */
const WORKER_APP = flag('worker-app') ?? 'bench/redis/worker-app.ts';
const PY = process.env['PY'] ?? '/usr/bin/python3';
const ANCHORS = flag('anchors') ?? join(tmpdir(), 'celeriac-anchors');
const ANCHORS_SRC = process.env['BENCH_ANCHORS_SRC'] ?? join(ROOT, '..', 'shared', 'bench-anchors');
const PHASE_TIMEOUT = 600_000;

// The benchmark's apps name their broker explicitly; CELERIAC_* variables of the caller would override them.
for (const k of Object.keys(process.env)) if (k.startsWith('CELERIAC_')) delete process.env[k];

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const now = (): number => performance.now();
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

// ------------------------------------------------------------------------------------------------ processes

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
// Whatever ends this process (an uncaught error included), the private redis-server and workers go with it.
process.on('exit', killAll);
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.once('SIGTERM', () => {
  killAll();
  process.exit(143);
});

/** Runs a command to completion, its stdout and stderr passed to our stderr; throws on a non-zero exit. */
async function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const child = track(spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] }));
  child.stdout?.on('data', (b: Buffer) => process.stderr.write(b));
  child.stderr?.on('data', (b: Buffer) => process.stderr.write(b));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}`);
}

/** /proc status fields of a process tree, summed (kB → MiB). */
function treeStatusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  let kb = 0;
  const todo = [pid];
  const seen = new Set<number>();
  while (todo.length) {
    const p = todo.pop() as number;
    if (seen.has(p)) continue;
    seen.add(p);
    try {
      const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
      for (const tid of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c) todo.push(Number(c));
      }
    } catch {
      /* gone */
    }
  }
  return r1(kb / 1024);
}

/** Read and write system calls and voluntary context switches (wake-ups) of a process, all threads (/proc). */
function ioCounters(pid: number): { syscr: number; syscw: number; wakeups: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    let wakeups = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const m = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
      wakeups += Number(m?.[1] ?? 0);
    }
    return { syscr: Number(/^syscr:\s+(\d+)/m.exec(io)?.[1]), syscw: Number(/^syscw:\s+(\d+)/m.exec(io)?.[1]), wakeups };
  } catch {
    return { syscr: Number.NaN, syscw: Number.NaN, wakeups: Number.NaN };
  }
}

/** Polls an async predicate every `everyMs` (the anchors poll every 2 ms); resolves with now() when it holds. */
async function waitUntil(pred: () => Promise<boolean>, what: string, timeoutMs: number, everyMs = 2): Promise<number> {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (await pred()) return now();
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------------------------------------------ redis-server

let PORT = 0;
let redisServer: ChildProcess | undefined;

async function startRedis(): Promise<void> {
  PORT = int('port', await freePort());
  mkdirSync(LOG_DIR, { recursive: true });
  redisServer = track(spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--logfile', join(LOG_DIR, 'redis-server.log')], { stdio: 'ignore' }));
  const deadline = now() + 10_000;
  for (;;) {
    const probe = new Redis({ host: '127.0.0.1', port: PORT, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    const ok = await probe.connect().then(() => probe.ping()).then(() => true, () => false);
    probe.disconnect();
    if (ok) break;
    if (redisServer.exitCode !== null || now() > deadline) {
      throw new Error(`redis-server did not answer on 127.0.0.1:${PORT} (log: ${join(LOG_DIR, 'redis-server.log')})`);
    }
    await sleep(50);
  }
  log(`private redis-server pid ${redisServer.pid} on 127.0.0.1:${PORT}`);
}

// ------------------------------------------------------------------------------------------------ anchors

function ensureAnchors(): void {
  if (existsSync(join(ANCHORS, 'node_modules', 'bullmq', 'package.json'))) return;
  if (!existsSync(join(ANCHORS_SRC, 'bullmq_bench.mjs'))) throw new Error(`anchor scripts not found at ${ANCHORS_SRC} (set BENCH_ANCHORS_SRC)`);
  log(`copying the anchors ${ANCHORS_SRC} -> ${ANCHORS} and installing their pinned packages`);
  cpSync(ANCHORS_SRC, ANCHORS, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.includes('__pycache__') });
  spawnSync('chmod', ['-R', 'u+w', ANCHORS]);
  // The anchors' lock file lacks other platforms' optional packages, so `npm ci` refuses it: npm install keeps the pins.
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: ANCHORS, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error(`npm install in ${ANCHORS} failed`);
}

// ------------------------------------------------------------------------------------------------ records

interface Rec {
  system: string;
  mode: string;
  rep: number;
  n?: number;
  enqueue_per_s?: number;
  drain_per_s?: number;
  e2e_per_s?: number;
  e2e_enqueue_part_s?: number;
  lat_n?: number;
  p50_ms?: number;
  p99_ms?: number;
  rss_mb?: number;
  ops_per_s?: number;
  [k: string]: unknown;
}

mkdirSync(LOG_DIR, { recursive: true });
const STAMP = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
const RAW = join(RESULTS_DIR, `redis-raw-${STAMP}.jsonl`);

function readRaw(): Rec[] {
  if (!existsSync(RAW)) return [];
  return readFileSync(RAW, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
}

function emit(rec: Rec): void {
  const line = JSON.stringify(Object.fromEntries(Object.entries(rec).sort()));
  log(line);
  writeFileSync(RAW, `${line}\n`, { flag: 'a' });
}

// ------------------------------------------------------------------------------------------------ celeriac

const brokerUrl = (): string => `redis://127.0.0.1:${PORT}/0`;
const backendUrl = (): string => `redis://127.0.0.1:${PORT}/1`;

function spawnWorker(concurrency: number, logName: string): ChildProcess {
  const fd = openSync(join(LOG_DIR, logName), 'w');
  const child = track(
    spawn(process.execPath, [...WORKER_NODE_ARGS, join(ROOT, 'dist/cli/main.js'), 'worker', '-A', join(ROOT, WORKER_APP), '-c', String(concurrency), '-l', 'warn'], {
      cwd: ROOT,
      env: { ...process.env, CELERIAC_BROKER_URL: brokerUrl(), CELERIAC_RESULT_BACKEND: backendUrl() },
      stdio: ['ignore', fd, fd],
    }),
  );
  closeSync(fd);
  if (child.pid === undefined) throw new Error('could not start the celeriac worker');
  return child;
}

async function sendBatches(app: Celeriac, n: number, y: number, batch = BATCH): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    const calls = Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({ name: ADD, args: [i + j, y] }));
    await app.sendMany<number>(calls);
  }
}

interface Observer {
  r0: Redis;
  r1: Redis;
  close(): Promise<void>;
}

async function observer(): Promise<Observer> {
  const r0 = new Redis({ host: '127.0.0.1', port: PORT, db: 0 });
  const r1 = new Redis({ host: '127.0.0.1', port: PORT, db: 1 });
  return { r0, r1, close: async () => void (await Promise.all([r0.quit(), r1.quit()])) };
}

async function celeriacRun(conc: number, rep: number): Promise<void> {
  const obs = await observer();
  await obs.r0.flushall();
  if ((await obs.r0.dbsize()) !== 0 || (await obs.r1.dbsize()) !== 0) throw new Error('redis not empty after FLUSHALL');
  const app = new Celeriac('bench', { broker: brokerUrl(), backend: backendUrl() });
  const { add } = registerBenchTasks(app);
  await app.connection();
  await app.resultBackend();
  const stored = async (n: number): Promise<boolean> => (await obs.r1.dbsize()) >= n;
  let worker: ChildProcess | undefined;
  try {
    // 1. enqueue, no worker
    let t0 = now();
    await sendBatches(app, N, 1);
    const enqueueMs = now() - t0;
    const queued = await obs.r0.llen('celery');
    if (queued !== N) throw new Error(`expected ${N} queued, got ${queued}`);

    // 2. drain
    const spawned = now();
    worker = spawnWorker(conc, `celeriac-c${conc}-rep${rep}.log`);
    const w = worker;
    const tFirst = await waitUntil(async () => w.exitCode !== null || (await stored(1)), 'the first result', 60_000);
    if (w.exitCode !== null) throw new Error(`the celeriac worker exited with ${w.exitCode}: see ${LOG_DIR}`);
    const cpuA = cpuTimeMs(w.pid as number) ?? Number.NaN;
    const redisA = cpuTimeMs(redisServer?.pid ?? 0) ?? Number.NaN;
    const tLast = await waitUntil(() => stored(N), `${N} results`, PHASE_TIMEOUT);
    const cpuB = cpuTimeMs(w.pid as number) ?? Number.NaN;
    const redisB = cpuTimeMs(redisServer?.pid ?? 0) ?? Number.NaN;

    // 3. e2e, warm worker
    const pcpu0 = process.cpuUsage();
    t0 = now();
    await sendBatches(app, N, 2);
    const tSent = now();
    const tDone = await waitUntil(() => stored(2 * N), `${2 * N} results`, PHASE_TIMEOUT);
    const cpuC = cpuTimeMs(w.pid as number) ?? Number.NaN;
    const pcpu = process.cpuUsage(pcpu0);

    // 4. latency
    const lat: number[] = [];
    for (let i = 0; i < RT_WARMUP + RT; i++) {
      const s = now();
      const res = await (await add.delay(2, 2)).get({ timeout: 30_000 });
      if (res !== 4) throw new Error(`round trip returned ${String(res)}`);
      if (i >= RT_WARMUP) lat.push(now() - s);
    }
    // 5. RSS, then the checks
    const rss = treeStatusMiB(w.pid as number, 'VmHWM');
    const expected = 2 * N + RT_WARMUP + RT;
    await sleep(200);
    const [results, left, unacked] = await Promise.all([obs.r1.dbsize(), obs.r0.llen('celery'), obs.r0.hlen('unacked')]);
    if (results !== expected || left !== 0 || unacked !== 0) throw new Error(`check failed: ${results} results (expected ${expected}), ${left} queued, ${unacked} unacked`);
    emit({
      system: 'celeriac', mode: `worker -c ${conc}`, rep, n: N,
      enqueue_per_s: r1((N * 1000) / enqueueMs), drain_per_s: r1(((N - 1) * 1000) / (tLast - tFirst)), e2e_per_s: r1((N * 1000) / (tDone - t0)),
      e2e_enqueue_part_s: r3((tSent - t0) / 1000),
      lat_n: lat.length, p50_ms: r3(percentile(lat, 50)), p99_ms: r3(percentile(lat, 99)),
      rss_mb: rss,
      startup_ms: Math.round(tFirst - spawned),
      worker_cpu_us_per_task_drain: r1(((cpuB - cpuA) * 1000) / N),
      redis_cpu_us_per_task_drain: r1(((redisB - redisA) * 1000) / N),
      worker_cpu_us_per_task_e2e: r1(((cpuC - cpuB) * 1000) / N),
      producer_cpu_us_per_task_e2e: r1((pcpu.user + pcpu.system) / N),
    });
  } finally {
    if (worker) await stop(worker);
    await app.close();
    await obs.close();
  }
}

// ------------------------------------------------------------------------------------------------ 1M queued

interface RssSample {
  t_s: number;
  completed: number;
  queued: number;
  rss_mb: number;
  hwm_mb: number;
  cpu_s: number;
}

interface MillionResult {
  system: string;
  n: number;
  concurrency: number;
  enqueue_per_s: number;
  enqueue_s: number;
  redis_used_memory_mb_queued: number;
  startup_ms: number;
  drain_per_s: number;
  drain_s: number;
  rss_mb: { first_running: number; p10_completed: number; p50_completed: number; p90_completed: number; last: number; min: number; max: number; peak_hwm: number; slope_mb_per_100k: number };
  samples: RssSample[];
}

interface SystemHandle {
  enqueue: () => Promise<void>;
  count: () => Promise<number>;
  queued: () => Promise<number>;
  spawn: () => ChildProcess;
  close: () => Promise<void>;
}

/** BullMQ from the anchors' install: a Queue here (addBulk in batches), the anchors' bullmq_worker.mjs as the worker. */
async function bullmqHandle(n: number, batch: number, concurrency: number, logName: string): Promise<SystemHandle> {
  const mod = (await import(pathToFileURL(join(ANCHORS, 'node_modules', 'bullmq', 'dist', 'esm', 'index.js')).href)) as {
    Queue: new (name: string, opts: unknown) => { addBulk(jobs: unknown[]): Promise<unknown>; waitUntilReady(): Promise<unknown>; close(): Promise<void>; getWaitingCount(): Promise<number> };
  };
  // BullMQ loads ioredis with require(), which fails when imported from here (native ESM): hand it a client.
  const io = (await import(pathToFileURL(join(ANCHORS, 'node_modules', 'ioredis', 'built', 'index.js')).href)) as { default: { default?: unknown } & (new (o: unknown) => unknown) };
  const IORedis = (io.default.default ?? io.default) as new (o: unknown) => { quit(): Promise<unknown> };
  const connection = new IORedis({ host: '127.0.0.1', port: PORT, maxRetriesPerRequest: null });
  const queue = new mod.Queue('anchors', { connection });
  await queue.waitUntilReady();
  const obs = new Redis({ host: '127.0.0.1', port: PORT, db: 0 });
  return {
    enqueue: async () => {
      for (let i = 0; i < n; i += batch) {
        const jobs = [];
        for (let j = i; j < Math.min(n, i + batch); j++) jobs.push({ name: 'add', data: { x: j, y: 1 } });
        await queue.addBulk(jobs);
      }
    },
    count: () => obs.zcard('bull:anchors:completed'),
    queued: () => queue.getWaitingCount(),
    spawn: () => {
      const fd = openSync(join(LOG_DIR, logName), 'w');
      const child = track(spawn(process.execPath, [...WORKER_NODE_ARGS, join(ANCHORS, 'bullmq_worker.mjs'), 'anchors', String(concurrency), String(PORT)], { cwd: ANCHORS, stdio: ['ignore', fd, fd] }));
      closeSync(fd);
      return child;
    },
    close: async () => {
      await queue.close();
      await connection.quit();
      await obs.quit();
    },
  };
}

/** celeriac: sendMany here, the CLI worker process; results counted with DBSIZE of db 1. */
async function celeriacHandle(obs: Observer, n: number, batch: number, concurrency: number, logName: string): Promise<SystemHandle> {
  const app = new Celeriac('bench', { broker: brokerUrl(), backend: backendUrl() });
  registerBenchTasks(app);
  await app.connection();
  return {
    enqueue: () => sendBatches(app, n, 1, batch),
    count: () => obs.r1.dbsize(),
    queued: () => obs.r0.llen('celery'),
    spawn: () => spawnWorker(concurrency, logName),
    close: () => app.close(),
  };
}

async function million(system: string): Promise<MillionResult> {
  const obs = await observer();
  await obs.r0.flushall();
  log(`${system}: enqueueing ${MILLION_N.toLocaleString('en-US')} tasks (batches of ${MILLION_BATCH}) before the worker starts`);
  const { enqueue, count, queued, spawn: spawnIt, close } =
    system === 'celeriac' ? await celeriacHandle(obs, MILLION_N, MILLION_BATCH, MILLION_C, 'celeriac-million.log') : await bullmqHandle(MILLION_N, MILLION_BATCH, MILLION_C, 'bullmq-million.log');
  let worker: ChildProcess | undefined;
  try {
    const t0 = now();
    await enqueue();
    const enqueueMs = now() - t0;
    const q = await queued();
    if (q !== MILLION_N) throw new Error(`expected ${MILLION_N} queued, got ${q}`);
    const mem = /used_memory:(\d+)/.exec(await obs.r0.info('memory'));
    const usedMb = r1(Number(mem?.[1] ?? 0) / 2 ** 20);
    log(`${system}: enqueued in ${r1(enqueueMs / 1000)} s (${Math.round((MILLION_N * 1000) / enqueueMs)}/s), redis used_memory ${usedMb} MiB; starting the worker -c ${MILLION_C}`);

    const spawned = now();
    worker = spawnIt();
    const w = worker;
    const pid = w.pid as number;
    const samples: RssSample[] = [];
    let tFirst = 0;
    let tLast = 0;
    const sample = async (): Promise<number> => {
      const [completed, left] = await Promise.all([count(), queued()]);
      samples.push({ t_s: r1((now() - spawned) / 1000), completed, queued: left, rss_mb: treeStatusMiB(pid, 'VmRSS'), hwm_mb: treeStatusMiB(pid, 'VmHWM'), cpu_s: r1((cpuTimeMs(pid) ?? Number.NaN) / 1000) });
      return completed;
    };
    const sampler = (async () => {
      let next = now();
      while (tLast === 0 && w.exitCode === null) {
        const c = await sample();
        if (samples.length % 10 === 0) log(`  t=${samples.at(-1)?.t_s}s completed ${c} rss ${samples.at(-1)?.rss_mb} MiB`);
        next += 1000;
        await sleep(Math.max(0, next - now()));
      }
    })();
    tFirst = await waitUntil(async () => w.exitCode !== null || (await count()) >= 1, 'the first result', 120_000, 5);
    if (w.exitCode !== null) throw new Error(`the ${system} worker exited with ${w.exitCode}`);
    const last = await waitUntil(async () => w.exitCode !== null || (await count()) >= MILLION_N, `${MILLION_N} results`, 3_600_000, 20);
    if (w.exitCode !== null) throw new Error(`the ${system} worker exited with ${w.exitCode}`);
    tLast = last;
    await sampler;
    await sample();
    // RSS from the first sample after the first result (the process is still loading before that).
    const running = samples.filter((s) => s.completed >= 1);
    const rss = running.map((s) => s.rss_mb);
    const at = (frac: number): number => running.find((s) => s.completed >= frac * MILLION_N)?.rss_mb ?? Number.NaN;
    const steady = running.filter((s) => s.completed >= 0.1 * MILLION_N && s.completed < MILLION_N);
    const res: MillionResult = {
      system, n: MILLION_N, concurrency: MILLION_C,
      enqueue_per_s: r1((MILLION_N * 1000) / enqueueMs), enqueue_s: r1(enqueueMs / 1000),
      redis_used_memory_mb_queued: usedMb,
      startup_ms: Math.round(tFirst - spawned),
      drain_per_s: r1(((MILLION_N - 1) * 1000) / (tLast - tFirst)), drain_s: r1((tLast - tFirst) / 1000),
      rss_mb: {
        first_running: rss[0] ?? Number.NaN, p10_completed: at(0.1), p50_completed: at(0.5), p90_completed: at(0.9), last: rss.at(-1) ?? Number.NaN,
        min: Math.min(...rss), max: Math.max(...rss), peak_hwm: treeStatusMiB(pid, 'VmHWM'),
        slope_mb_per_100k: r3(slope(steady.map((s) => s.completed / 100_000), steady.map((s) => s.rss_mb))),
      },
      samples,
    };
    log(`${system} million: ${JSON.stringify({ ...res, samples: samples.length })}`);
    return res;
  } finally {
    if (worker) await stop(worker, 30_000);
    await close();
    await obs.close();
  }
}

// ------------------------------------------------------------------------------------------------ --probe

/**
 * Drain only, for the "where does time go" comparison: N queued, the worker started, and between its 1st
 * and N-th completion: rate, worker CPU and redis-server CPU per task (from /proc). celeriac and BullMQ
 * alternate, PROBE_REPEATS times, per concurrency.
 */
async function probe(system: string, conc: number, rep: number): Promise<void> {
  const obs = await observer();
  await obs.r0.flushall();
  const h = system === 'celeriac' ? await celeriacHandle(obs, N, BATCH, conc, `probe-celeriac-c${conc}.log`) : await bullmqHandle(N, BATCH, conc, `probe-bullmq-c${conc}.log`);
  let worker: ChildProcess | undefined;
  try {
    await h.enqueue();
    await obs.r0.config('RESETSTAT');
    worker = h.spawn();
    const w = worker;
    const pid = w.pid as number;
    const redisPid = redisServer?.pid ?? 0;
    await waitUntil(async () => w.exitCode !== null || (await h.count()) >= 1, 'the first result', 60_000);
    if (w.exitCode !== null) throw new Error(`the ${system} worker exited with ${w.exitCode}`);
    const c0 = await h.count();
    const t0 = now();
    const [w0, r0] = [cpuTimeMs(pid) ?? Number.NaN, cpuTimeMs(redisPid) ?? Number.NaN];
    const [io0, rio0] = [ioCounters(pid), ioCounters(redisPid)];
    const t1 = await waitUntil(async () => (await h.count()) >= N, `${N} results`, PHASE_TIMEOUT);
    const [w1, r1c] = [cpuTimeMs(pid) ?? Number.NaN, cpuTimeMs(redisPid) ?? Number.NaN];
    const [io1, rio1] = [ioCounters(pid), ioCounters(redisPid)];
    const done = N - c0;
    // Commands Redis ran per task over the whole drain (start-up included), from INFO commandstats.
    const stats = await obs.r0.info('commandstats');
    const perTask: Record<string, number> = {};
    for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      const calls = Number(m[2]);
      if (calls >= N / 100) perTask[m[1] as string] = r3(calls / N);
    }
    emit({
      system, mode: `probe drain -c ${conc}`, rep, n: N, drain_per_s: r1((done * 1000) / (t1 - t0)),
      worker_cpu_us_per_task: r1(((w1 - w0) * 1000) / done), redis_cpu_us_per_task: r1(((r1c - r0) * 1000) / done),
      // Per task: the worker's read / write system calls and wake-ups, redis-server's (the observer's polls included there).
      worker_reads: r3((io1.syscr - io0.syscr) / done), worker_writes: r3((io1.syscw - io0.syscw) / done), worker_wakeups: r3((io1.wakeups - io0.wakeups) / done),
      redis_reads: r3((rio1.syscr - rio0.syscr) / done), redis_writes: r3((rio1.syscw - rio0.syscw) / done),
      rss_mb: treeStatusMiB(pid, 'VmHWM'),
      commands_per_task: perTask,
    });
  } finally {
    if (worker) await stop(worker);
    await h.close();
    await obs.close();
  }
}

// ------------------------------------------------------------------------------------------------ anchors' runs

async function anchorsRepeat(rep: number): Promise<void> {
  const env = { ...process.env, REDIS_PORT: String(PORT) };
  const common = ['--rep', String(rep), '--out', RAW, '--redis-port', String(PORT)];
  if (ONLY.has('redis')) {
    log(`--- repeat ${rep}: redis-benchmark ceiling`);
    await run(PY, ['redis_ceiling.py', ...common], { cwd: ANCHORS, env });
  }
  if (ONLY.has('bullmq')) {
    log(`--- repeat ${rep}: BullMQ -c ${CONCURRENCY.join(',')}`);
    await run(process.execPath, ['bullmq_bench.mjs', '--n', String(N), '--rt', String(RT), '--concurrency', CONCURRENCY.join(','), ...common], { cwd: ANCHORS, env });
  }
  if (ONLY.has('celery')) {
    for (const pool of CELERY_POOLS) {
      log(`--- repeat ${rep}: Celery -P ${pool}`);
      await run(PY, ['celery_bench.py', '--broker', 'redis', '--pool', pool, '--n', String(CELERY_N), '--rt', String(RT), '--timeout', '900', ...common], { cwd: ANCHORS, env });
    }
  }
  if (ONLY.has('celerynode')) {
    log(`--- repeat ${rep}: celery-node`);
    await run(process.execPath, ['celerynode_bench.mjs', '--n', String(CELERY_N), '--rt', String(RT), ...common], { cwd: ANCHORS, env });
  }
}

// ------------------------------------------------------------------------------------------------ report

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

interface Group {
  system: string;
  mode: string;
  rows: Rec[];
}

function groups(recs: Rec[]): Group[] {
  const out = new Map<string, Group>();
  for (const r of recs) {
    const k = `${r.system}|${r.mode}`;
    if (!out.has(k)) out.set(k, { system: r.system, mode: r.mode, rows: [] });
    out.get(k)?.rows.push(r);
  }
  return [...out.values()];
}

function med(rows: Rec[], key: string): number | undefined {
  const vals = rows.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
  return vals.length ? median(vals) : undefined;
}

function cell(rows: Rec[], key: string, digits: number): string {
  const vals = rows.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
  if (!vals.length) return '-';
  const f = (x: number): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const m = f(median(vals));
  return vals.length > 1 ? `${m} <sub>(${f(Math.min(...vals))}–${f(Math.max(...vals))})</sub>` : m;
}

const ORDER = ['celeriac', 'bullmq', 'celery-py', 'celery-node'];

/** Which row of another system compares with a celeriac row (same worker concurrency). */
function concurrencyOf(g: Group): number | undefined {
  if (g.system === 'celeriac') return Number(/-c (\d+)/.exec(g.mode)?.[1]);
  if (g.system === 'bullmq') return Number(/concurrency (\d+)/.exec(g.mode)?.[1]);
  if (g.system === 'celery-py') return /solo/.test(g.mode) ? 1 : Number(/-c (\d+)/.exec(g.mode)?.[1] ?? Number.NaN);
  return undefined;
}

interface Comparison {
  concurrency: number;
  metric: string;
  celeriac: number;
  bullmq: number;
  /** > 1: celeriac better (throughput: celeriac / bullmq; latency and RSS: bullmq / celeriac). */
  factor: number;
}

function comparisons(gs: Group[]): Comparison[] {
  const out: Comparison[] = [];
  for (const c of CONCURRENCY) {
    const cel = gs.find((g) => g.system === 'celeriac' && concurrencyOf(g) === c);
    const bull = gs.find((g) => g.system === 'bullmq' && concurrencyOf(g) === c);
    if (!cel || !bull) continue;
    for (const [metric, higherBetter] of [['enqueue_per_s', true], ['drain_per_s', true], ['e2e_per_s', true], ['p50_ms', false], ['p99_ms', false], ['rss_mb', false]] as const) {
      const a = med(cel.rows, metric);
      const b = med(bull.rows, metric);
      if (a === undefined || b === undefined) continue;
      out.push({ concurrency: c, metric, celeriac: a, bullmq: b, factor: r3(higherBetter ? a / b : b / a) });
    }
  }
  return out;
}

function tables(recs: Rec[], versions: string, millions: MillionResult[]): string {
  const gs = groups(recs);
  const lines: string[] = [];
  const reps = new Set(recs.map((r) => r.rep)).size;
  lines.push(`${reps} interleaved repeat(s) on one private redis-server; cells: **median** <sub>(min–max)</sub>.`, '');
  const ceiling = gs.filter((g) => g.system === 'redis-benchmark');
  if (ceiling.length) {
    lines.push('**Ceiling (redis-benchmark, loopback)**', '', '| command, clients | ops/s | p50 ms | p99 ms |', '|---|---:|---:|---:|');
    for (const g of ceiling) lines.push(`| ${g.mode} | ${cell(g.rows, 'ops_per_s', 0)} | ${cell(g.rows, 'p50_ms', 3)} | ${cell(g.rows, 'p99_ms', 3)} |`);
    lines.push('');
  }
  const probes = gs.filter((g) => g.mode.startsWith('probe'));
  if (probes.length) {
    lines.push('**Drain probe** (per task, between the 1st and N-th completion: CPU, system calls, wake-ups)', '', '| system | mode | N | drain /s | worker CPU µs | redis CPU µs | worker writes | worker reads | worker wake-ups | redis writes | worker peak RSS MiB |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const g of probes) lines.push(`| ${g.system} | ${g.mode} | ${g.rows[0]?.n ?? '-'} | ${cell(g.rows, 'drain_per_s', 0)} | ${cell(g.rows, 'worker_cpu_us_per_task', 0)} | ${cell(g.rows, 'redis_cpu_us_per_task', 0)} | ${cell(g.rows, 'worker_writes', 2)} | ${cell(g.rows, 'worker_reads', 2)} | ${cell(g.rows, 'worker_wakeups', 2)} | ${cell(g.rows, 'redis_writes', 2)} | ${cell(g.rows, 'rss_mb', 0)} |`);
    lines.push('');
  }
  const queues = gs.filter((g) => g.system !== 'redis-benchmark' && !g.mode.startsWith('probe')).sort((a, b) => (concurrencyOf(a) ?? 1e9) - (concurrencyOf(b) ?? 1e9) || ORDER.indexOf(a.system) - ORDER.indexOf(b.system));
  lines.push('**Queues** (no-op `add`, one worker process; tasks/s)', '', '| system | worker | N | enqueue /s | drain /s | e2e /s | p50 ms | p99 ms | worker peak RSS MiB |', '|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const g of queues) {
    const name = g.system === 'celeriac' ? '**celeriac**' : g.system === 'celery-py' ? 'Celery 5 (Python)' : g.system === 'bullmq' ? 'BullMQ' : g.system;
    lines.push(`| ${name} | ${g.mode} | ${g.rows[0]?.n ?? '-'} | ${cell(g.rows, 'enqueue_per_s', 0)} | ${cell(g.rows, 'drain_per_s', 0)} | ${cell(g.rows, 'e2e_per_s', 0)} | ${cell(g.rows, 'p50_ms', 2)} | ${cell(g.rows, 'p99_ms', 2)} | ${cell(g.rows, 'rss_mb', 0)} |`);
  }
  const cmp = comparisons(gs);
  if (cmp.length) {
    lines.push('', '**celeriac vs BullMQ** (medians; factor > 1 means celeriac is better: faster, lower latency, less memory)', '', '| worker c | metric | celeriac | BullMQ | factor |', '|---:|---|---:|---:|---:|');
    for (const c of cmp) {
      const d = c.metric.endsWith('_ms') ? 2 : 0;
      const f = (x: number): string => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
      lines.push(`| ${c.concurrency} | ${c.metric.replace(/_/g, ' ')} | ${f(c.celeriac)} | ${f(c.bullmq)} | ${c.factor >= 1 ? '' : '**'}${c.factor.toFixed(2)}×${c.factor >= 1 ? '' : '**'} |`);
    }
  }
  for (const m of millions) {
    lines.push('', `**${m.system}: ${m.n.toLocaleString('en-US')} tasks queued before the worker starts (-c ${m.concurrency})**`, '');
    lines.push(`enqueue ${Math.round(m.enqueue_per_s).toLocaleString('en-US')}/s (${m.enqueue_s} s; Redis used_memory ${m.redis_used_memory_mb_queued} MiB), drain ${Math.round(m.drain_per_s).toLocaleString('en-US')}/s (${m.drain_s} s), worker start-up ${m.startup_ms} ms.`, '');
    lines.push('| completed | first result | 10 % | 50 % | 90 % | done | min | max | peak (VmHWM) | slope after 10 % |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const x = m.rss_mb;
    lines.push(`| worker RSS MiB | ${x.first_running} | ${x.p10_completed} | ${x.p50_completed} | ${x.p90_completed} | ${x.last} | ${x.min} | ${x.max} | ${x.peak_hwm} | ${x.slope_mb_per_100k} MiB / 100k tasks |`);
  }
  lines.push('', '<details><summary>versions</summary>', '', '```', versions.trim(), '```', '</details>');
  return lines.join('\n');
}

function versions(): string {
  const sh = (cmd: string, args: string[], cwd?: string): string => spawnSync(cmd, args, { cwd, encoding: 'utf8' }).stdout?.trim() ?? '';
  const pkg = (dir: string, name: string): string => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  const celeriac = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const py = sh(PY, ['-c', 'import sys, celery, kombu, redis; print("python", sys.version.split()[0], "| celery", celery.__version__, "| kombu", kombu.__version__, "| redis-py", redis.__version__)']);
  return [
    `celeriac ${celeriac} (${sh('git', ['rev-parse', '--short', 'HEAD'], ROOT) || process.env['BENCH_REDIS_REV'] || 'no git'}${sh('git', ['status', '--porcelain', 'src'], ROOT) ? ', src modified' : ''}) | ioredis ${pkg(ROOT, 'ioredis')}`,
    `bullmq ${pkg(ANCHORS, 'bullmq')} | ioredis (bullmq's) ${pkg(ANCHORS, 'ioredis')}`,
    py,
    `redis-server ${/v=(\S+)/.exec(sh('redis-server', ['--version']))?.[1] ?? '?'}`,
    `node ${process.version} | ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${r1(totalmem() / 2 ** 30)} GiB | ${platform()} ${release()}`,
  ].join('\n');
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = now();
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build (npm run bench:redis does)');
  if (ONLY.has('bullmq') || ONLY.has('celery') || ONLY.has('celerynode') || ONLY.has('redis') || (MILLION && MILLION_SYSTEMS.has('bullmq'))) ensureAnchors();
  await startRedis();
  const ver = versions();
  log(ver);
  const millions: MillionResult[] = [];
  try {
    if (PROBE) {
      ensureAnchors();
      for (let rep = 1; rep <= REPEATS; rep++) {
        for (const c of CONCURRENCY) for (const s of PROBE_SYSTEMS) await probe(s, c, rep);
      }
    }
    for (let rep = 1; rep <= (PROBE ? 0 : REPEATS); rep++) {
      log(`=== repeat ${rep}/${REPEATS} (N=${N}, RT=${RT})`);
      await anchorsRepeat(rep);
      if (ONLY.has('celeriac')) {
        for (const c of CONCURRENCY) {
          log(`--- repeat ${rep}: celeriac -c ${c}`);
          await celeriacRun(c, rep);
        }
      }
    }
    if (MILLION) for (const s of ['celeriac', 'bullmq']) if (MILLION_SYSTEMS.has(s)) millions.push(await million(s));
  } finally {
    killAll();
    if (redisServer) await stop(redisServer);
  }
  const recs = readRaw();
  const md = tables(recs, ver, millions);
  process.stdout.write(`\n${md}\n\n`);
  const gs = groups(recs);
  const out = {
    date: new Date().toISOString(),
    durationSec: r1((now() - started) / 1000),
    config: { N, RT, RT_WARMUP, BATCH, REPEATS, CONCURRENCY, CELERY_POOLS, CELERY_N, MILLION, MILLION_N, MILLION_C, MILLION_BATCH, only: [...ONLY], anchors: ANCHORS, raw: RAW },
    versions: ver.split('\n'),
    summary: gs.map((g) => ({
      system: g.system, mode: g.mode, runs: g.rows.length,
      ...Object.fromEntries(['n', 'enqueue_per_s', 'drain_per_s', 'e2e_per_s', 'p50_ms', 'p99_ms', 'rss_mb', 'ops_per_s', 'startup_ms', 'worker_cpu_us_per_task_drain', 'redis_cpu_us_per_task_drain', 'worker_cpu_us_per_task_e2e', 'producer_cpu_us_per_task_e2e'].flatMap((k) => {
        const m = med(g.rows, k);
        return m === undefined ? [] : [[k, m]];
      })),
    })),
    celeriacVsBullmq: comparisons(gs),
    million: millions,
    raw: recs,
    markdown: md,
  };
  writeFileSync(join(RESULTS_DIR, 'redis-latest.json'), `${JSON.stringify(out, null, 2)}\n`);
  log(`done in ${out.durationSec} s: bench/results/redis-latest.json, raw ${RAW}`);
}

await main();
