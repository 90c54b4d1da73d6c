/**
 * A stand-in worker for bench/dashboard.ts: sends worker heartbeats and task events (received, started,
 * succeeded, as a worker with -E batches them under task.multi) at a fixed rate for a while, then exits.
 *
 *   tsx bench/dashboard-events.ts BROKER_URL KEY_PREFIX EVENTS_PER_SECOND SECONDS
 */
import { randomUUID } from 'node:crypto';
import { Celeriac, LamportClock } from 'celeriac';

const [url = 'redis://127.0.0.1:6379/0', keyPrefix = '', rateText = '10000', secondsText = '10'] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const app = new Celeriac('bench-events', { broker: url, backend: 'memory://', brokerOptions: { keyPrefix } });
const hostname = 'bench-worker@dashboard';
const events = app.events.dispatcher({ hostname, clock: new LamportClock(), bufferGroups: ['task'], bufferLimit: 100 });
const NAMES = ['tasks.add', 'tasks.resize', 'tasks.mail', 'tasks.report'];

let sent = 0;
let processed = 0;
const start = Date.now();
const end = start + seconds * 1000;
events.send('worker-online', { freq: 2, active: 0, processed: 0, loadavg: [0, 0, 0], sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' });
const beat = setInterval(() => events.send('worker-heartbeat', { freq: 2, active: 4, processed, loadavg: [1, 1, 1], sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' }), 2000);

// Every 10 ms, the events due by now: three per task (received, started, succeeded).
while (Date.now() < end) {
  const due = Math.floor(((Date.now() - start) / 1000) * rate);
  while (sent + 3 <= due) {
    const uuid = randomUUID();
    const name = NAMES[processed % NAMES.length] as string;
    events.send('task-received', { uuid, name, args: `(${processed}, 2)`, kwargs: '{}', root_id: uuid, parent_id: null, retries: 0, eta: null, expires: null });
    events.send('task-started', { uuid });
    const failed = processed % 50 === 0;
    if (failed) events.send('task-failed', { uuid, exception: "ValueError('bench')", traceback: 'Traceback...' });
    else events.send('task-succeeded', { uuid, result: String(processed + 2), runtime: 0.001 + (processed % 100) / 10_000 });
    sent += 3;
    processed++;
  }
  await new Promise((r) => setTimeout(r, 10));
}
clearInterval(beat);
events.send('worker-offline', { freq: 2, active: 0, processed, loadavg: [0, 0, 0], sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' });
await events.close();
await app.close();
process.stdout.write(`${JSON.stringify({ sent, seconds: (Date.now() - start) / 1000 })}\n`);
