/**
 * A direct RPC server in its own process, for tests/integration/rpc-tcp.test.ts (killed mid-call, restarted
 * on the same port). Usage: rpc-tcp-peer.ts <url>. Methods: add(a, b), echo(x), sleep(ms).
 * Prints {"event":"listening","address"} on stdout once it serves.
 */
import { createTcpDriver } from '../../../src/rpc/tcp/index.js';
import type { RpcHandler } from '../../../src/rpc/types.js';

const handler: RpcHandler = async (request) => {
  const args = request.args as unknown[];
  if (request.method === 'add') return { ok: true, result: (args[0] as number) + (args[1] as number) };
  if (request.method === 'echo') return { ok: true, result: args[0] };
  if (request.method === 'sleep') {
    await new Promise((resolve) => setTimeout(resolve, args[0] as number));
    return { ok: true, result: 'slept' };
  }
  return { ok: false, error: { type: 'NoSuchMethod', message: request.method } };
};

const driver = createTcpDriver(process.argv[2] as string, {});
const listener = await driver.listen({ topic: 'peer' }, handler);
process.stdout.write(`${JSON.stringify({ event: 'listening', address: listener.address })}\n`);
process.on('SIGTERM', () => void driver.close().then(() => process.exit(0)));
