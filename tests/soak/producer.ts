// The soak test's producer, a process of its own: measures the peak round-trip throughput of the running worker
// briefly, then sends tasks at a fraction of it for SOAK_SECONDS, checks every result (x * y) and forgets it (so
// the result store stays flat too), and prints a JSON line every 2 s and a summary at the end.
//   env: CELERIAC_BROKER_URL, CELERIAC_RESULT_BACKEND, SOAK_QUEUE, SOAK_SECONDS, SOAK_PEAK_SECONDS (default 5),
//        SOAK_FRACTION (default 0.5)
import { Celeriac, type AsyncResult } from 'celeriac';

const queue = process.env['SOAK_QUEUE'] ?? 'soak';
const soakSeconds = Number(process.env['SOAK_SECONDS'] ?? 60);
const peakSeconds = Number(process.env['SOAK_PEAK_SECONDS'] ?? 5);
const fraction = Number(process.env['SOAK_FRACTION'] ?? 0.5);
const app = new Celeriac('soak-producer');

let sent = 0;
let done = 0;
let wrong = 0;
const errors: string[] = [];
let phase = 'ready';
const say = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify({ phase, sent, done, wrong, errors: errors.length, rss: process.memoryUsage().rss, ...line })}\n`);

function track(r: AsyncResult<number>, expected: number): Promise<void> {
  return r.get({ timeout: 60_000 }).then(
    async (v) => {
      if (v !== expected) wrong++;
      done++;
      await r.forget();
    },
    (e: unknown) => {
      errors.push(e instanceof Error ? e.message : String(e));
    },
  );
}

async function send(n: number, pending: Set<Promise<void>>): Promise<void> {
  const calls = Array.from({ length: n }, (_, i) => ({ name: 'soak.mul', args: [sent + i, 3], options: { queue } }));
  const results = await app.sendMany<number>(calls);
  results.forEach((r, i) => {
    const p = track(r, (sent + i) * 3);
    pending.add(p);
    void p.finally(() => pending.delete(p));
  });
  sent += n;
}

async function main(): Promise<void> {
  const report = setInterval(() => say({}), 2000);
  const pending = new Set<Promise<void>>();
  // The worker is up once a task comes back.
  await track(await app.sendTask<number>('soak.mul', [0, 3], { queue }), 0);
  sent = 1;
  // Peak: keep a window of tasks in flight for a few seconds; completions per second.
  phase = 'peak';
  const start = Date.now();
  const doneBefore = done;
  while (Date.now() - start < peakSeconds * 1000) {
    if (pending.size < 500) await send(100, pending);
    else await Promise.race(pending);
  }
  await Promise.all(pending);
  const peak = (done - doneBefore) / ((Date.now() - start) / 1000);
  const rate = Math.max(10, Math.floor(peak * fraction));
  phase = 'soak';
  say({ peak, rate });
  // Soak: `rate` tasks a second, sent every 100 ms.
  const soakStart = Date.now();
  let owed = 0;
  while (Date.now() - soakStart < soakSeconds * 1000) {
    owed += rate / 10;
    const n = Math.floor(owed);
    owed -= n;
    if (n > 0) await send(n, pending);
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(pending);
  clearInterval(report);
  phase = 'done';
  say({ peak, rate, seconds: (Date.now() - soakStart) / 1000, errorSamples: errors.slice(0, 5) });
  await app.close();
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ phase: 'failed', error: e instanceof Error ? e.stack : String(e) })}\n`);
  process.exit(1);
});
