/**
 * The runtime inside a pool thread or child process: loads the app module (TypeScript through tsx), then
 * runs the tasks the pool sends, one at a time, and reports outcomes, custom states and its memory.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { TaskRequestInfo } from '../../protocol/task-message.js';
import { Retry, SoftTimeLimitExceeded, TaskRevokedError } from '../../errors.js';
import { BOOT_ENV, type ChildBoot, type FromChild, type ToChild } from './messages.js';
import type { PoolError } from './types.js';

/** What the child needs of the app: the same `runTask` the async pool calls. */
interface Runner {
  runTask(name: string, args: unknown[], context?: () => { request: TaskRequestInfo; signal?: AbortSignal }, report?: (id: string, state: string, meta: unknown) => Promise<void>): unknown;
}

interface Channel {
  send(msg: FromChild): void;
  listen(fn: (msg: ToChild) => void): void;
  close(): void;
}

function channel(): Channel {
  if (!isMainThread && parentPort) {
    const port = parentPort;
    return { send: (m) => port.postMessage(m), listen: (fn) => port.on('message', fn), close: () => port.close() };
  }
  return {
    send: (m) => void process.send?.(m),
    listen: (fn) => {
      process.on('message', (m) => fn(m as ToChild));
      // The worker is gone (even killed with SIGKILL): stop at once rather than finish a task nobody will record.
      process.once('disconnect', () => process.exit(1));
      // Ctrl-C reaches the whole process group: the worker decides (warm, then cold shutdown), not each child.
      process.on('SIGINT', () => undefined);
    },
    close: () => process.disconnect?.(),
  };
}

function bootData(): ChildBoot {
  if (!isMainThread) return (workerData as { boot: ChildBoot }).boot;
  const text = process.env[BOOT_ENV];
  if (!text) throw new Error(`pool child started without ${BOOT_ENV}: it is started by a celeriac worker, not by hand`);
  return JSON.parse(text) as ChildBoot;
}

async function loadRunner(boot: ChildBoot): Promise<Runner> {
  if (/\.[mc]?tsx?$/.test(boot.appModule)) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  const mod = (await import(pathToFileURL(boot.appModule).href)) as Record<string, unknown>;
  const def = mod['default'] as Record<string, unknown> | undefined;
  const candidates = boot.exportName ? [mod[boot.exportName]] : [mod['app'], def, def?.['app']];
  const app = candidates.find((c): c is Runner => typeof c === 'object' && c !== null && typeof (c as Runner).runTask === 'function');
  if (!app) throw new Error(`${boot.appModule} exports no celeriac app${boot.exportName ? ` named '${boot.exportName}'` : " as 'app' or default"}`);
  return app;
}

/** A Retry, also from another copy of celeriac than this runtime's (the app may bundle its own). */
function isRetry(err: unknown): err is Retry {
  return err instanceof Retry || (err instanceof Error && err.name === 'Retry' && 'countdown' in err && 'maxRetries' in err);
}

function errorOf(err: unknown): PoolError {
  if (isRetry(err)) {
    const exc = err.exc instanceof Error ? { name: err.exc.name, message: err.exc.message, stack: err.exc.stack ?? null } : err.exc === undefined ? undefined : { name: 'Error', message: String(err.exc), stack: null };
    const retry: NonNullable<PoolError['retry']> = {};
    if (err.countdown !== undefined) retry.countdown = err.countdown;
    if (err.eta) retry.eta = err.eta.toISOString();
    if (err.maxRetries !== undefined) retry.maxRetries = err.maxRetries;
    if (exc) retry.exc = exc;
    return { name: 'Retry', message: err.message, stack: err.stack ?? null, retry };
  }
  if (err instanceof Error) return { name: err.name || 'Error', message: err.message, stack: err.stack ?? null };
  return { name: 'Error', message: String(err), stack: null };
}

function abortReason(name: string, message: string): Error {
  if (name === 'SoftTimeLimitExceeded') return new SoftTimeLimitExceeded(message);
  if (name === 'TaskRevokedError') return new TaskRevokedError(message);
  return Object.assign(new Error(message), { name });
}

/** KiB: the process's resident memory, or a thread's own heap. */
function memory(): number {
  const m = process.memoryUsage();
  return Math.round((isMainThread ? m.rss : m.heapUsed) / 1024);
}

async function main(): Promise<void> {
  const ch = channel();
  let runner: Runner;
  try {
    runner = await loadRunner(bootData());
  } catch (err) {
    ch.send({ t: 'load-error', message: err instanceof Error ? err.message : String(err) });
    ch.close();
    return;
  }
  const controllers = new Map<string, AbortController>();
  const report = (id: string, state: string, meta: unknown): Promise<void> => {
    ch.send({ t: 'state', id, state, meta });
    return Promise.resolve();
  };
  const run = async (msg: Extract<ToChild, { t: 'run' }>): Promise<void> => {
    const abort = new AbortController();
    controllers.set(msg.id, abort);
    try {
      const value = await runner.runTask(msg.request.name, msg.args, () => ({ request: msg.request, signal: abort.signal }), report);
      try {
        ch.send({ t: 'done', id: msg.id, ok: true, value, memory: memory() });
      } catch (err) {
        const error = new TypeError(`the result of ${msg.request.name} cannot be sent from the pool (${(err as Error).message}): return plain data`);
        ch.send({ t: 'done', id: msg.id, ok: false, error: errorOf(error), memory: memory() });
      }
    } catch (err) {
      ch.send({ t: 'done', id: msg.id, ok: false, error: errorOf(err), memory: memory() });
    } finally {
      controllers.delete(msg.id);
    }
  };
  ch.listen((msg) => {
    if (msg.t === 'run') void run(msg);
    else if (msg.t === 'abort') controllers.get(msg.id)?.abort(abortReason(msg.name, msg.message));
    else if (msg.t === 'exit') {
      ch.close();
      if (isMainThread) process.exit(0);
    }
  });
  ch.send({ t: 'ready' });
}

void main();
