// A private RabbitMQ node (its own node name, ports, data and log folders; never the shared one), for
// tests that stop and restart the broker. Started in the foreground as a child process; rabbitmq-server
// switches to the rabbitmq user, so the folders are handed to it. Needs root, like rabbitmqctl.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomInt, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rabbitmqctl } from './amqp.js';

/** A free port below the ephemeral range (RabbitMQ 3.10 here could not listen on some ports above it). */
async function lowFreePort(): Promise<number> {
  for (;;) {
    const port = randomInt(20_000, 30_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

export interface PrivateRabbit {
  url: string;
  /** amqps:// URL of the TLS listener (with `tls: true`), and the CA that signed its certificate. */
  tlsUrl: string;
  caFile: string;
  /** A client certificate and key signed by that CA (with `tls: true`; required by the node with `requireClientCert`). */
  clientCertFile: string;
  clientKeyFile: string;
  node: string;
  start(): Promise<void>;
  /** Stops the node (clean shutdown; durable queues and persistent messages stay on disk). */
  stop(): Promise<void>;
  /** Stops the node and deletes its folders. */
  remove(): Promise<void>;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate signed by it (openssl), in `dir`. */
function makeCertificates(dir: string): void {
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=celeriac test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1, DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=celeriac test client');
  ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
}

export async function privateRabbit(options: { tls?: boolean; requireClientCert?: boolean } = {}): Promise<PrivateRabbit> {
  const port = await lowFreePort();
  const dist = await lowFreePort();
  const tlsPort = options.tls ? await lowFreePort() : 0;
  const node = `celeriac-test-${randomUUID().slice(0, 8)}@localhost`;
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-rabbit-'));
  for (const d of ['mnesia', 'log']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  let conf = `listeners.tcp.1 = 127.0.0.1:${port}\nloopback_users = none\n`;
  if (options.tls) {
    makeCertificates(dir);
    conf += `listeners.ssl.1 = 127.0.0.1:${tlsPort}\nssl_options.cacertfile = ${join(dir, 'ca.pem')}\nssl_options.certfile = ${join(dir, 'server.pem')}\n`;
    const verify = options.requireClientCert ? 'verify_peer\nssl_options.fail_if_no_peer_cert = true' : 'verify_none\nssl_options.fail_if_no_peer_cert = false';
    conf += `ssl_options.keyfile = ${join(dir, 'server.key')}\nssl_options.verify = ${verify}\n`;
  }
  writeFileSync(join(dir, 'rabbitmq.conf'), conf);
  const owner = statSync('/var/lib/rabbitmq', { throwIfNoEntry: false });
  const chown = (p: string): void => {
    if (owner) chownSync(p, owner.uid, owner.gid);
  };
  for (const p of readdirSync(dir)) chown(join(dir, p));
  chown(dir);
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
  };
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    // rabbitmq-server is a script that starts the Erlang VM: on failure kill its whole process group.
    await rabbitmqctl('-n', node, 'stop').catch(() => {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    });
    await exited;
  };
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}//`,
    tlsUrl: `amqps://guest:guest@127.0.0.1:${tlsPort}//`,
    caFile: join(dir, 'ca.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    node,
    async start() {
      const c = (child = spawn('rabbitmq-server', [], { env, stdio: 'ignore', detached: true }));
      // await_startup fails until the node has registered with epmd: retry until it answers.
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (c.exitCode !== null) throw new Error(`rabbitmq-server ${node} exited (${String(c.exitCode)}); see ${join(dir, 'log')}`);
        try {
          await rabbitmqctl('-n', node, 'await_startup', '--timeout', '60');
          return;
        } catch (error) {
          if (Date.now() > deadline) {
            await stop();
            throw error;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    stop,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
