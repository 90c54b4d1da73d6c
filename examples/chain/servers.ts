// The whole ring in one command: a name server (unless one answers at PYRO_NS_HOST:PYRO_NS_PORT, default
// 127.0.0.1:9090) and the three chain servers 1 -> 2 -> 3 -> 1, each its own process (server.ts), output prefixed.
// Ctrl-C stops them all.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { locateNameServer, startNameServer, type RunningNameServer } from 'celeriac';

const host = process.env['PYRO_NS_HOST'] ?? '127.0.0.1';
let port = Number(process.env['PYRO_NS_PORT'] ?? 9090);
let embedded: RunningNameServer | undefined;
try {
  (await locateNameServer({ host, port }))._pyroRelease();
} catch {
  embedded = await startNameServer({ host, port });
  port = Number(embedded.uri.slice(embedded.uri.lastIndexOf(':') + 1));
  console.log(`Started a name server: ${embedded.uri}`);
}

const server = fileURLToPath(new URL('./server.ts', import.meta.url));
const ring: Array<[string, string]> = [['1', '2'], ['2', '3'], ['3', '1']];
const children: ChildProcess[] = ring.map(([self, next]) => {
  const child = spawn(process.execPath, ['--import', 'tsx', server, self, next], {
    env: { ...process.env, PYRO_NS_HOST: host, PYRO_NS_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'], // the IPC channel closes when this process dies: the links stop too
  });
  child.stdout?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line) console.log(`[server ${self}] ${line}`);
  });
  return child;
});

let stopping: Promise<void> | undefined;
const stop = (): Promise<void> => (stopping ??= shutdown());
async function shutdown(): Promise<void> {
  await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGTERM'))))));
  await embedded?.close();
  console.log('Stopped.');
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
