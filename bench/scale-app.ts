/**
 * The app the scale benchmark's worker processes load (`bench/scale.ts`):
 *   node dist/cli/main.js worker -A bench/scale-app.ts -c 50 -Q q0,q1,... -l warn
 * `scale.noop` stores no result; each process counts the tasks it ran and adds the count to the key
 * `scale:done` of the Redis at SCALE_COUNTER_URL every 20 ms, so the bench sees progress from outside
 * without a result backend in the measurement.
 */
import { Redis } from 'ioredis';
import { Celeriac } from 'celeriac';

export const app = new Celeriac('bench-scale');

let done = 0;
app.task('scale.noop', () => void done++, { ignoreResult: true });

const url = process.env['SCALE_COUNTER_URL'];
if (url) {
  const counter = new Redis(url);
  setInterval(() => {
    if (done === 0) return;
    const n = done;
    done = 0;
    void counter.incrby('scale:done', n);
  }, 20).unref();
}
