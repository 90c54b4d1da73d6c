/**
 * Memory of a worker and a producer with a large backlog (`npm run bench:memory`), on Redis and SQLite.
 *
 * Per broker (a private redis-server on a free port, no persistence; a fresh SQLite file in a temp dir):
 *   1. producer  `node bench/memory-producer.mjs` sends N tasks with app.sendMany in batches; its RSS is
 *                sampled against the number sent
 *   2. worker    `node dist/cli/main.js worker -A <app> -c C -l warn` starts on the full queue; its RSS is
 *                sampled against the results stored (Redis: DBSIZE of the results db; SQLite: max(rowid) of
 *                celeriac_results), until all N are stored; then checks: N results, queue empty
 *   Printed per process: RSS at 10 %, 50 %, 100 % of the tasks, peak (VmHWM), slope (least squares from
 *   10 % to 100 %, MiB per 100k tasks) and the rate.
 * --peak: the anchors' RSS comparison on Redis (`../shared/bench-anchors`, BullMQ 6.7.0 installed with its pins in
 *   --anchors DIR): per system, 20,000 tasks queued, the worker drains them, 20,000 more end to end, then the
 *   worker's VmHWM; celeriac with the .ts app (tsx loader) and the .mjs app, BullMQ's bullmq_worker.mjs;
 *   -c 1 and -c 50, repeats interleaved.
 *
 * Knobs (flags, or env BENCH_MEMORY_<NAME>): --n 1000000  --c 50  --batch 1000  --brokers redis,sqlite
 *   --worker-app bench/worker-app.ts  --worker-node-args '...'  --peak  --peak-only  --peak-n 20000
 *   --peak-repeats 2  --anchors DIR (default $TMPDIR/celeriac-anchors)  --sample-ms 500  --out memory-latest.json
 * Writes bench/results/memory-latest.json (samples included).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { freePort } from '../tests/helpers/redis-server.js';
import { sleep, stopChild as stop, slope } from './lib.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const LOG_DIR = join(RESULTS_DIR, 'logs');

const argv = process.argv.slice(2);
const BOOLEAN_FLAGS = new Set(['peak', 'peak-only']);
function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i !== -1) return BOOLEAN_FLAGS.has(name) ? 'true' : argv[i + 1];
  return process.env[`BENCH_MEMORY_${name.toUpperCase().replace(/-/g, '_')}`];
}
function int(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
}
const bool = (name: string): boolean => ['1', 'true', 'yes'].includes(flag(name) ?? '');

const N = int('n', 1_000_000);
const C = int('c', 50);
const BATCH = int('batch', 1000);
const SAMPLE_MS = int('sample-ms', 500);
const BROKERS = (flag('brokers') ?? 'redis,sqlite').split(',').map((s) => s.trim()).filter(Boolean);
const WORKER_APP = flag('worker-app') ?? 'bench/worker-app.ts';
const WORKER_NODE_ARGS = (flag('worker-node-args') ?? '').split(' ').filter(Boolean);
const PEAK = bool('peak') || bool('peak-only');
const PEAK_ONLY = bool('peak-only');
const PEAK_N = int('peak-n', 20_000);
const PEAK_REPEATS = int('peak-repeats', 2);
const ANCHORS = flag('anchors') ?? join(tmpdir(), 'celeriac-anchors');
const ANCHORS_SRC = process.env['BENCH_ANCHORS_SRC'] ?? join(ROOT, '..', 'shared', 'bench-anchors');
for (const k of Object.keys(process.env)) if (k.startsWith('CELERIAC_')) delete process.env[k];

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const now = (): number => performance.now();
const r1 = (x: number): number => Math.round(x * 10) / 10;

// ------------------------------------------------------------------------------------------------ processes

const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

const exited = (c: ChildProcess): Promise<void> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((resolve) => c.once('exit', () => resolve()));

/** A /proc status field (VmRSS, VmHWM) of one process in MiB (NaN once it is gone). */
function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? r1(Number(m[1]) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function waitFor(pred: () => Promise<boolean> | boolean, what: string, timeoutMs: number, everyMs = 20): Promise<number> {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (await pred()) return now();
    if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function logFile(name: string): number {
  mkdirSync(LOG_DIR, { recursive: true });
  return openSync(join(LOG_DIR, name), 'w');
}

function spawnWorker(broker: string, backend: string, app: string, concurrency: number, logName: string): ChildProcess {
  const fd = logFile(logName);
  const child = track(spawn(process.execPath, [...WORKER_NODE_ARGS, join(ROOT, 'dist/cli/main.js'), 'worker', '-A', join(ROOT, app), '-c', String(concurrency), '-l', 'warn'], {
    cwd: ROOT, env: { ...process.env, CELERIAC_BROKER_URL: broker, CELERIAC_RESULT_BACKEND: backend }, stdio: ['ignore', fd, fd],
  }));
  closeSync(fd);
  return child;
}

// ------------------------------------------------------------------------------------------------ figures

interface Sample { done: number; rss: number }
interface Row { broker: string; process: string; n: number; at10: number; at50: number; at100: number; peak: number; slope: number; perS: number; seconds: number }

function row(broker: string, proc: string, n: number, samples: Sample[], peak: number, seconds: number): Row {
  const at = (f: number): number => samples.find((s) => s.done >= f * n)?.rss ?? Number.NaN;
  const steady = samples.filter((s) => s.done >= 0.1 * n && Number.isFinite(s.rss));
  return {
    broker, process: proc, n, at10: at(0.1), at50: at(0.5), at100: at(1), peak, seconds: r1(seconds), perS: Math.round(n / seconds),
    slope: Math.round(slope(steady.map((s) => s.done / 100_000), steady.map((s) => s.rss)) * 100) / 100,
  };
}

// ------------------------------------------------------------------------------------------------ brokers

interface Broker { name: string; url: string; results: string; stored(): Promise<number>; queued(): Promise<number>; close(): Promise<void> }

async function startRedis(): Promise<{ port: number; server: ChildProcess }> {
  const port = await freePort();
  const server = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
  await waitFor(async () => {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    const ok = await probe.connect().then(() => probe.ping()).then(() => true, () => false);
    probe.disconnect();
    return ok;
  }, 'redis-server', 10_000, 50);
  return { port, server };
}

async function redisBroker(port: number): Promise<Broker> {
  const r0 = new Redis({ host: '127.0.0.1', port, db: 0 });
  const r1c = new Redis({ host: '127.0.0.1', port, db: 1 });
  await r0.flushall();
  return {
    name: 'redis', url: `redis://127.0.0.1:${port}/0`, results: `redis://127.0.0.1:${port}/1`,
    stored: () => r1c.dbsize(),
    queued: async () => (await r0.llen('celery')) + (await r0.hlen('unacked')),
    close: async () => void (await Promise.all([r0.quit(), r1c.quit()])),
  };
}

function sqliteBroker(dir: string): Broker {
  const file = join(dir, 'memory-bench.db');
  let db: Database.Database | undefined;
  const open = (): Database.Database | undefined => {
    if (!db && existsSync(file)) {
      try {
        db = new Database(file, { readonly: true, fileMustExist: true });
        db.pragma('busy_timeout = 5000');
        db.prepare('SELECT 1 FROM celeriac_results LIMIT 1').get();
      } catch {
        db?.close();
        db = undefined;
      }
    }
    return db;
  };
  return {
    name: 'sqlite', url: `sqlite://${file}`, results: `sqlite://${file}`,
    stored: async () => (open()?.prepare('SELECT coalesce(max(rowid), 0) FROM celeriac_results').pluck().get() as number | undefined) ?? 0,
    queued: async () => {
      const d = new Database(file, { readonly: true, fileMustExist: true });
      try {
        return d.prepare('SELECT count(*) FROM celeriac_messages').pluck().get() as number;
      } finally {
        d.close();
      }
    },
    close: async () => { db?.close(); },
  };
}

// ------------------------------------------------------------------------------------------------ the 1M run

async function produce(b: Broker): Promise<Row> {
  const fd = logFile(`memory-producer-${b.name}.log`);
  const child = track(spawn(process.execPath, [join(ROOT, 'bench/memory-producer.mjs'), b.url, String(N), String(BATCH)], { cwd: ROOT, stdio: ['ignore', 'pipe', fd] }));
  closeSync(fd);
  const pid = child.pid as number;
  const samples: Sample[] = [];
  let sent = 0;
  let nextMark = 0.1;
  const t0 = now();
  let tEnd = 0;
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const m = /^sent (\d+)$/.exec(line);
    if (!m) return;
    sent = Number(m[1]);
    if (sent >= nextMark * N) { // exact marks at each tenth, besides the timed samples
      samples.push({ done: sent, rss: statusMiB(pid, 'VmRSS') });
      nextMark += 0.1;
    }
    if (sent >= N) tEnd = now();
  });
  let peak = 0;
  while (child.exitCode === null && tEnd === 0) {
    samples.push({ done: sent, rss: statusMiB(pid, 'VmRSS') });
    peak = Math.max(peak, statusMiB(pid, 'VmHWM') || 0);
    await sleep(SAMPLE_MS);
  }
  peak = Math.max(peak, statusMiB(pid, 'VmHWM') || 0);
  await exited(child);
  if (child.exitCode !== 0 || sent < N) throw new Error(`the producer exited with ${child.exitCode} after ${sent} tasks (log: ${LOG_DIR})`);
  samples.sort((a, b) => a.done - b.done);
  const r = row(b.name, 'producer (sendMany)', N, samples, peak, (tEnd - t0) / 1000);
  log(`${b.name} producer: ${JSON.stringify(r)}`);
  return r;
}

