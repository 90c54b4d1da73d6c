/**
 * The app the benchmark's worker process loads:
 *   node dist/cli/main.js worker -A bench/worker-app.ts -c 50 -l warn
 * Broker and result backend come from CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND (set by bench/run.ts).
 */
import { Celeriac } from 'celeriac';
import { registerBenchTasks } from './tasks.js';

export const app = new Celeriac('bench');
registerBenchTasks(app);
