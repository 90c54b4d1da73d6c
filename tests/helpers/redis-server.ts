// A private redis-server on a free port, for tests that restart it, set a password or listen with TLS only
// (never the shared one).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  port: number;
  url: string;
  start(): Promise<void>;
  /** Stops the server: SIGKILL by default (a crash); SIGTERM is Redis's clean shutdown (AOF flushed). */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

/** TLS only (no plain port): the server's certificate and key, and the CA it (and, with `authClients`, clients) trust. */
export interface RedisTls {
  cert: string;
  key: string;
  ca: string;
  /** Files of a client certificate for the start-up probe (needed when clients must authenticate). */
  clientCert?: string;
  clientKey?: string;
  authClients?: boolean;
}

export function privateRedis(port: number, args: string[] = [], password?: string, tls?: RedisTls): PrivateRedis {
  let child: ChildProcess | undefined;
  const scheme = tls ? 'rediss' : 'redis';
  const url = password ? `${scheme}://:${password}@127.0.0.1:${port}/0` : `${scheme}://127.0.0.1:${port}/0`;
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', tls.authClients ? 'yes' : 'no']
    : ['--port', String(port)];
  const probeTls = tls ? { ca: readFileSync(tls.ca), ...(tls.clientCert && tls.clientKey ? { cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey) } : {}) } : undefined;
  return {
    port,
    url,
    async start() {
      child = spawn('redis-server', [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' });
      const deadline = Date.now() + 10_000;
      for (;;) {
        const probe = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, ...(probeTls ? { tls: probeTls } : {}) });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          await probe.ping();
          await probe.quit();
          return;
        } catch {
          probe.disconnect();
          if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
    async stop(signal = 'SIGKILL') {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      await exited;
    },
  };
}
