/** The celeriac side of `npm run bench:pyro` run in its own process: a daemon serving Bench.add; prints `URI <uri>`. */
import { Daemon, expose } from '../dist/rpc/objects/index.js';

class Bench {
  add(x: number, y: number): number {
    return x + y;
  }
}
expose(Bench);
const daemon = new Daemon({ host: process.argv[2] ?? '127.0.0.1' });
console.log('URI', await daemon.register(new Bench(), 'bench'));
process.on('SIGTERM', () => void daemon.close().then(() => process.exit(0)));