async function drain(b: Broker, samplesOut: Sample[]): Promise<Row> {
  const worker = spawnWorker(b.url, b.results, WORKER_APP, C, `memory-worker-${b.name}.log`);
  const pid = worker.pid as number;
  const t0 = now();
  let tFirst = 0;
  let done = 0;
  let peak = 0;
  try {
    for (let i = 0; done < N; i++) {
      if (worker.exitCode !== null) throw new Error(`the worker exited with ${worker.exitCode} (log: ${LOG_DIR})`);
      done = await b.stored();
      if (done > 0 && tFirst === 0) tFirst = now();
      samplesOut.push({ done, rss: statusMiB(pid, 'VmRSS') });
      peak = Math.max(peak, statusMiB(pid, 'VmHWM') || 0);
      if (i % 20 === 0) log(`  ${b.name} worker: t=${r1((now() - t0) / 1000)} s, ${done} stored, RSS ${samplesOut.at(-1)?.rss} MiB`);
      if (done < N) await sleep(SAMPLE_MS);
    }
    const seconds = (now() - tFirst) / 1000;
    await sleep(500);
    const [stored, left] = [await b.stored(), await b.queued()];
    if (stored !== N || left !== 0) throw new Error(`check failed: ${stored} results (expected ${N}), ${left} messages left`);
    const r = row(b.name, `worker -c ${C}`, N, samplesOut.filter((s) => s.done > 0), peak, seconds);
    log(`${b.name} worker: ${JSON.stringify(r)}`);
    return r;
  } finally {
    await stop(worker);
  }
}

