// Name server test helpers: `celeriac ns` as a child process (built CLI) with the URIs it prints, free and
// closed ports, and stopping child processes (SIGTERM, then SIGKILL).
import { createServer } from 'node:net';
import { spawnCli, type Spawned } from './processes.js';

export interface CliNameServer {
  proc: Spawned;
  uri: string;
  port: number;
  writeUri?: string;
  /** The broadcast responder's UDP port (with --broadcast). */
  bcPort?: number;
}

/** Starts `celeriac ns -p 0 ...args` and waits for its `URI = ` line. */
export async function startCliNs(args: string[], env: Record<string, string> = {}): Promise<CliNameServer> {
  const proc = spawnCli(['ns', '-p', '0', ...args], env);
  try {
    await proc.waitFor(/^URI = \S+$/m, 20_000);
  } catch (err) {
    await stopChild(proc, 2_000);
    throw err;
  }
  const out = proc.output();
  const uri = /^URI = (\S+)$/m.exec(out)?.[1] ?? '';
  const writeUri = /^write URI = (\S+)$/m.exec(out)?.[1];
  const bc = /^Broadcast server running on \S+:(\d+)$/m.exec(out)?.[1];
  return { proc, uri, port: portOf(uri), ...(writeUri ? { writeUri } : {}), ...(bc ? { bcPort: Number(bc) } : {}) };
}

export function portOf(uri: string): number {
  return Number(/:(\d+)$/.exec(uri)?.[1] ?? NaN);
}

/** A TCP port that was free a moment ago (listened on, then closed): nothing answers there. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** SIGTERM, then SIGKILL after `grace` ms; resolves when the process is gone. */
export async function stopChild(p: Spawned | undefined, grace = 5_000): Promise<void> {
  if (!p) return;
  const child = p.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), grace);
  await p.exited;
  clearTimeout(timer);
}
