/**
 * celeriac's benchmark (`npm run bench`): end-to-end throughput and round-trip latency on memory:// and
 * sqlite://, worker idle CPU and peak RSS. Prints a table, writes bench/results/latest.json and the
 * results section of BENCHMARKS.md. Method and knobs: BENCHMARKS.md.
 *
 *   memory://  worker (async pool, concurrency 50) and producer in this process
 *   sqlite://  producer here, worker in a child process: node dist/cli/main.js worker -A bench/worker-app.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Celeriac, Worker, createLogger, type AsyncResult } from 'celeriac';
import { cpuTimeMs, latencyStats, now, procStatusMiB, round, sleep, waitUntil, type LatencyStats } from './lib.js';
import { ADD, registerBenchTasks } from './tasks.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

const N = intEnv('BENCH_N', 20_000);
const RT = intEnv('BENCH_RT', 500);
const BATCH = intEnv('BENCH_BATCH', 1000);
const IDLE_MS = intEnv('BENCH_IDLE_MS', 5000);
/** Quiet time before the idle window: right after a load V8 and SQLite tidy up for a few seconds. */
const IDLE_SETTLE_MS = intEnv('BENCH_IDLE_SETTLE_MS', 5000);
/** Also time sqlite e2e waiting on every AsyncResult.get() (the user's path; slow while waiters are many). */
const SQLITE_GET_EACH = process.env['BENCH_SQLITE_GET_EACH'] === '1';
const CONCURRENCY = (process.env['BENCH_CONCURRENCY'] ?? '1,50').split(',').map((c) => Number(c.trim()));
const ONLY = new Set((process.env['BENCH_ONLY'] ?? 'memory,sqlite').split(',').map((s) => s.trim()));
const WRITE_MD = process.env['BENCH_WRITE_MD'] !== '0';
/** Extra node flags for the worker process, e.g. BENCH_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=bench/results/prof'. */
const WORKER_NODE_ARGS = (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
/** The round-trip phase stops after RT round trips or this many ms, whichever comes first. */
const RT_MAX_MS = intEnv('BENCH_RT_MAX_MS', 30_000);
/** Throughput rows with the targets are run this many times; the table shows the median and the range. */
const REPEATS = intEnv('BENCH_REPEATS', 3);
/** memory:// warm-up tasks (the JIT needs a few thousand tasks to settle). */
const WARMUP = 20_000;
const RT_WARMUP = 20;
/** Longest wait for any phase before the run is declared stuck. */
const PHASE_TIMEOUT = 180_000;

// The bench's own apps name their broker explicitly; CELERIAC_* variables of the caller would override them.
for (const k of Object.keys(process.env)) if (k.startsWith('CELERIAC_')) delete process.env[k];

export interface Row {
  broker: 'memory' | 'sqlite';
  scenario: string;
  concurrency: number;
  n: number;
  ms?: number;
  tasksPerSec?: number;
  latency?: LatencyStats;
  /** Worker / producer CPU per task in µs, idle CPU, RSS, ... */
  extra?: Record<string, number | string>;
}

const rows: Row[] = [];
const silent = createLogger({ level: 'silent' });

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function record(row: Row): void {
  rows.push(row);
  const rate = row.tasksPerSec === undefined ? '' : ` ${Math.round(row.tasksPerSec).toLocaleString('en-US')} tasks/s`;
  const lat = row.latency ? ` p50 ${row.latency.p50.toFixed(2)} ms p99 ${row.latency.p99.toFixed(2)} ms` : '';
  const extra = row.extra ? ` ${JSON.stringify(row.extra)}` : '';
  log(`  ${row.broker} c=${row.concurrency} ${row.scenario}:${rate}${lat}${extra}`);
}

interface Sample {
  ms: number;
  extra: Record<string, number>;
}

/** Runs a throughput phase `reps` times; records the median run (by time) and the range of rates. */
async function repeated(row: Omit<Row, 'ms' | 'tasksPerSec' | 'extra'>, reps: number, run: () => Promise<Sample>): Promise<void> {
  const samples: Sample[] = [];
  for (let i = 0; i < reps; i++) samples.push(await run());
  samples.sort((a, b) => a.ms - b.ms);
  const median = samples[Math.floor((samples.length - 1) / 2)] as Sample;
  const rate = (s: Sample): number => round((row.n * 1000) / s.ms);
  const extra: Record<string, number | string> = { ...median.extra };
  if (reps > 1) extra['runs'] = `${reps} (${rate(samples[samples.length - 1] as Sample).toLocaleString('en-US')}–${rate(samples[0] as Sample).toLocaleString('en-US')}/s)`;
  record({ ...row, ms: round(median.ms, 1), tasksPerSec: rate(median), extra });
}

/** Sends `n` add tasks with app.sendMany in batches; returns their results. */
async function sendBatches(app: Celeriac, n: number, offset = 0): Promise<AsyncResult<number>[]> {
  const out: AsyncResult<number>[] = [];
  for (let i = 0; i < n; i += BATCH) {
    const calls = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({ name: ADD, args: [offset + i + j, 1] }));
    out.push(...(await app.sendMany<number>(calls)));
  }
  return out;
}

