// The chain client: sends ['hello'] to example.chain.1 and prints how it went round the ring.
import { proxy } from 'celeriac';
import { chainName, type Chain } from './chain.js';

const host = process.env['PYRO_NS_HOST'] ?? '127.0.0.1';
const port = Number(process.env['PYRO_NS_PORT'] ?? 9090);
const first = proxy<Chain>(`PYRONAME:${chainName('1')}@${host}:${port}`);
try {
  const result = await first.process(['hello']);
  console.log(`Result=${JSON.stringify(result)}`);
} finally {
  first._pyroRelease();
}
