// The broker-restart fault tests' producer, a process of its own: sends FAULTS_N tasks `faults.mul(i)` with the
// task id `<FAULTS_RUN>-<i>`, FAULTS_BATCH at a time every FAULTS_PAUSE_MS, and counts a send as acknowledged
// only when its promise resolved. A send that rejected (the broker was down) is counted and sent again with the
// same id, as a careful caller would. Prints a JSON line per batch ({ acked, rejected }) and a last one with
// { done: true }; the acknowledged ids are written to FAULTS_ACKED_FILE, one a line.
//   env: CELERIAC_BROKER_URL, CELERIAC_RESULT_BACKEND, FAULTS_N, FAULTS_RUN, FAULTS_QUEUE, FAULTS_BATCH (100),
//        FAULTS_PAUSE_MS (100), FAULTS_ACKED_FILE
import { appendFileSync } from 'node:fs';
import { Celeriac } from 'celeriac';

const n = Number(process.env['FAULTS_N'] ?? 10_000);
const run = process.env['FAULTS_RUN'] ?? 'faults';
const queue = process.env['FAULTS_QUEUE'] ?? 'faults';
const batch = Number(process.env['FAULTS_BATCH'] ?? 100);
const pause = Number(process.env['FAULTS_PAUSE_MS'] ?? 100);
const ackedFile = process.env['FAULTS_ACKED_FILE'];
const app = new Celeriac('faults-producer');

let acked = 0;
let rejected = 0;
const errors = new Map<string, number>();
const say = (extra: Record<string, unknown> = {}): void => void process.stdout.write(`${JSON.stringify({ acked, rejected, ...extra })}\n`);

async function main(): Promise<void> {
  const todo: number[] = Array.from({ length: n }, (_, i) => i);
  const start = Date.now();
  while (todo.length > 0) {
    const chunk = todo.splice(0, batch);
    const outcomes = await Promise.allSettled(chunk.map((i) => app.sendTask('faults.mul', [i], { queue, taskId: `${run}-${i}` })));
    const ok: string[] = [];
    outcomes.forEach((o, k) => {
      const i = chunk[k] as number;
      if (o.status === 'fulfilled') {
        acked++;
        ok.push(`${run}-${i}`);
      } else {
        rejected++;
        const reason = o.reason instanceof Error ? `${o.reason.name}: ${o.reason.message.slice(0, 120)}` : String(o.reason);
        errors.set(reason, (errors.get(reason) ?? 0) + 1);
        todo.push(i);
      }
    });
    if (ackedFile && ok.length) appendFileSync(ackedFile, `${ok.join('\n')}\n`);
    say();
    // After a rejection, wait a little longer: the broker is down and the sends would fail again at once.
    await new Promise((r) => setTimeout(r, ok.length < chunk.length ? 500 : pause));
  }
  say({ done: true, seconds: (Date.now() - start) / 1000, errors: Object.fromEntries(errors) });
  await app.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`producer failed: ${String(err)}\n`);
  process.exit(1);
});
