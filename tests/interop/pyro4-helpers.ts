// Pyro4 interop helpers for the name server and chain tests: the Pyro4 check (fails with an apt-get hint),
// pyro4_ns_ops.py runs, Python's name server and the Python greeting server as child processes.
import { spawnSync } from 'node:child_process';
import { spawnProcess, type Spawned } from '../helpers/processes.js';
import { closedPort } from '../helpers/ns.js';
import { PY_DIR, PYTHON, pythonEnv, runProcess } from './helpers.js';

/** Throws (the suite FAILS, never skips) when Debian's Pyro4 is not importable. */
export function requirePyro4(): void {
  const r = spawnSync(PYTHON, ['-c', 'import Pyro4; print(Pyro4.__version__)'], { env: pythonEnv(), encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-2).join('\n');
    throw new Error(`Python Pyro4 is not importable with ${PYTHON}: the Pyro4 interop tests need it. Install it with:\n  apt-get install -y python3-pyro4\n(${why})`);
  }
}

export interface PyOutcome {
  ok: boolean;
  result?: unknown;
  /** The Python exception class name, when ok is false. */
  type?: string;
  message?: string;
}

/** Runs tests/fixtures/python/pyro4_ns_ops.py with a plan (see its docstring); one outcome per op. */
export async function pyOps(plan: Record<string, unknown>): Promise<PyOutcome[]> {
  const r = await runProcess(PYTHON, ['pyro4_ns_ops.py', JSON.stringify(plan)], pythonEnv(), PY_DIR);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !line.startsWith('[')) throw new Error(`pyro4_ns_ops.py failed (exit ${String(r.code)}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as PyOutcome[];
}

/** `python3 -m Pyro4.naming -n 127.0.0.1 -p <free port>` accepting json only; `track` receives the process. */
export async function startPythonNs(track: (p: Spawned) => void, extra: string[] = []): Promise<number> {
  const port = await closedPort();
  const p = spawnProcess(PYTHON, ['-m', 'Pyro4.naming', '-n', '127.0.0.1', '-p', String(port), ...extra], pythonEnv({ PYRO_SERIALIZERS_ACCEPTED: 'json' }), PY_DIR);
  track(p);
  await p.waitFor(/^URI = /m, 20_000);
  return port;
}

/** Runs a Python fixture script as a server; resolves once its output matches `ready`. */
export async function startPythonScript(track: (p: Spawned) => void, script: string, args: string[], ready: RegExp): Promise<Spawned> {
  const p = spawnProcess(PYTHON, [script, ...args], pythonEnv(), PY_DIR);
  track(p);
  await p.waitFor(ready, 20_000);
  return p;
}
