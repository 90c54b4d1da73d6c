// Interop helpers for oslo.messaging: the Python RPC server and client peers (tests/fixtures/python/oslo_rpc_*.py)
// run with Debian's python3; the suite fails (never skips) when oslo.messaging is not importable.
import { spawnSync } from 'node:child_process';
import { spawnProcess, type Spawned } from '../helpers/processes.js';
import { PY_DIR, PYTHON, pythonEnv, runProcess, stopProcess } from './helpers.js';

const INSTALL_HINT = 'apt-get install -y python3-oslo.messaging';

/** Throws (the suite FAILS, never skips) when oslo.messaging is not importable. */
export function requireOslo(): void {
  const r = spawnSync(PYTHON, ['-c', 'import oslo_messaging, oslo_config; print("ok")'], { env: pythonEnv(), encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout || `exit ${String(r.status)}`).trim().split('\n').slice(-3).join('\n');
    throw new Error(`Python oslo.messaging is not importable with ${PYTHON}: the oslo interop tests need it. Install it with:\n  ${INSTALL_HINT}\n(${why})`);
  }
}

/** oslo's spelling of an AMQP URL (rabbit://user:password@host:port/vhost). */
export const rabbitUrl = (amqpUrl: string): string => amqpUrl.replace(/^amqp:/, 'rabbit:');

/** oslo_rpc_server.py serving `topic` as `server`; resolves once it consumes. Stop it with stopProcess. */
export async function startOsloServer(url: string, topic: string, server: string, exchange = 'openstack'): Promise<Spawned> {
  const p = spawnProcess(PYTHON, ['oslo_rpc_server.py', rabbitUrl(url), topic, server, exchange], pythonEnv(), PY_DIR);
  try {
    await p.waitFor(`ready ${server}`, 45_000);
  } catch (err) {
    await stopProcess(p, 2_000);
    throw err;
  }
  return p;
}

/** The `CAST {...}` lines an oslo_rpc_server.py printed so far, parsed. */
export function castsOf(p: Spawned): { server: string; args: Record<string, unknown>; context: Record<string, unknown> }[] {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('CAST '))
    .map((l) => JSON.parse(l.slice(5)) as { server: string; args: Record<string, unknown>; context: Record<string, unknown> });
}

export interface OsloOp {
  op: 'call' | 'cast';
  topic: string;
  method: string;
  kwargs?: Record<string, unknown>;
  server?: string;
  fanout?: boolean;
  context?: Record<string, unknown>;
  timeout?: number;
  call_monitor_timeout?: number;
}

/** What the Python caller saw for one op. */
export interface OsloResult {
  ok: boolean;
  result?: unknown;
  exc_class?: string;
  exc_module?: string;
  exc_type?: string | null;
  message?: string | null;
  traceback?: string[] | null;
  str?: string;
}

/** Runs oslo_rpc_client.py with a plan; returns one result per op. */
export async function runOsloClient(url: string, ops: OsloOp[], exchange = 'openstack'): Promise<OsloResult[]> {
  const r = await runProcess(PYTHON, ['oslo_rpc_client.py', JSON.stringify({ url: rabbitUrl(url), exchange, ops })], pythonEnv(), PY_DIR);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`oslo_rpc_client.py failed (exit ${String(r.code)}):\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-4000)}`);
  return (JSON.parse(line) as { results: OsloResult[] }).results;
}
