// Soak: a worker and a producer (each a process of its own) at half of the measured peak throughput, on Redis
// and on SQLite. The resident memory of both stays flat after warm-up (under 10 % growth), nothing is logged at
// error level, and every result is correct. CELERIAC_SOAK_MINUTES sets the soak per broker (default 1.25, so the
// file takes about three minutes; 30 for the long run). It runs after the rest of the suite (vitest.config.ts).
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, spawnCli, spawnProcess, type Spawned } from '../helpers/processes.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp.js';

const MINUTES = Number(process.env['CELERIAC_SOAK_MINUTES'] ?? 1.25);
const SECONDS = Math.round(MINUTES * 60);
const WARMUP = 0.3;
const MAX_GROWTH = 0.1;
const dir = tempDir('celeriac-soak-');
const prefix = `soak-${randomUUID().slice(0, 8)}:`;
afterAll(async () => {
  dir.remove();
  await deleteKeys(prefix);
});

function rss(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Growth of the median of the last fifth of the samples over the median of the first fifth (after warm-up). */
function growth(samples: number[]): number {
  const fifth = Math.max(3, Math.floor(samples.length / 5));
  return median(samples.slice(-fifth)) / median(samples.slice(0, fifth)) - 1;
}

async function stop(p: Spawned | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(timer);
}

async function soak(name: string, env: Record<string, string>): Promise<void> {
  const queue = `soak-${name}-${randomUUID().slice(0, 8)}`;
  const worker = spawnCli(['worker', '-A', `${ROOT}tests/fixtures/apps/soak-tasks.ts`, '-Q', queue, '-l', 'warn', '--log-format', 'json', '-n', `${queue}@soak`], env);
  let producer: Spawned | undefined;
  const samples: { phase: string; worker: number; producer: number }[] = [];
  let last: Record<string, unknown> = {};
  try {
    producer = spawnProcess(process.execPath, ['--import', 'tsx', `${ROOT}tests/soak/producer.ts`], { ...process.env, ...env, SOAK_QUEUE: queue, SOAK_SECONDS: String(SECONDS) }, ROOT);
    const sampler = setInterval(() => {
      const lines = producer?.output().trim().split('\n') ?? [];
      try {
        last = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
      } catch {
        /* a partial line */
      }
      const w = rss(worker.child.pid);
      const p = rss(producer?.child.pid);
      if (w && p) samples.push({ phase: String(last['phase'] ?? ''), worker: w, producer: p });
    }, 2000);
    const code = await producer.exited;
    clearInterval(sampler);
    const lines = producer.output().trim().split('\n');
    const summary = JSON.parse(lines.at(-1) ?? '{}') as Record<string, number | string>;
    expect(code, producer.output().slice(-2000)).toBe(0);
    // Every result correct, none lost, no error.
    expect(summary['phase']).toBe('done');
    expect(summary['wrong']).toBe(0);
    expect(summary['errors'], JSON.stringify(summary)).toBe(0);
    expect(summary['done']).toBe(summary['sent']);
    // Memory flat after warm-up, for the worker and the producer.
    const steady = samples.filter((s) => s.phase === 'soak');
    const after = steady.slice(Math.floor(steady.length * WARMUP));
    const workerGrowth = growth(after.map((s) => s.worker));
    const producerGrowth = growth(after.map((s) => s.producer));
    console.log(
      `soak ${name}: ${String(summary['seconds'])} s at ${String(summary['rate'])} tasks/s (peak ${Math.round(Number(summary['peak']))}/s), ${String(summary['done'])} tasks, ` +
        `RSS worker ${Math.round(after[0]!.worker / 2 ** 20)} -> ${Math.round(after.at(-1)!.worker / 2 ** 20)} MiB (${(workerGrowth * 100).toFixed(1)} %), ` +
        `producer ${Math.round(after[0]!.producer / 2 ** 20)} -> ${Math.round(after.at(-1)!.producer / 2 ** 20)} MiB (${(producerGrowth * 100).toFixed(1)} %)`,
    );
    expect(workerGrowth, 'worker RSS growth after warm-up').toBeLessThan(MAX_GROWTH);
    expect(producerGrowth, 'producer RSS growth after warm-up').toBeLessThan(MAX_GROWTH);
  } finally {
    await stop(producer);
    await stop(worker);
  }
  // Nothing logged at error level (or worse) by the worker.
  const errorLines = worker.output().split('\n').filter((l) => /"level":(50|60)/.test(l));
  expect(errorLines, errorLines.slice(0, 3).join('\n')).toEqual([]);
}

describe(`soak (${MINUTES} min per broker)`, () => {
  const timeout = (SECONDS + 120) * 1000;

  it('redis: worker and producer memory flat at half of peak, no error, every result correct', async () => {
    const url = `${REDIS_URL}?global_keyprefix=${encodeURIComponent(prefix)}`;
    await soak('redis', { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: REDIS_URL });
  }, timeout);

  it('sqlite: worker and producer memory flat at half of peak, no error, every result correct', async () => {
    const url = `sqlite://${dir.file('soak.db')}`;
    await soak('sqlite', { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url });
  }, timeout);
});