/** Sends `n` add tasks with one awaited delay() each. */
async function sendEach(add: ReturnType<typeof registerBenchTasks>['add'], n: number): Promise<AsyncResult<number>[]> {
  const out: AsyncResult<number>[] = [];
  for (let i = 0; i < n; i++) out.push(await add.delay(i, 1));
  return out;
}

async function roundTrips(add: ReturnType<typeof registerBenchTasks>['add'], count: number): Promise<number[]> {
  const ms: number[] = [];
  const deadline = now() + RT_MAX_MS;
  for (let i = 0; i < count && now() < deadline; i++) {
    const t0 = now();
    const value = await add.delay(2, 2).then((r) => r.get({ timeout: 10_000 }));
    ms.push(now() - t0);
    if (value !== 4) throw new Error(`round trip returned ${String(value)}, expected 4`);
  }
  return ms;
}

async function getAll(results: readonly AsyncResult<number>[]): Promise<void> {
  await Promise.all(results.map((r) => r.get({ timeout: PHASE_TIMEOUT })));
}

// ---------------------------------------------------------------------------------------------- memory://

async function memoryScenarios(): Promise<void> {
  log('memory:// (worker and producer in this process, concurrency 50)');
  const app = new Celeriac('bench', { broker: 'memory://', backend: 'memory://' });
  const { add } = registerBenchTasks(app);
  const worker = new Worker(app, { concurrency: 50, logger: silent });
  let completed = 0;
  worker.on('task-succeeded', () => void completed++);
  await worker.start();
  await getAll(await sendBatches(app, WARMUP));

  const e2e = (scenario: string, send: () => Promise<AsyncResult<number>[]>, wait: 'get' | 'count'): Promise<void> =>
    repeated({ broker: 'memory', scenario, concurrency: 50, n: N }, REPEATS, async () => {
      const target = completed + N;
      const cpu0 = process.cpuUsage();
      const t0 = now();
      const results = await send();
      const sent = now();
      if (wait === 'get') await getAll(results);
      else await waitUntil(() => completed >= target, `${N} completions`, PHASE_TIMEOUT);
      const ms = now() - t0;
      const cpu = process.cpuUsage(cpu0);
      return { ms, extra: { sendMs: round(sent - t0, 1), cpuUsPerTask: round((cpu.user + cpu.system) / N, 1) } };
    });
  await e2e('e2e sendMany, get() each', () => sendBatches(app, N), 'get');
  await e2e('e2e delay() each, get() each', () => sendEach(add, N), 'get');
  await e2e('e2e sendMany, completions counted', () => sendBatches(app, N), 'count');
  await e2e('e2e delay() each, completions counted', () => sendEach(add, N), 'count');

  await roundTrips(add, RT_WARMUP);
  const rt = await roundTrips(add, RT);
  record({ broker: 'memory', scenario: 'round trip delay().get()', concurrency: 50, n: rt.length, latency: latencyStats(rt) });
  await worker.stop();
  await app.close();
}

// ---------------------------------------------------------------------------------------------- sqlite://

interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
}

function spawnWorker(url: string, concurrency: number, logFile: string): WorkerProcess {
  const fd = openSync(logFile, 'w');
  const child = spawn(
    process.execPath,
    [...WORKER_NODE_ARGS, join(ROOT, 'dist/cli/main.js'), 'worker', '-A', join(ROOT, 'bench/worker-app.ts'), '-c', String(concurrency), '-l', 'warn', '--log-format', 'json'],
    { cwd: ROOT, env: { ...process.env, CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url }, stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  if (child.pid === undefined) throw new Error('could not start the worker process');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, pid: child.pid, exited };
}

async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode !== null) return;
  w.child.kill('SIGTERM');
  const code = await Promise.race([w.exited, sleep(15_000, 'timeout' as const, { ref: false })]);
  if (code === 'timeout') {
    w.child.kill('SIGKILL');
    await w.exited;
    throw new Error('the worker did not stop within 15 s of SIGTERM');
  }
}

async function sqliteScenarios(concurrency: number): Promise<void> {
  log(`sqlite:// (worker process -c ${concurrency}, producer in this process)`);
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-bench-'));
  const file = join(dir, 'bench.db');
  const url = `sqlite://${file}`;
  mkdirSync(join(RESULTS_DIR, 'logs'), { recursive: true });
  const app = new Celeriac('bench', { broker: url, backend: url });
  const { add } = registerBenchTasks(app);
  await app.connection();
  await app.resultBackend();
  // Completions are observed from outside, like the anchors' DBSIZE polling: every task stores one
  // result row in a fresh file, so max(rowid) counts them in O(log n). Checked with count(*) at the end.
  const db = new Database(file, { timeout: 10_000 });
  const maxRowid = db.prepare('SELECT coalesce(max(rowid), 0) FROM celeriac_results').pluck();
  const stored = (): number => maxRowid.get() as number;
  let worker: WorkerProcess | undefined;
  const tag = { broker: 'sqlite' as const, concurrency };
  try {
    // 1. enqueue with no worker running.
    let t0 = now();
    await sendBatches(app, N);
    const enqueueMs = now() - t0;
    record({ ...tag, scenario: 'enqueue sendMany (no worker)', n: N, ms: round(enqueueMs, 1), tasksPerSec: round((N * 1000) / enqueueMs) });

    // 2. drain the pre-filled queue: first to N-th completion (start-up excluded).
    const spawned = now();
    worker = spawnWorker(url, concurrency, join(RESULTS_DIR, 'logs', `worker-sqlite-c${concurrency}.log`));
    const w = worker;
    const first = await waitUntil(() => stored() >= 1 || w.child.exitCode !== null, 'the first result', 30_000);
    if (w.child.exitCode !== null) throw new Error(`the worker exited with code ${w.child.exitCode}: see bench/results/logs/`);
    let cpu0 = cpuTimeMs(w.pid) ?? Number.NaN;
    const last = await waitUntil(() => stored() >= N, `${N} results`, PHASE_TIMEOUT);
    let cpu1 = cpuTimeMs(w.pid) ?? Number.NaN;
    record({
      ...tag, scenario: 'drain (pre-filled queue)', n: N, ms: round(last - first, 1), tasksPerSec: round(((N - 1) * 1000) / (last - first)),
      extra: { startupMs: round(first - spawned), workerCpuUsPerTask: round(((cpu1 - cpu0) * 1000) / N, 1) },
    });

    // 3, 4. end to end with the warm worker: first send to last result stored.
    let expected = N;
    const e2e = (scenario: string, send: () => Promise<unknown>, reps = 1): Promise<void> =>
      repeated({ ...tag, scenario, n: N }, reps, async () => {
        expected += N;
        const target = expected;
        cpu0 = cpuTimeMs(w.pid) ?? Number.NaN;
        const pcpu0 = process.cpuUsage();
        t0 = now();
        await send();
        const sent = now();
        const done = await waitUntil(() => stored() >= target, `${N} results`, PHASE_TIMEOUT);
        cpu1 = cpuTimeMs(w.pid) ?? Number.NaN;
        const pcpu = process.cpuUsage(pcpu0);
        return {
          ms: done - t0,
          extra: {
            sendMs: round(sent - t0, 1),
            workerCpuUsPerTask: round(((cpu1 - cpu0) * 1000) / N, 1),
            producerCpuUsPerTask: round((pcpu.user + pcpu.system) / N, 1),
          },
        };
      });
    // The target row is repeated at the widest concurrency (a -c 1 run takes ~15 s).
    await e2e('e2e sendMany', () => sendBatches(app, N), concurrency === Math.max(...CONCURRENCY) ? REPEATS : 1);
    if (SQLITE_GET_EACH) await e2e('e2e sendMany, get() each', async () => getAll(await sendBatches(app, N)));
    // One awaited delay() per task: the producer's cost per message. Run with the widest worker only.
    if (concurrency === Math.max(...CONCURRENCY)) await e2e('e2e delay() each', () => sendEach(add, N));

    // 5. sequential round trips.
    await roundTrips(add, RT_WARMUP);
    const rt = await roundTrips(add, RT);
    expected += RT_WARMUP + rt.length;
    record({ ...tag, scenario: 'round trip delay().get()', n: rt.length, latency: latencyStats(rt), extra: { over100ms: rt.filter((x) => x > 100).length, slowest: rt.filter((x) => x > 100).sort((a, b) => b - a).slice(0, 5).map((x) => Math.round(x)).join('/') } });

    // 6. idle CPU of the worker, 7. its peak RSS.
    await sleep(IDLE_SETTLE_MS);
    cpu0 = cpuTimeMs(w.pid) ?? Number.NaN;
    const i0 = now();
    await sleep(IDLE_MS);
    cpu1 = cpuTimeMs(w.pid) ?? Number.NaN;
    const idleCpuMs = cpu1 - cpu0;
    const peakRssMiB = procStatusMiB(w.pid, 'VmHWM') ?? Number.NaN;
    record({
      ...tag, scenario: 'worker idle / memory', n: 0,
      extra: { idleCpuMs: round(idleCpuMs), idleWindowMs: round(now() - i0), idleCpuPercent: round((100 * idleCpuMs) / (now() - i0), 2), peakRssMiB: round(peakRssMiB, 1) },
    });

    // Sanity: every task stored exactly one SUCCESS and the queue is empty.
    const ok = db.prepare(`SELECT count(*) FROM celeriac_results WHERE value LIKE '%"status": "SUCCESS"%' OR value LIKE '%"status":"SUCCESS"%'`).pluck().get() as number;
    const left = db.prepare('SELECT count(*) FROM celeriac_messages').pluck().get() as number;
    if (ok !== expected || left !== 0) throw new Error(`sanity check failed: ${ok} SUCCESS results (expected ${expected}), ${left} messages left`);
  } finally {
    if (worker) await stopWorker(worker);
    db.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------- report

interface Target {
  what: string;
  measured: string;
  target: string;
  met: boolean;
}

function find(broker: Row['broker'], scenario: string, concurrency?: number): Row | undefined {
  return rows.find((r) => r.broker === broker && r.scenario === scenario && (concurrency === undefined || r.concurrency === concurrency));
}

function targets(): Target[] {
  const out: Target[] = [];
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  const mem = find('memory', 'e2e sendMany, get() each');
  if (mem?.tasksPerSec !== undefined) out.push({ what: 'memory:// e2e (sendMany, get() each), one process', measured: `${fmt(mem.tasksPerSec)} tasks/s`, target: '>= 50,000 tasks/s', met: mem.tasksPerSec >= 50_000 });
  const sq = find('sqlite', 'e2e sendMany', 50);
  if (sq?.tasksPerSec !== undefined) out.push({ what: 'sqlite:// e2e (sendMany), worker process -c 50', measured: `${fmt(sq.tasksPerSec)} tasks/s`, target: '>= 5,000 tasks/s', met: sq.tasksPerSec >= 5000 });
  for (const c of CONCURRENCY) {
    const rt = find('sqlite', 'round trip delay().get()', c);
    if (rt?.latency) out.push({ what: `sqlite:// round trip p50, worker -c ${c}`, measured: `${rt.latency.p50.toFixed(2)} ms`, target: '< 5 ms', met: rt.latency.p50 < 5 });
    const idle = find('sqlite', 'worker idle / memory', c);
    const pct = idle?.extra?.['idleCpuPercent'];
    if (typeof pct === 'number') out.push({ what: `sqlite:// idle worker CPU, -c ${c}`, measured: `${pct.toFixed(2)} % of a core`, target: '< 1 % (no busy polling)', met: pct < 1 });
  }
  return out;
}

function machine(): Record<string, string | number> {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    os: `${platform()} ${release()}`,
    /** 1-minute load average when the run started: other jobs on the machine move the figures. */
    loadAtStart: round(loadavg()[0] ?? 0, 2),
  };
}

function table(): string {
  const lines = ['| broker | scenario | worker c | n | tasks/s | p50 ms | p99 ms | notes |', '|---|---|---:|---:|---:|---:|---:|---|'];
  for (const r of rows) {
    const notes = Object.entries(r.extra ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(
      `| ${r.broker} | ${r.scenario} | ${r.concurrency} | ${r.n || ''} | ${r.tasksPerSec === undefined ? '' : Math.round(r.tasksPerSec).toLocaleString('en-US')} | ` +
        `${r.latency ? r.latency.p50.toFixed(2) : ''} | ${r.latency ? r.latency.p99.toFixed(2) : ''} | ${notes} |`,
    );
  }
  return lines.join('\n');
}

function targetTable(ts: readonly Target[]): string {
  return ['| target | measured | required | met |', '|---|---:|---|---|', ...ts.map((t) => `| ${t.what} | ${t.measured} | ${t.target} | ${t.met ? 'yes' : '**no**'} |`)].join('\n');
}

const BEGIN = '<!-- bench:results:begin (written by npm run bench) -->';
const END = '<!-- bench:results:end -->';

function writeMarkdown(date: string, m: Record<string, string | number>, ts: readonly Target[]): void {
  const path = join(ROOT, 'BENCHMARKS.md');
  const section = [
    BEGIN,
    `Last run: ${date} — ${m['nproc']} cores (${m['cpu']}), ${m['memGiB']} GiB, Node ${m['node']}, ${m['os']}; ` +
      `load average ${m['loadAtStart']} at the start, ${m['loadAtEnd']} at the end. ` +
      `N = ${N} tasks per throughput row, ${RT} round trips, batches of ${BATCH}.`,
    '',
    targetTable(ts),
    '',
    table(),
    END,
  ].join('\n');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\n';
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  writeFileSync(path, a !== -1 && b > a ? text.slice(0, a) + section + text.slice(b + END.length) : `${text.trimEnd()}\n\n${section}\n`);
}

async function main(): Promise<void> {
  const started = now();
  const date = new Date().toISOString();
  const m = machine();
  log(`celeriac bench: N=${N} RT=${RT} batch=${BATCH} sqlite concurrency ${CONCURRENCY.join(',')} — ${m['nproc']} cores, Node ${m['node']}`);
  if (ONLY.has('memory')) await memoryScenarios();
  if (ONLY.has('sqlite')) for (const c of CONCURRENCY) await sqliteScenarios(c);
  const ts = targets();
  process.stdout.write(`\n${targetTable(ts)}\n\n${table()}\n\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  m['loadAtEnd'] = round(loadavg()[0] ?? 0, 2);
  const out = { date, machine: m, config: { N, RT, RT_MAX_MS, REPEATS, WARMUP, BATCH, IDLE_MS, IDLE_SETTLE_MS, CONCURRENCY, SQLITE_GET_EACH, only: [...ONLY] }, targets: ts, rows, durationSec: round((now() - started) / 1000, 1) };
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(out, null, 2)}\n`);
  if (WRITE_MD) writeMarkdown(date, m, ts);
  log(`done in ${out.durationSec} s: bench/results/latest.json${WRITE_MD ? ', BENCHMARKS.md' : ''}`);
}

await main();