// ------------------------------------------------------------------------------------------------ --peak

function ensureAnchors(): void {
  if (existsSync(join(ANCHORS, 'node_modules', 'bullmq', 'package.json'))) return;
  log(`copying the anchors ${ANCHORS_SRC} -> ${ANCHORS} and installing their pinned packages`);
  cpSync(ANCHORS_SRC, ANCHORS, { recursive: true, filter: (src) => !src.includes('node_modules') && !src.includes('__pycache__') });
  spawnSync('chmod', ['-R', 'u+w', ANCHORS]);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: ANCHORS, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) throw new Error(`npm install in ${ANCHORS} failed`);
}

interface PeakRec { system: string; c: number; rep: number; hwm: number; rssIdle: number }

/** One system: PEAK_N queued, drained, PEAK_N more end to end, the worker's VmHWM. */
async function peakRun(port: number, system: string, c: number, rep: number): Promise<PeakRec> {
  const r0 = new Redis({ host: '127.0.0.1', port, db: 0 });
  const r1c = new Redis({ host: '127.0.0.1', port, db: 1 });
  await r0.flushall();
  let worker: ChildProcess | undefined;
  let producer: { send(n: number, offset: number): Promise<void>; close(): Promise<void> };
  let count: () => Promise<number>;
  if (system === 'bullmq') {
    const bull = (await import(pathToFileURL(join(ANCHORS, 'node_modules', 'bullmq', 'dist', 'esm', 'index.js')).href)) as {
      Queue: new (name: string, opts: unknown) => { addBulk(jobs: unknown[]): Promise<unknown>; waitUntilReady(): Promise<unknown>; close(): Promise<void> };
    };
    const io = (await import(pathToFileURL(join(ANCHORS, 'node_modules', 'ioredis', 'built', 'index.js')).href)) as { default: { default?: unknown } };
    const IORedis = (io.default.default ?? io.default) as new (o: unknown) => { quit(): Promise<unknown> };
    const connection = new IORedis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
    const queue = new bull.Queue('anchors', { connection });
    await queue.waitUntilReady();
    producer = {
      send: async (n, offset) => {
        for (let i = 0; i < n; i += BATCH) await queue.addBulk(Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({ name: 'add', data: { x: offset + i + j, y: 1 } })));
      },
      close: async () => { await queue.close(); await connection.quit(); },
    };
    count = () => r0.zcard('bull:anchors:completed');
  } else {
    const { Celeriac } = await import('celeriac');
    const app = new Celeriac('bench', { broker: `redis://127.0.0.1:${port}/0`, backend: 'memory://' });
    await app.connection();
    producer = {
      send: async (n, offset) => {
        for (let i = 0; i < n; i += BATCH) await app.sendMany(Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({ name: 'bench.add', args: [offset + i + j, 1] })));
      },
      close: () => app.close(),
    };
    count = () => r1c.dbsize();
  }
  try {
    await producer.send(PEAK_N, 0);
    if (system === 'bullmq') {
      const fd = logFile(`memory-peak-bullmq-c${c}.log`);
      worker = track(spawn(process.execPath, [join(ANCHORS, 'bullmq_worker.mjs'), 'anchors', String(c), String(port)], { cwd: ANCHORS, stdio: ['ignore', fd, fd] }));
      closeSync(fd);
    } else {
      const app = system === 'celeriac .ts app' ? 'bench/worker-app.ts' : 'bench/redis/worker-app.mjs';
      worker = spawnWorker(`redis://127.0.0.1:${port}/0`, `redis://127.0.0.1:${port}/1`, app, c, `memory-peak-celeriac-c${c}.log`);
    }
    const w = worker;
    await waitFor(async () => w.exitCode !== null || (await count()) >= PEAK_N, `${system}: ${PEAK_N} done`, 600_000);
    await producer.send(PEAK_N, PEAK_N);
    await waitFor(async () => w.exitCode !== null || (await count()) >= 2 * PEAK_N, `${system}: ${2 * PEAK_N} done`, 600_000);
    if (w.exitCode !== null) throw new Error(`${system} worker exited with ${w.exitCode} (log: ${LOG_DIR})`);
    await sleep(1000);
    const rec = { system, c, rep, hwm: statusMiB(w.pid as number, 'VmHWM'), rssIdle: statusMiB(w.pid as number, 'VmRSS') };
    log(`peak: ${JSON.stringify(rec)}`);
    return rec;
  } finally {
    if (worker) await stop(worker);
    await producer.close();
    await r0.quit();
    await r1c.quit();
  }
}

