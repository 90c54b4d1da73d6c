// Interop test helpers: Debian's Python Celery as the peer (a producer script and a worker), a celeriac
// worker on the interop fixture app, stopping processes, and precise cleanup of the keys a test made on a
// shared Redis database (no key prefix: Python Celery 5.2's result backend has none).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { ROOT, runProcess, spawnCli, spawnProcess, type Spawned } from '../helpers/processes.js';
export { runProcess, type Run } from '../helpers/processes.js';

/** Debian's python3 with python3-celery (not the pyenv python3 on PATH). */
export const PYTHON = process.env['CELERIAC_TEST_PYTHON'] ?? '/usr/bin/python3';
export const PY_DIR = `${ROOT}tests/fixtures/python`;
export const INTEROP_APP = `${ROOT}tests/fixtures/apps/interop-tasks.ts`;
const INSTALL_HINT = 'apt-get install -y python3-celery python3-redis python3-amqp';

/** An environment for Debian's python: without pyenv's and the user's Python path settings. */
export function pythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1', ...extra };
  for (const k of ['PYTHONPATH', 'PYTHONHOME', 'PYENV_VERSION', 'VIRTUAL_ENV']) delete env[k];
  return env;
}

/** Throws (the suite FAILS, never skips) when Python Celery is not importable. */
export function requirePythonCelery(): void {
  const r = spawnSync(PYTHON, ['-c', 'import celery, redis, kombu; print(celery.__version__)'], { env: pythonEnv(), encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout || `exit ${String(r.status)}`).trim().split('\n').slice(-3).join('\n');
    throw new Error(
      `Python Celery is not importable with ${PYTHON}: the interop tests need it. Install it with:\n  ${INSTALL_HINT}\n(${why})`,
    );
  }
}

/** SIGTERM, then SIGKILL after `grace` ms. Resolves when the process is gone. */
export async function stopProcess(p: Spawned | undefined, grace = 10_000): Promise<void> {
  if (!p) return;
  const child: ChildProcess = p.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), grace);
  await p.exited;
  clearTimeout(timer);
}

/** A celeriac worker (built CLI) on the interop app, consuming `queue`; resolves once it is ready. Results go to `backend` (default: the broker URL). */
export async function startCeleriacWorker(url: string, queue: string, args: string[] = [], backend = url): Promise<Spawned> {
  const w = spawnCli(['worker', '-A', INTEROP_APP, '-Q', queue, '-l', 'info', '--log-format', 'json', ...args], {
    CELERIAC_BROKER_URL: url,
    CELERIAC_RESULT_BACKEND: backend,
  });
  try {
    await w.waitFor(/ ready\.\n/, 30_000);
  } catch (err) {
    await stopProcess(w, 2_000);
    throw err;
  }
  return w;
}

/**
 * `celery -A interop_app worker -P solo -Q <queue>` (Python); resolves once it says it is ready. Results go to
 * `backend` (default: the broker URL). `events`: task events (-E) and heartbeats on (off by default).
 */
export async function startPythonWorker(url: string, queue: string, nodeName: string, backend = url, options: { events?: boolean } = {}): Promise<Spawned> {
  const w = spawnProcess(
    PYTHON,
    // No gossip, mingle or heartbeat: fewer shared keys on the test Redis and a faster start.
    ['-m', 'celery', '-A', 'interop_app', 'worker', '-P', 'solo', '-Q', queue, '-l', 'info', '-n', nodeName, '--without-gossip', '--without-mingle', ...(options.events ? ['-E'] : ['--without-heartbeat'])],
    pythonEnv({ INTEROP_BROKER: url, INTEROP_BACKEND: backend, INTEROP_QUEUE: queue }),
    PY_DIR,
  );
  try {
    await w.waitFor(/ ready\.\s*$/m, 45_000);
  } catch (err) {
    await stopProcess(w, 2_000);
    throw err;
  }
  return w;
}

/** One call of a producer.py plan (see that file's docstring). */
export interface PyCall {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  via?: 'send_task' | 'apply_async';
  options?: { queue?: string; countdown?: number; priority?: number; expires?: number; time_limit?: number; soft_time_limit?: number };
  eta_in?: number;
  expires_at_in?: number;
  wait?: boolean;
}

/** What the Python caller saw for one task. */
export interface PyOutcome {
  id: string;
  sent_at: number;
  eta: number | null;
  expires: number | null;
  state?: string;
  ok?: boolean;
  result?: unknown;
  exc_type?: string;
  exc_module?: string;
  exc_args?: unknown[];
  exc_str?: string;
  exc_mro?: string[];
}

