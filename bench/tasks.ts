/**
 * The benchmark's tasks, shared by the producer (bench/run.ts) and the worker process
 * (bench/worker-app.ts). `bench.add` is a no-op returning x + y, as in the job-queue anchors.
 */
import type { Celeriac } from 'celeriac';

export const ADD = 'bench.add';

export function registerBenchTasks(app: Celeriac) {
  return { add: app.task(ADD, (x: number, y: number) => x + y) };
}
