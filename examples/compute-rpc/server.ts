// Starts RPC servers on topic 'compute', one per name given (default: host1 and host2), in this process.
// Calls to the topic are shared between them; `prepare({ server })` reaches one; a fanout cast reaches all.
import { app, ComputeEndpoint } from './api.js';

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['host1', 'host2'];
// A short heartbeat interval so the client's 'slow' call shows a call outliving its timeout; one call at a time
// per server, so calls that arrive together are spread over the servers (the default, 64, suits real servers).
const servers = await Promise.all(
  names.map((name) => app.rpc.serve({ topic: 'compute', server: name }, [new ComputeEndpoint(name)], { heartbeatInterval: 500, concurrency: 1 })),
);
console.log(`compute servers ${names.join(', ')} ready on ${app.describe().broker}; Ctrl-C to stop`);

const stop = async (): Promise<void> => {
  await Promise.all(servers.map((s) => s.stop()));
  await app.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