/** Runs tests/fixtures/python/producer.py with a plan; returns what the Python caller saw. */
export function runPythonProducer(
  url: string,
  plan: { calls?: PyCall[]; collect?: string[]; timeout?: number },
  limit = 60_000,
): Promise<{ calls: PyOutcome[]; collect: PyOutcome[] }> {
  const body = JSON.stringify({ broker: url, backend: url, timeout: 30, ...plan });
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['producer.py', body], { cwd: PY_DIR, env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`producer.py failed (exit ${String(code)}${signal ? `, ${signal}` : ''}):\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-4000)}`));
        return;
      }
      resolve(JSON.parse(line) as { calls: PyOutcome[]; collect: PyOutcome[] });
    });
  });
}

const SEP = '\x06\x16';

/** kombu's lists of a queue: the bare name and its priority sub-lists. */
export function queueLists(queue: string): string[] {
  return [queue, `${queue}${SEP}3`, `${queue}${SEP}6`, `${queue}${SEP}9`];
}

export interface Leftovers {
  /** unacked entries of our queues or tasks still present before cleanup (should be none). */
  unacked: string[];
}

/**
 * Deletes exactly what a test made: its queues' lists and binding sets, the binding members naming its
 * queues or worker nodes in shared binding sets, its tasks' result keys, and (a safety net, reported)
 * `unacked` entries and dead letters of its tasks. Never deletes a shared key as a whole.
 */
export async function cleanupRedis(url: string, what: { queues: string[]; taskIds: Iterable<string>; nodeNames?: string[] }): Promise<Leftovers> {
  const redis = new Redis(url);
  const ids = new Set(what.taskIds);
  const queues = new Set(what.queues);
  const nodes = what.nodeNames ?? [];
  const ours = (text: string): boolean => [...queues].some((q) => text === q) || nodes.some((n) => text.includes(n));
  const leftovers: Leftovers = { unacked: [] };
  try {
    const keys = [...what.queues.flatMap(queueLists), ...what.queues.map((q) => `_kombu.binding.${q}`), ...[...ids].map((id) => `celery-task-meta-${id}`)];
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    // Members naming our queues (or our nodes' pidbox queues) in shared binding sets, e.g. _kombu.binding.celery.pidbox.
    let cursor = '0';
    do {
      const [next, sets] = await redis.scan(cursor, 'MATCH', '_kombu.binding.*', 'COUNT', 1000);
      cursor = next;
      for (const set of sets) {
        const members = await redis.smembers(set);
        const mine = members.filter((m) => ours(m.split(SEP)[2] ?? ''));
        if (mine.length) await redis.srem(set, ...mine);
      }
    } while (cursor !== '0');
    // Acks remove unacked entries; anything of ours still there is a leftover (reported, then removed).
    cursor = '0';
    do {
      const [next, flat] = await redis.hscan('unacked', cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const tag = flat[i] as string;
        let mine = false;
        try {
          const [message, , routingKey] = JSON.parse(flat[i + 1] as string) as [{ headers?: { id?: string } }, string, string];
          mine = queues.has(routingKey) || ids.has(message.headers?.id ?? '');
        } catch {
          mine = false;
        }
        if (mine) {
          leftovers.unacked.push(tag);
          await redis.hdel('unacked', tag);
          await redis.zrem('unacked_index', tag);
        }
      }
    } while (cursor !== '0');
    // celeriac dead-letters unregistered tasks: remove our records from the shared list.
    const dead = await redis.lrange('celeriac.dead_letter', 0, -1);
    for (const record of dead) {
      let id = '';
      try {
        id = (JSON.parse(record) as { id?: string }).id ?? '';
      } catch {
        id = '';
      }
      if (ids.has(id) || [...queues].some((q) => record.includes(q))) await redis.lrem('celeriac.dead_letter', 0, record);
    }
  } finally {
    redis.disconnect();
  }
  return leftovers;
}


/** `celery -A interop_app <args> -d <node> -t 5 --json` (Python's CLI), parsed; a null node broadcasts (only in a vhost of our own). */
export async function celeryJson(place: { url: string; backend: string }, args: string[], node: string | null): Promise<unknown> {
  const r = await runProcess(PYTHON, ['-m', 'celery', '-A', 'interop_app', ...args, ...(node ? ['-d', node] : []), '-t', '5', '--json'], pythonEnv({ INTEROP_BROKER: place.url, INTEROP_BACKEND: place.backend }), PY_DIR);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!line.startsWith('{') && !line.startsWith('[')) throw new Error(`celery ${args.join(' ')} printed no JSON (exit ${String(r.code)}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as unknown;
}
