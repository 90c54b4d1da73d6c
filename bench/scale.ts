/**
 * How cost grows with the backlog, the number of queues and the number of worker processes
 * (`npm run bench:scale`, `npm run bench:scale -- --quick` for a short run).
 *
 * For each broker (--brokers redis,sqlite) and each point of the plan, one fresh broker state:
 *   1. enqueue  N no-op tasks (`scale.noop`, no result stored) with app.sendMany in batches of 1000, spread
 *               round-robin over Q queues, no worker running: tasks/s and CPU µs per task (this producer
 *               process plus the broker process, redis-server; SQLite lives in the producer)
 *   2. drain    W worker processes `node dist/cli/main.js worker -A bench/scale-app.ts -c 50 -Q <all Q>`
 *               started on the full queues; from the first counted task to the N-th: tasks/s and CPU µs
 *               per task (all worker processes plus the broker process)
 * Completions are counted from outside: each worker adds what it ran to a key of a private Redis every
 * 20 ms (bench/scale-app.ts). Redis as broker is a private redis-server (free port, no persistence) flushed
 * between points; SQLite is a new file per point in a temporary folder.
 *
 * The plan changes one factor at a time around a base point (Q = 1, W = 1):
 *   tasks queued  10^4, 10^5, 10^6           (--quick: 10^3, 3*10^3, 10^4)
 *   queues        1, 10, 100 at N = 10^5      (--quick: at N = 3*10^3)
 *   workers       1, 2, 4   at N = 10^5      (--quick: at N = 3*10^3)
 * Each broker first runs one unrecorded warm-up point (2,000 tasks) so the producer is JIT-compiled.
 * Knobs: --brokers redis,sqlite  --concurrency 50  --plot <png path> (default docs/scale.png, --quick:
 * bench/results/scale-quick.png)  --out <json> (default bench/results/scale-latest.json)  --from a.json,b.json
 * (measure nothing: merge the records of earlier runs, e.g. one per broker, into one table and plot).
 * Prints a Markdown table; raw records go to the --out file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Celeriac } from 'celeriac';
import { freePort, privateRedis } from '../tests/helpers/redis-server.js';
import { cpuTimeMs, sleep, stopChild as stop } from './lib.js';
import { renderScalePlot, type PlotPoint } from './scale-plot.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench', 'results');
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
};
const QUICK = argv.includes('--quick');
const BROKERS = flag('brokers', 'redis,sqlite').split(',');
for (const b of BROKERS) if (b !== 'redis' && b !== 'sqlite') throw new Error(`--brokers: unknown broker '${b}'; use redis and/or sqlite (e.g. --brokers redis,sqlite)`);
const CONCURRENCY = Number(flag('concurrency', '50'));
const PLOT = flag('plot', QUICK ? join(RESULTS, 'scale-quick.png') : join(ROOT, 'docs', 'scale.png'));
const OUT = flag('out', join(RESULTS, 'scale-latest.json'));
const FROM = flag('from', '');
const BATCH = 1000;
const TASK = 'scale.noop';

export type Factor = 'tasks' | 'queues' | 'workers';
interface Point {
  factor: Factor;
  n: number;
  queues: number;
  workers: number;
}
export interface ScaleRec extends Point {
  broker: string;
  enqueue_per_s: number;
  enqueue_cpu_us: number;
  drain_per_s: number;
  drain_cpu_us: number;
  seconds: number;
}

function plan(): Point[] {
  const sizes = QUICK ? [1_000, 3_000, 10_000] : [10_000, 100_000, 1_000_000];
  const mid = QUICK ? 3_000 : 100_000;
  return [
    ...sizes.map((n) => ({ factor: 'tasks' as const, n, queues: 1, workers: 1 })),
    ...[1, 10, 100].map((queues) => ({ factor: 'queues' as const, n: mid, queues, workers: 1 })),
    ...[1, 2, 4].map((workers) => ({ factor: 'workers' as const, n: mid, queues: 1, workers })),
  ];
}

const children = new Set<ChildProcess>();

function spawnWorker(broker: string, counterUrl: string, queues: string[], log: string): ChildProcess {
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'worker', '-A', join(ROOT, 'bench/scale-app.ts'), '-c', String(CONCURRENCY), '-Q', queues.join(','), '-l', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, CELERIAC_BROKER_URL: broker, SCALE_COUNTER_URL: counterUrl },
    stdio: ['ignore', fd, fd],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const cpuOf = (pids: number[]): number => pids.reduce((sum, pid) => sum + (cpuTimeMs(pid) ?? 0), 0);
const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function measure(broker: string, point: Point, ctx: { counter: Redis; counterUrl: string; brokerPid: number | undefined; dir: string }): Promise<ScaleRec> {
  const { n, queues: q, workers: w } = point;
  const queues = Array.from({ length: q }, (_, i) => `scale.q${i}`);
  let url: string;
  if (broker === 'redis') {
    url = ctx.counterUrl.replace(/\/\d+$/, '/0');
    await ctx.counter.flushall();
  } else {
    const file = join(ctx.dir, `scale-${point.factor}-${n}-${q}-${w}.db`);
    url = `sqlite://${file}`;
    await ctx.counter.del('scale:done');
  }
  const brokerPids = ctx.brokerPid !== undefined && broker === 'redis' ? [ctx.brokerPid] : [];
  const app = new Celeriac('bench-scale', { broker: url });
  let appOpen = true;
  try {
    const c0 = selfCpuMs() + cpuOf(brokerPids);
    const t0 = performance.now();
    for (let start = 0; start < n; start += BATCH) {
      await app.sendMany(Array.from({ length: Math.min(BATCH, n - start) }, (_, k) => ({ name: TASK, args: [], options: { queue: queues[(start + k) % q] as string, ignoreResult: true } })));
    }
    const enqueueSecs = (performance.now() - t0) / 1000;
    const enqueueCpu = selfCpuMs() + cpuOf(brokerPids) - c0;
    const t = await app.connection();
    let depth = 0;
    for (const name of queues) depth += (await t.queueInfo(name)).messages;
    if (depth !== n) throw new Error(`${broker}: ${depth} messages queued after the enqueue, expected ${n}`);
    appOpen = false;
    await app.close();

    mkdirSync(join(RESULTS, 'logs'), { recursive: true });
    const workers = Array.from({ length: w }, (_, i) => spawnWorker(url, ctx.counterUrl, queues, join(RESULTS, 'logs', `scale-${broker}-${point.factor}-${n}-${q}-${w}-${i}.log`)));
    const pids = [...workers.map((c) => c.pid as number), ...brokerPids];
    try {
      const count = async (): Promise<number> => Number((await ctx.counter.get('scale:done')) ?? 0);
      const deadline = Date.now() + 3_600_000;
      let first = 0;
      while ((first = await count()) === 0) {
        if (Date.now() > deadline) throw new Error('no task finished within an hour');
        if (workers.some((c) => c.exitCode !== null)) throw new Error(`a worker exited early; see bench/results/logs/scale-${broker}-*.log`);
        await sleep(5);
      }
      const t1 = performance.now();
      const cpu1 = cpuOf(pids);
      while ((await count()) < n) {
        if (Date.now() > deadline) throw new Error('the queues did not drain within an hour');
        await sleep(10);
      }
      const t2 = performance.now();
      const cpu2 = cpuOf(pids);
      const done = n - first;
      return {
        broker,
        ...point,
        enqueue_per_s: Math.round(n / enqueueSecs),
        enqueue_cpu_us: Math.round((enqueueCpu * 1000) / n),
        drain_per_s: Math.round(done / ((t2 - t1) / 1000)),
        drain_cpu_us: Math.round(((cpu2 - cpu1) * 1000) / Math.max(1, done)),
        seconds: Math.round(enqueueSecs + (t2 - t1) / 1000),
      };
    } finally {
      await Promise.all(workers.map((c) => stop(c)));
    }
  } finally {
    if (appOpen) await app.close();
  }
}

const fmt = (x: number): string => x.toLocaleString('en-US');
function table(recs: ScaleRec[]): string {
  const rows = recs.map((r) => `| ${r.broker} | ${r.factor} | ${fmt(r.n)} | ${r.queues} | ${r.workers} | ${fmt(r.enqueue_per_s)} | ${fmt(r.enqueue_cpu_us)} | ${fmt(r.drain_per_s)} | ${fmt(r.drain_cpu_us)} |`);
  return ['| broker | varied | tasks queued | queues | worker processes | enqueue tasks/s | enqueue CPU µs/task | drain tasks/s | drain CPU µs/task |', '|---|---|---:|---:|---:|---:|---:|---:|---:|', ...rows].join('\n');
}

function output(recs: ScaleRec[], meta: { at: string; quick: boolean }): void {
  const points: PlotPoint[] = recs.map((r) => ({ series: r.broker, factor: r.factor, x: r.factor === 'tasks' ? r.n : r.factor === 'queues' ? r.queues : r.workers, perSecond: r.drain_per_s, cpuUs: r.drain_cpu_us, enqueuePerSecond: r.enqueue_per_s, enqueueCpuUs: r.enqueue_cpu_us }));
  mkdirSync(dirname(PLOT), { recursive: true });
  writeFileSync(PLOT, renderScalePlot(points, { title: `celeriac: how cost grows (worker -c ${CONCURRENCY}, no-op tasks${meta.quick ? ', --quick' : ''})` }));
  process.stdout.write(`\n${table(recs)}\n\nrun of ${meta.at}; plot: ${relative(ROOT, PLOT)}\n`);
}

async function main(): Promise<void> {
  if (FROM) {
    const runs = FROM.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as { at: string; quick: boolean; recs: ScaleRec[] });
    output(
      runs.flatMap((r) => r.recs),
      { at: runs.map((r) => r.at).join(', '), quick: runs.some((r) => r.quick) },
    );
    return;
  }
  const port = await freePort();
  const redis = privateRedis(port);
  await redis.start();
  const counterUrl = `redis://127.0.0.1:${port}/0`;
  const counter = new Redis(counterUrl);
  const info = await counter.info('server');
  const pidMatch = /process_id:(\d+)/.exec(info);
  const brokerPid = pidMatch ? Number(pidMatch[1]) : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-bench-scale-'));
  const recs: ScaleRec[] = [];
  const started = new Date().toISOString();
  try {
    for (const broker of BROKERS) {
      await measure(broker, { factor: 'tasks', n: 2_000, queues: 1, workers: 1 }, { counter, counterUrl, brokerPid, dir });
      for (const point of plan()) {
        const rec = await measure(broker, point, { counter, counterUrl, brokerPid, dir });
        recs.push(rec);
        process.stdout.write(`${table([rec]).split('\n')[2] as string}   (${rec.seconds} s, load ${loadavg()[0]?.toFixed(1)})\n`);
      }
    }
  } finally {
    for (const c of children) await stop(c);
    counter.disconnect();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ at: started, quick: QUICK, concurrency: CONCURRENCY, recs }, null, 2));
  output(recs, { at: started, quick: QUICK });
}

await main();
