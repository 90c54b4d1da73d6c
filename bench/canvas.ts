/**
 * Canvas benchmark (`npm run bench:canvas`): a group of BENCH_CANVAS_N (default 10,000) add tasks and a
 * chord of BENCH_CANVAS_CHORD (default 1,000) parts, on memory://, sqlite:// and redis://, with one worker
 * (async pool, concurrency 50) in this process. Reports the time to publish the group (applyAsync, the
 * pipelined sendMany path), to get every result, and from sending the chord to its body's result.
 * BENCH_ONLY=memory,sqlite,redis picks brokers; CELERIAC_BENCH_REDIS_URL the Redis (default local db 0,
 * under a unique key prefix that is deleted afterwards).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Celeriac, Worker, chord, createLogger, group } from 'celeriac';

const N = Number(process.env['BENCH_CANVAS_N'] ?? 10_000);
const CHORD = Number(process.env['BENCH_CANVAS_CHORD'] ?? 1_000);
const ONLY = (process.env['BENCH_ONLY'] ?? 'memory,sqlite,redis').split(',').map((s) => s.trim());
const REDIS = process.env['CELERIAC_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';

const ms = (t0: bigint): number => Math.round(Number(process.hrtime.bigint() - t0) / 1e5) / 10;

async function run(kind: string): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-bench-canvas-'));
  const prefix = `celeriac-bench-${randomUUID()}:`;
  const url = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? `sqlite://${join(dir, 'bench.db')}` : REDIS;
  const app = new Celeriac('bench-canvas', { broker: url, backend: url, brokerOptions: { keyPrefix: prefix }, backendOptions: { keyPrefix: prefix } });
  const add = app.task('bench.add', (x: number, y: number) => x + y);
  const tsum = app.task('bench.tsum', (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const worker = new Worker(app, { concurrency: 50, logger: createLogger({ level: 'silent' }) });
  await worker.start();
  try {
    let t0 = process.hrtime.bigint();
    const g = await group(Array.from({ length: N }, (_, i) => add.s(i, i))).applyAsync();
    const publish = ms(t0);
    const values = await g.get({ timeout: 600_000 });
    const groupTotal = ms(t0);
    if (values.length !== N || values[N - 1] !== 2 * (N - 1)) throw new Error('group results are wrong');
    t0 = process.hrtime.bigint();
    const body = await chord(Array.from({ length: CHORD }, (_, i) => add.s(i, 1)), tsum.s()).applyAsync();
    const sum = await body.get({ timeout: 600_000 });
    const chordTotal = ms(t0);
    if (sum !== (CHORD * (CHORD + 1)) / 2) throw new Error(`chord body got ${String(sum)}`);
    return { broker: kind, [`group ${N}: publish ms`]: publish, [`group ${N}: all results ms`]: groupTotal, [`chord ${CHORD}: body result ms`]: chordTotal };
  } finally {
    await worker.stop();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
    if (kind === 'redis') {
      const redis = new Redis(REDIS);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    }
  }
}

const rows = [];
for (const kind of ONLY) rows.push(await run(kind));
console.table(rows);
