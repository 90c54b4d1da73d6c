// The same app as worker-app.ts in plain JavaScript, for the RSS comparison (a .ts app makes the CLI
// register tsx's loader, whose hooks thread is a second V8 isolate): --worker-app bench/redis/worker-app.mjs
import { Celeriac } from 'celeriac';

export const app = new Celeriac('bench');
app.task('bench.add', (x, y) => x + y);
