/**
 * Interleaved A/B of the enqueue path on RabbitMQ (`tsx bench/amqp/enqueue-ab.ts --a <distA> --b <distB>`):
 * both builds of celeriac are loaded into this one process, and rounds alternate A, B, A, B... on a vhost of
 * the run's own, so machine load hits both alike. Each round sends N no-op tasks (`--batch` per sendMany, or
 * `--batch 1` for N concurrent `sendTask` calls; `--window k` keeps k sendMany calls in flight), checks the queue depth is N, and purges it.
 * Reports the median enqueue rate, the producer's CPU µs per task and RabbitMQ's (the whole beam.smp, which
 * other users of the broker share: compare medians of many rounds) per build.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { cpuTimeMs } from '../lib.js';
import { createVhost } from '../../tests/helpers/amqp.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
};
const N = Number(flag('n', '20000'));
const ROUNDS = Number(flag('rounds', '5'));
const BATCH = Number(flag('batch', '1000'));
const WINDOW = Number(flag('window', '1'));
const builds = { A: resolve(flag('a', 'dist')), B: resolve(flag('b', 'dist')) };

interface App {
  sendMany(calls: { name: string; args: unknown[] }[]): Promise<unknown>;
  sendTask(name: string, args: unknown[]): Promise<unknown>;
  connection(): Promise<{ purge(q: string): Promise<unknown>; queueInfo(q: string): Promise<{ messages: number }> }>;
  producer: { declareRoute(t: unknown, r: { queue: string; exchange: string; routingKey: string }): Promise<void> };
  close(): Promise<void>;
}

/** RabbitMQ's Erlang VM (read-only /proc look-up; shared with everything else using the broker, so noisy). */
const beam = ((): number | undefined => {
  try {
    return Number(execFileSync('pgrep', ['-o', 'beam.smp'], { encoding: 'utf8' }).trim().split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
})();
const brokerCpu = (): number => (beam === undefined ? 0 : (cpuTimeMs(beam) ?? 0));

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const vhost = await createVhost();
try {
  const apps: Record<string, App> = {};
  for (const [k, dir] of Object.entries(builds)) {
    const mod = (await import(`${dir}/index.js`)) as { Celeriac: new (name: string, o: object) => App };
    apps[k] = new mod.Celeriac(`ab-${k}`, { broker: vhost.url});
  }
  const stats: Record<string, { rate: number[]; cpu: number[]; broker: number[] }> = { A: { rate: [], cpu: [], broker: [] }, B: { rate: [], cpu: [], broker: [] } };
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of round % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      const app = apps[k] as App;
      const t = await app.connection();
      await app.producer.declareRoute(t, { queue: 'celery', exchange: '', routingKey: 'celery' });
      await t.purge('celery');
      const c0 = process.cpuUsage();
      const b0 = brokerCpu();
      const t0 = performance.now();
      if (BATCH <= 1) await Promise.all(Array.from({ length: N }, (_, i) => app.sendTask('bench.add', [i, 1])));
      else {
        // WINDOW batches in flight at once (1: each sendMany awaited before the next, as bench/amqp/run.ts does).
        let next = 0;
        const lane = async (): Promise<void> => {
          for (let s = next; s < N; s = next) {
            next += BATCH;
            await app.sendMany(Array.from({ length: Math.min(BATCH, N - s) }, (_, i) => ({ name: 'bench.add', args: [s + i, 1] })));
          }
        };
        await Promise.all(Array.from({ length: WINDOW }, lane));
      }
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      const broker = ((brokerCpu() - b0) * 1000) / N;
      const depth = (await t.queueInfo('celery')).messages;
      if (depth !== N) throw new Error(`build ${k}: queue depth ${depth}, expected ${N}`);
      stats[k]?.rate.push(N / secs);
      stats[k]?.cpu.push((cpu.user + cpu.system) / N);
      stats[k]?.broker.push(broker);
      process.stdout.write(`round ${round + 1} ${k}: ${Math.round(N / secs)} tasks/s, ${((cpu.user + cpu.system) / N).toFixed(1)} producer CPU µs/task, ${broker.toFixed(1)} RabbitMQ CPU µs/task\n`);
    }
  }
  for (const k of ['A', 'B']) process.stdout.write(`${k} (${builds[k as 'A']}): median ${Math.round(median(stats[k]?.rate ?? []))} tasks/s, ${median(stats[k]?.cpu ?? []).toFixed(1)} producer CPU µs/task, ${median(stats[k]?.broker ?? []).toFixed(1)} RabbitMQ CPU µs/task (whole broker, shared)\n`);
  for (const app of Object.values(apps)) await app.close();
} finally {
  await vhost.remove();
}
