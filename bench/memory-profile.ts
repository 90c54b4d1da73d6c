/**
 * The memory:// target row alone, for profiling and quick A/B runs: one process, worker -c 50,
 * N tasks sent with app.sendMany, get() awaited on every result (or completions counted). Prints tasks/s and CPU µs per task.
 *
 *   npm run build && node --import tsx bench/memory-profile.ts [N] [rounds] [get|count]
 *   node --cpu-prof --cpu-prof-dir=bench/results/prof --import tsx bench/memory-profile.ts
 */
import { Celeriac, Worker, createLogger, type AsyncResult } from 'celeriac';
import { ADD, registerBenchTasks } from './tasks.js';

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);
/** `get` waits on every AsyncResult (the target row); `count` only counts the worker's task-succeeded events. */
const MODE = process.argv[4] ?? 'get';
let completed = 0;
const silent = createLogger({ level: 'silent' });

async function round(app: Celeriac): Promise<{ rate: number; cpuUs: number }> {
  const target = completed + N;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const results: AsyncResult<number>[] = [];
  for (let i = 0; i < N; i += 1000) {
    const calls = Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ name: ADD, args: [i + j, 1] }));
    results.push(...(await app.sendMany<number>(calls)));
  }
  if (MODE === 'get') await Promise.all(results.map((r) => r.get({ timeout: 60_000 })));
  else while (completed < target) await new Promise((r) => setImmediate(r));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: Math.round((N / ms) * 1000), cpuUs: Math.round(((cpu.user + cpu.system) / N) * 10) / 10 };
}

const app = new Celeriac('bench', { broker: 'memory://', backend: 'memory://' });
registerBenchTasks(app);
const worker = new Worker(app, { concurrency: 50, logger: silent });
worker.on('task-succeeded', () => void completed++);
await worker.start();
await round(app);
for (let r = 0; r < ROUNDS; r++) {
  const { rate, cpuUs } = await round(app);
  console.log(`round ${r + 1}: ${rate.toLocaleString('en-US')} tasks/s, ${cpuUs} µs CPU/task`);
}
await worker.stop();
await app.close();
