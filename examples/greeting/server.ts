// The greeting server: serves a GreetingMaker on a Daemon and registers it in the name server as 'example.greeting'.
// When no name server answers at PYRO_NS_HOST:PYRO_NS_PORT (default 127.0.0.1:9090), it runs one itself.
// Stops on Ctrl-C (removing its registration).
import { Daemon, locateNameServer, startNameServer, type RunningNameServer } from 'celeriac';
import { GREETING_NAME, GreetingMaker, nameServerLocation } from './greeting.js';

const { host, port } = nameServerLocation();
let embedded: RunningNameServer | undefined;
const ns = await locateNameServer({ host, port }).catch(async () => {
  embedded = await startNameServer({ host, port });
  console.log(`Started a name server: ${embedded.uri}`);
  return locateNameServer({ host, port });
});

const daemon = new Daemon({ host: '127.0.0.1' });
const uri = await daemon.register(new GreetingMaker());
await ns.register(GREETING_NAME, uri);
console.log(`Ready. Object uri = ${uri} (registered as ${GREETING_NAME})`);

let stopping: Promise<void> | undefined;
const stop = (): Promise<void> => (stopping ??= shutdown());
async function shutdown(): Promise<void> {
  await ns.remove(GREETING_NAME).catch(() => 0);
  ns._pyroRelease();
  await daemon.close();
  await embedded?.close();
  console.log('Stopped.');
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