// ------------------------------------------------------------------------------------------------ main

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : r1(((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2);
};
const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');

async function main(): Promise<void> {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  log(`bench:memory — ${cpus().length} cores, Node ${process.version}, load ${load}; N = ${N}, -c ${C}, worker app ${WORKER_APP}`);
  const redis = BROKERS.includes('redis') || PEAK ? await startRedis() : undefined;
  const rows: Row[] = [];
  const samples: Record<string, Sample[]> = {};
  const peaks: PeakRec[] = [];
  try {
    if (PEAK) {
      ensureAnchors();
      for (let rep = 1; rep <= PEAK_REPEATS; rep++) {
        for (const c of [1, 50]) for (const s of ['celeriac .ts app', 'celeriac .mjs app', 'bullmq']) peaks.push(await peakRun(redis?.port as number, s, c, rep));
      }
    }
    if (!PEAK_ONLY) {
      for (const name of BROKERS) {
        const dir = mkdtempSync(join(tmpdir(), 'celeriac-memory-'));
        const b = name === 'redis' ? await redisBroker(redis?.port as number) : name === 'sqlite' ? sqliteBroker(dir) : undefined;
        if (!b) throw new Error(`--brokers: unknown broker '${name}' (redis, sqlite)`);
        try {
          rows.push(await produce(b));
          samples[`${name} worker`] = [];
          rows.push(await drain(b, samples[`${name} worker`] as Sample[]));
        } finally {
          await b.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    if (redis) await stop(redis.server);
  }
  const lines: string[] = [];
  if (rows.length) {
    lines.push(`N = ${N.toLocaleString('en-US')} tasks queued with sendMany (batches of ${BATCH}) before a worker -c ${C} (app ${WORKER_APP}) starts; RSS in MiB; load ${load} at the start.`, '');
    lines.push('| broker | process | RSS at 10 % | 50 % | 100 % | peak (VmHWM) | slope per 100k | tasks/s |', '|---|---|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) lines.push(`| ${r.broker} | ${r.process} | ${fmt(r.at10)} | ${fmt(r.at50)} | ${fmt(r.at100)} | ${fmt(r.peak)} | ${r.slope >= 0 ? '+' : ''}${r.slope.toFixed(2)} | ${r.perS.toLocaleString('en-US')} |`);
  }
  if (peaks.length) {
    lines.push('', `Worker peak RSS (VmHWM, MiB) after ${PEAK_N.toLocaleString('en-US')} tasks drained and ${PEAK_N.toLocaleString('en-US')} more end to end, Redis; median of ${PEAK_REPEATS} (min–max):`, '');
    lines.push('| worker | -c 1 | -c 50 |', '|---|---:|---:|');
    for (const s of ['celeriac .ts app', 'celeriac .mjs app', 'bullmq']) {
      const cell = (c: number): string => {
        const hs = peaks.filter((p) => p.system === s && p.c === c).map((p) => p.hwm);
        return hs.length ? `${fmt(median(hs))} (${fmt(Math.min(...hs))}–${fmt(Math.max(...hs))})` : '–';
      };
      lines.push(`| ${s === 'bullmq' ? 'BullMQ 6.7.0 (anchors)' : s} | ${cell(1)} | ${cell(50)} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, flag('out') ?? 'memory-latest.json'), JSON.stringify({ at: new Date().toISOString(), load, n: N, c: C, app: WORKER_APP, rows, peaks, samples }, null, 1));
}

await main();
process.exit(0);
