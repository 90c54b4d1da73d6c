// The demo behind `npm run demo`: a worker process and this producer on a fresh embedded SQLite file
// (or the broker in CELERIAC_BROKER_URL, e.g. amqp://guest:guest@127.0.0.1:5672//).
// Sends 10,000 tasks.add(i, i), checks every result is 2*i, prints the rate, stops the worker, cleans up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AsyncResult } from 'celeriac';

const TOTAL = 10_000;
const BATCH = 500;
const CONCURRENCY = 8;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tty = process.stdout.isTTY === true;

// The app reads CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND when it is created, so set them before importing it.
// Both default to a fresh SQLite file; a broker given in the environment (amqp://, redis://) is used as it is,
// with results in that file unless CELERIAC_RESULT_BACKEND names a backend too (rpc://, redis://).
const dir = mkdtempSync(join(tmpdir(), 'celeriac-demo-'));
const file = `sqlite://${join(dir, 'celeriac.db')}`;
const url = process.env['CELERIAC_BROKER_URL'] || file;
process.env['CELERIAC_BROKER_URL'] = url;
process.env['CELERIAC_RESULT_BACKEND'] = process.env['CELERIAC_RESULT_BACKEND'] || file;
const { app, add, hello } = await import('./tasks.js');

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Starts `celeriac worker` as a child process; its output is shown indented. */
function startWorker(): ChildProcess {
  const args = ['dist/cli/main.js', 'worker', '-A', 'examples/tasks.ts', '-Q', 'for_add,celery', '-c', String(CONCURRENCY), '-l', 'warn', '--log-format', 'pretty'];
  say(`$ CELERIAC_BROKER_URL=${url} celeriac ${args.slice(1).join(' ')}`);
  const child = spawn(process.execPath, args, { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const show = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) say(`  | ${line}`);
  };
  child.stdout?.on('data', show);
  child.stderr?.on('data', show);
  return child;
}

/** Resolves with the exit code; rejects when the worker does not exit in time. */
function exitOf(child: ChildProcess, timeout: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not exit within ${timeout} ms`)), timeout);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 128 : null));
    });
  });
}

/** A progress line: a bar on a terminal (redrawn in place), plain lines every 10% otherwise. */
function progress(label: string, started: number): { update(done: number): void; end(): void } {
  let lastPlain = 0;
  const line = (done: number): string => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const width = 30;
    const filled = Math.round((done / TOTAL) * width);
    return `${label.padEnd(8)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor((done / TOTAL) * 100)).padStart(3)}%  ${fmt(done).padStart(6)}/${fmt(TOTAL)}  ${fmt(rate)} tasks/s`;
  };
  return {
    update(done) {
      if (tty) process.stdout.write(`\r\x1b[2K${line(done)}`);
      else if (Math.floor((done / TOTAL) * 10) > lastPlain) {
        lastPlain = Math.floor((done / TOTAL) * 10);
        say(line(done));
      }
    },
    end() {
      if (tty) process.stdout.write('\n');
    },
  };
}

async function run(worker: ChildProcess): Promise<number> {
  // Fails the waits below if the worker dies before we stop it.
  const exited = new Promise<never>((_, reject) => {
    worker.once('exit', (code, signal) => reject(new Error(`the worker exited early (${signal ?? `code ${code}`}); see its output above`)));
  });
  exited.catch(() => undefined);

  // Ready when it answers: tasks.hello goes to the default queue, which the worker consumes.
  const ping = await hello.delay('demo');
  say(`worker answered: ${await Promise.race([ping.get({ timeout: 30_000 }), exited])}`);

  // A few single calls, the everyday API.
  for (const i of [1, 2, 3]) {
    const r = await add.delay(i, i);
    say(`add.delay(${i}, ${i}) -> ${await r.get({ timeout: 10_000 })}   (task ${r.id}, queue for_add by taskRoutes)`);
  }

  // 10,000 tasks in batches: one transaction per batch on SQLite.
  say(`\nsending ${fmt(TOTAL)} tasks.add(i, i) with app.sendMany in batches of ${BATCH}, worker concurrency ${CONCURRENCY}`);
  const t0 = performance.now();
  const results: AsyncResult<number>[] = [];
  const sending = progress('sent', t0);
  for (let start = 0; start < TOTAL; start += BATCH) {
    const calls = Array.from({ length: Math.min(BATCH, TOTAL - start) }, (_, k) => ({ name: add.name, args: [start + k, start + k] }));
    results.push(...(await app.sendMany<number>(calls)));
    sending.update(results.length);
  }
  sending.end();
  const sentAt = performance.now();

  // Results in chunks, in sending order (the queue is FIFO): the bar moves as the worker gets through them.
  // The rate counts from the first send: the worker starts on the first batch while the others are sent.
  const done = progress('done', t0);
  let mismatches = 0;
  let finished = 0;
  for (let start = 0; start < TOTAL; start += BATCH) {
    const chunk = results.slice(start, start + BATCH);
    const values = await Promise.race([Promise.all(chunk.map((r) => r.get({ timeout: 60_000 }))), exited]);
    values.forEach((value, k) => {
      const i = start + k;
      if (value !== 2 * i) {
        mismatches++;
        if (mismatches <= 5) say(`\nMISMATCH: tasks.add(${i}, ${i}) returned ${JSON.stringify(value)}, expected ${2 * i}`);
      }
    });
    finished += chunk.length;
    done.update(finished);
  }
  done.end();
  const t1 = performance.now();

  const seconds = (t1 - t0) / 1000;
  say('');
  say(`sent      ${fmt(TOTAL)} tasks in ${((sentAt - t0) / 1000).toFixed(2)} s (${fmt(TOTAL / ((sentAt - t0) / 1000))} tasks/s)`);
  say(`completed ${fmt(TOTAL)} tasks in ${seconds.toFixed(2)} s (${fmt(TOTAL / seconds)} tasks/s end to end, results included)`);
  say(mismatches === 0 ? `checked   every result equals 2*i` : `FAILED    ${mismatches} result(s) differ from 2*i`);
  return mismatches === 0 ? 0 : 1;
}

let worker: ChildProcess | undefined;
let code = 1;
const onInterrupt = (): void => {
  worker?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  process.exit(130);
};
process.once('SIGINT', onInterrupt);
try {
  worker = startWorker();
  code = await run(worker);
  say('\nstopping the worker (SIGTERM: warm shutdown)');
  worker.kill('SIGTERM');
  const exitCode = await exitOf(worker, 15_000);
  if (exitCode === 0) say('worker exited 0');
  else {
    say(`the worker exited with code ${exitCode}, expected 0`);
    code = 1;
  }
} catch (err) {
  say(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
  if (worker && worker.exitCode === null) {
    worker.kill('SIGKILL');
    await exitOf(worker, 5_000).catch(() => undefined);
  }
} finally {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  process.off('SIGINT', onInterrupt);
}
process.exitCode = code;
