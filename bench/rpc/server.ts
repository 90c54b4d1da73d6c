/**
 * The servers of bench/rpc/run.ts, one per process: `celeriac <url> [tls-dir]` (the direct RPC driver) or
 * `http` (node:http with a JSON body, the same add method). Prints `READY <address>` once it serves.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { createTcpDriver } from '../../src/rpc/tcp/index.js';
import type { RpcHandler } from '../../src/rpc/types.js';

const [mode, url, tlsDir] = process.argv.slice(2) as [string, string | undefined, string | undefined];

const add = (args: unknown): number => {
  const [a, b] = args as [number, number];
  return a + b;
};

if (mode === 'celeriac') {
  const handler: RpcHandler = (request) => Promise.resolve({ ok: true, result: add(request.args) });
  const tls = tlsDir ? { key: readFileSync(join(tlsDir, 'server.key')), cert: readFileSync(join(tlsDir, 'server.crt')) } : undefined;
  const driver = createTcpDriver(url ?? 'tcp://127.0.0.1:0', tls ? { tls } : {});
  const listener = await driver.listen({ topic: 'bench' }, handler);
  process.stdout.write(`READY ${listener.address}\n`);
  process.on('SIGTERM', () => void driver.close().then(() => process.exit(0)));
} else {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const call = JSON.parse(Buffer.concat(chunks).toString()) as { method: string; args: unknown };
      const body = JSON.stringify({ result: add(call.args) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    process.stdout.write(`READY http://127.0.0.1:${address.port}/\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
