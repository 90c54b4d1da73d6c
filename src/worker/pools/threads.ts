/** The threads pool: N worker_threads that each load the app module and run CPU-bound tasks in parallel. */
import { Worker as Thread } from 'node:worker_threads';
import { ChildPool, type ChildHandle } from './children.js';
import { childEntry } from './entry.js';
import type { ChildBoot, FromChild } from './messages.js';

/** Starts the runtime from an inline script, so it can register tsx first when it is TypeScript. */
const BOOT = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((e) => { console.error(e); process.exit(1); });`;

export class ThreadPool extends ChildPool {
  readonly name = 'threads';

  protected spawn(boot: ChildBoot): ChildHandle {
    const entry = childEntry();
    const thread = new Thread(BOOT, { eval: true, workerData: { boot, entry: entry.url.href, tsxApi: entry.tsxApi } });
    let crash: string | undefined;
    let exit: string | undefined;
    const waiters: ((how: string) => void)[] = [];
    thread.on('error', (e) => {
      crash = `crashed: ${e.message}`;
    });
    thread.once('exit', (code) => {
      exit = crash ?? `exit code ${code}`;
      for (const w of waiters.splice(0)) w(exit);
    });
    return {
      pid: thread.threadId,
      send: (msg) => thread.postMessage(msg),
      kill: () => void thread.terminate(),
      onMessage: (fn) => thread.on('message', (m: FromChild) => fn(m)),
      onExit: (fn) => (exit === undefined ? waiters.push(fn) : fn(exit)),
    };
  }
}
