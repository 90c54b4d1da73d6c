/**
 * CPU-bound throughput per pool (`npm run bench:pools`): BENCH_POOL_N tasks (default 2,000) of about
 * BENCH_POOL_MS ms of SHA-256 hashing (default 5) on memory://, async vs threads vs processes at -c
 * BENCH_POOL_C (default 2); plus how late ETA tasks start on an idle worker. Prints a table and JSON.
 *
 * Crossover: BENCH_POOL_MS may be a list (`BENCH_POOL_MS=0.05,0.2,0.5,1,2,5 npm run bench:pools`): each task
 * length is run in every pool, with about 4 s of hashing per run unless BENCH_POOL_N is set, and a Markdown
 * table gives each pool's tasks/s and speed-up over async, so the shortest task for which a pool beats the
 * event loop can be read off.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Celeriac, Worker, createLogger, type PoolKind } from 'celeriac';
import { latencyStats, now, round } from './lib.js';
import { registerPoolTasks } from './pool-app.js';

const APP_MODULE = join(dirname(fileURLToPath(import.meta.url)), 'pool-app.ts');

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  const n = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
}

const N_SET = process.env['BENCH_POOL_N'] !== undefined && process.env['BENCH_POOL_N'] !== '';
const N = intEnv('BENCH_POOL_N', 2000);
const MS_LIST = (process.env['BENCH_POOL_MS'] ?? '5').split(',').map((v) => {
  const ms = Number(v);
  if (!(ms > 0)) throw new Error(`BENCH_POOL_MS must be a positive number of milliseconds or a comma-separated list of them, got '${v}'`);
  return ms;
});
const MS = MS_LIST[0] as number;
const C = intEnv('BENCH_POOL_C', 2);
const POOLS = (process.env['BENCH_POOLS'] ?? 'async,threads,processes').split(',').map((p) => p.trim()) as PoolKind[];

async function throughput(pool: PoolKind, ms = MS, n = N): Promise<{ pool: PoolKind; seconds: number; tasksPerSecond: number; speedup?: number }> {
  const app = new Celeriac('bench-pools', { broker: 'memory://', backend: 'memory://' });
  const hash = registerPoolTasks(app);
  const worker = new Worker(app, { pool, concurrency: C, appModule: APP_MODULE, logger: createLogger({ level: 'warn' }) });
  await worker.start();
  // Warm-up: every child loaded and JIT-compiled.
  await Promise.all((await Promise.all(Array.from({ length: C * 4 }, () => hash.delay(ms)))).map((r) => r.get({ timeout: 60_000 })));
  const t0 = now();
  const results = await app.sendMany(Array.from({ length: n }, () => ({ name: hash.name, args: [ms] })));
  await Promise.all(results.map((r) => r.get({ timeout: 600_000 })));
  const seconds = (now() - t0) / 1000;
  await worker.stop();
  await app.close();
  return { pool, seconds: round(seconds, 2), tasksPerSecond: round(n / seconds, 0) };
}

/** ms between a countdown task's ETA and its start, on an idle async worker. */
async function etaLateness(samples = 40): Promise<ReturnType<typeof latencyStats>> {
  const app = new Celeriac('bench-eta', { broker: 'memory://', backend: 'memory://' });
  const started = new Map<number, number>();
  const stamp = app.task('bench.stamp', (i: number) => void started.set(i, Date.now()));
  const worker = await new Worker(app, { concurrency: 2, logger: createLogger({ level: 'warn' }) }).start();
  const late: number[] = [];
  for (let i = 0; i < samples; i++) {
    const eta = new Date(Date.now() + 100 + (i % 5) * 37);
    const r = await stamp.applyAsync([i], { eta });
    await r.get({ timeout: 10_000 });
    late.push((started.get(i) as number) - eta.getTime());
  }
  await worker.stop();
  await app.close();
  return latencyStats(late);
}

/** Every pool at each task length of BENCH_POOL_MS: where threads and processes start to beat async. */
async function crossover(): Promise<void> {
  console.log(`pools crossover: -c ${C}, memory:// (${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(2)})`);
  const lines = [`| task length | ${POOLS.map((p) => `${p} tasks/s`).join(' | ')} | ${POOLS.filter((p) => p !== 'async').map((p) => `${p} / async`).join(' | ')} |`];
  lines.push(`|---:|${POOLS.map(() => '---:').join('|')}|${POOLS.filter((p) => p !== 'async').map(() => '---:').join('|')}|`);
  const records = [];
  for (const ms of MS_LIST) {
    const n = N_SET ? N : Math.min(20_000, Math.max(200, Math.round(4000 / ms)));
    const rows = [];
    for (const pool of POOLS) rows.push(await throughput(pool, ms, n));
    const base = rows.find((r) => r.pool === 'async')?.tasksPerSecond;
    const speedups = rows.filter((r) => r.pool !== 'async').map((r) => (base ? `${round(r.tasksPerSecond / base, 2)}×` : '–'));
    lines.push(`| ${ms} ms (${n} tasks) | ${rows.map((r) => r.tasksPerSecond.toLocaleString('en-US')).join(' | ')} | ${speedups.join(' | ')} |`);
    console.log(lines.at(-1));
    records.push({ ms, n, rows });
  }
  console.log(`\n${lines.join('\n')}\n\n${JSON.stringify({ concurrency: C, loadavg: loadavg()[0], records })}`);
}

async function main(): Promise<void> {
  if (MS_LIST.length > 1) return crossover();
  console.log(`pools: ${N} tasks x ~${MS} ms of hashing, -c ${C}, memory:// (${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(2)})`);
  const rows = [];
  for (const pool of POOLS) {
    const row = await throughput(pool);
    rows.push(row);
    console.log(`  ${pool.padEnd(10)} ${String(row.seconds).padStart(7)} s  ${String(row.tasksPerSecond).padStart(6)} tasks/s`);
  }
  const base = rows.find((r) => r.pool === 'async');
  if (base) for (const r of rows) r.speedup = round(r.tasksPerSecond / base.tasksPerSecond, 2);
  const eta = await etaLateness();
  console.log(`  ETA lateness on an idle worker (ms): p50 ${eta.p50}, p90 ${eta.p90}, p99 ${eta.p99}, max ${eta.max}`);
  console.log(JSON.stringify({ n: N, ms: MS, concurrency: C, loadavg: loadavg()[0], rows, etaLatenessMs: eta }, null, 2));
}

await main();
