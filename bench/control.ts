/**
 * Remote-control benchmark (`npx tsx bench/control.ts`, after `npm run build`): round-trip latency of a
 * unicast ping to one worker and of a broadcast answered by 3 workers, and the rate of concurrent
 * broadcasts, on memory://, sqlite:// and redis://. Workers run in this process (one app each, except
 * memory:// where they share the app that holds the broker). BENCH_CONTROL_N sets the sequential calls (default 200).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Celeriac, Worker, createLogger } from 'celeriac';
import { Redis } from 'ioredis';
import { latencyStats, now, round } from './lib.js';

const N = Number(process.env['BENCH_CONTROL_N'] ?? 200);
const CONCURRENT = 50;
const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';
const silent = createLogger({ level: 'silent' });

async function bench(kind: 'memory' | 'sqlite' | 'redis'): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-bench-control-'));
  const keyPrefix = `celeriac-bench-${randomUUID()}:`;
  const url = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? `sqlite://${join(dir, 'b.db')}` : REDIS_URL;
  const apps: Celeriac[] = [];
  const makeApp = (): Celeriac => {
    if (kind === 'memory' && apps[0]) return apps[0];
    const app = new Celeriac('bench', { broker: url, backend: url, brokerOptions: { keyPrefix }, backendOptions: { keyPrefix } });
    apps.push(app);
    return app;
  };
  const workers = await Promise.all(['a', 'b', 'c'].map((n) => new Worker(makeApp(), { logger: silent, hostname: `${n}@bench`, queues: [`q-${randomUUID()}`] }).start()));
  const client = makeApp().control;
  await client.inspect({ limit: 3, timeout: 5000 }).ping(); // warm up: exchanges, reply queue
  const unicast: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = now();
    const r = await client.inspect({ destination: ['a@bench'], timeout: 5000 }).ping();
    if (!r['a@bench']) throw new Error('no reply');
    unicast.push(now() - t);
  }
  const broadcast: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = now();
    const r = await client.inspect({ limit: 3, timeout: 5000 }).ping();
    if (Object.keys(r).length !== 3) throw new Error('missing replies');
    broadcast.push(now() - t);
  }
  const t = now();
  const many = await Promise.all(Array.from({ length: CONCURRENT }, () => client.inspect({ limit: 3, timeout: 15_000 }).ping()));
  const elapsed = now() - t;
  if (many.some((r) => Object.keys(r).length !== 3)) throw new Error('missing replies in the concurrent run');
  for (const w of workers) await w.stop();
  for (const a of apps) await a.close();
  rmSync(dir, { recursive: true, force: true });
  if (kind === 'redis') {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  const u = latencyStats(unicast);
  const b = latencyStats(broadcast);
  return {
    broker: kind,
    'unicast p50 ms': round(u.p50, 2), 'unicast p99 ms': round(u.p99, 2),
    'broadcast(3) p50 ms': round(b.p50, 2), 'broadcast(3) p99 ms': round(b.p99, 2),
    [`${CONCURRENT} concurrent broadcasts/s`]: round((CONCURRENT / elapsed) * 1000),
  };
}

const rows = [];
for (const kind of ['memory', 'sqlite', 'redis'] as const) rows.push(await bench(kind));
console.table(rows);
