/**
 * The app the Redis benchmark's worker process loads:
 *   node dist/cli/main.js worker -A bench/redis/worker-app.ts -c 50 -l warn
 * Broker and result backend come from CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND, set by
 * bench/redis/run.ts to its private Redis (broker db 0, results db 1, as the Celery anchor does).
 */
import { Celeriac } from 'celeriac';
import { registerBenchTasks } from '../tasks.js';

export const app = new Celeriac('bench');
registerBenchTasks(app);
