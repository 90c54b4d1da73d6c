/**
 * The app the pools benchmark loads (in its own process and in every thread or child of the pool):
 * `bench.hash(ms)` hashes for about `ms` milliseconds of CPU.
 */
import { createHash } from 'node:crypto';
import { Celeriac } from 'celeriac';

export function registerPoolTasks(app: Pick<Celeriac, 'task'>) {
  return app.task('bench.hash', (ms: number) => {
    const end = performance.now() + ms;
    let h = 'celeriac';
    let rounds = 0;
    while (performance.now() < end) {
      h = createHash('sha256').update(h).digest('hex');
      rounds++;
    }
    return rounds;
  });
}

export const app = new Celeriac('bench-pools', { broker: 'memory://', backend: 'memory://' });
registerPoolTasks(app);
