/**
 * CPU-bound throughput per pool (`npm run bench:pools`): BENCH_POOL_N tasks (default 2,000) of about
 * BENCH_POOL_MS ms of SHA-256 hashing (default 5) on memory://, async vs threads vs processes at -c
 * BENCH_POOL_C (default 2); plus how late ETA tasks start on an idle worker. Prints a table and JSON.
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

const N = intEnv('BENCH_POOL_N', 2000);
const MS = intEnv('BENCH_POOL_MS', 5);
const C = intEnv('BENCH_POOL_C', 2);
const POOLS = (process.env['BENCH_POOLS'] ?? 'async,threads,processes').split(',').map((p) => p.trim()) as PoolKind[];

async function throughput(pool: PoolKind): Promise<{ pool: PoolKind; seconds: number; tasksPerSecond: number; speedup?: number }> {
  const app = new Celeriac('bench-pools', { broker: 'memory://', backend: 'memory://' });
  const hash = registerPoolTasks(app);
  const worker = new Worker(app, { pool, concurrency: C, appModule: APP_MODULE, logger: createLogger({ level: 'warn' }) });
  await worker.start();
  // Warm-up: every child loaded and JIT-compiled.
  await Promise.all((await Promise.all(Array.from({ length: C * 4 }, () => hash.delay(MS)))).map((r) => r.get({ timeout: 60_000 })));
  const t0 = now();
  const results = await app.sendMany(Array.from({ length: N }, () => ({ name: hash.name, args: [MS] })));
  await Promise.all(results.map((r) => r.get({ timeout: 600_000 })));
  const seconds = (now() - t0) / 1000;
  await worker.stop();
  await app.close();
  return { pool, seconds: round(seconds, 2), tasksPerSecond: round(N / seconds, 0) };
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

async function main(): Promise<void> {
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
