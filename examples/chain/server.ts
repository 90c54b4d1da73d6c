// A chain server: `server.ts THIS NEXT` serves link THIS (forwarding to NEXT) and registers it as example.chain.THIS
// in the name server at PYRO_NS_HOST:PYRO_NS_PORT (default 127.0.0.1:9090). Prints 'ready example.chain.THIS'.
import { Daemon, locateNameServer } from 'celeriac';
import { Chain, chainName } from './chain.js';

const [self = '', next = ''] = process.argv.slice(2);
if (!self || !next) {
  console.error('usage: server.ts THIS NEXT   (e.g. server.ts 1 2)');
  process.exit(2);
}
const host = process.env['PYRO_NS_HOST'] ?? '127.0.0.1';
const port = Number(process.env['PYRO_NS_PORT'] ?? 9090);
const ns = await locateNameServer({ host, port });
const daemon = new Daemon({ host: '127.0.0.1' });
const chain = new Chain(self, next, `${host}:${port}`);
await ns.register(chainName(self), await daemon.register(chain));
console.log(`ready ${chainName(self)}`);

let stopping: Promise<void> | undefined;
const stop = (): Promise<void> => (stopping ??= shutdown());
async function shutdown(): Promise<void> {
  await ns.remove(chainName(self)).catch(() => 0);
  ns._pyroRelease();
  chain._close();
  await daemon.close();
  process.disconnect?.();
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
process.once('disconnect', () => void stop()); // started by servers.ts, which is gone
