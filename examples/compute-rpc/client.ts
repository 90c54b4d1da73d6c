// Calls the compute servers the oslo.messaging way: call (round robin), call one server, cast, fanout cast,
// a version the servers do not have, a method they do not have, and a call longer than its timeout.
import { NoSuchMethodError, UnsupportedVersionError } from 'celeriac';
import { app, type ComputeApi } from './api.js';

const compute = app.rpc.client<ComputeApi>({ topic: 'compute', version: '1.2', timeout: 10_000, context: { user: 'example' } });

// Six calls at once: the servers of the topic share them.
const answers = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => compute.call('add', { x: i, y: 10 })));
for (const [i, { sum, server }] of answers.entries()) console.log(`add(${i + 1}, 10) = ${sum} (answered by ${server})`);
console.log(`shared: ${[...new Set(answers.map((a) => a.server))].sort().join(' and ')} answered`);
const only = await compute.prepare({ server: 'host2' }).proxy.add({ x: 2, y: 2 });
console.log(`add(2, 2) on host2 only = ${only.sum} (answered by ${only.server})`);

await compute.cast('log', { line: 'a cast: the client does not wait' });
await compute.prepare({ fanout: true }).cast('reload', { reason: 'fanout: every server reloads' });
console.log('cast and fanout cast sent');

try {
  await compute.prepare({ version: '2.0' }).call('add', { x: 1, y: 1 });
} catch (err) {
  if (err instanceof UnsupportedVersionError) console.log(`version 2.0 refused: ${err.message}`);
  else throw err;
}
try {
  await compute.call('divide' as 'add', { x: 1, y: 0 });
} catch (err) {
  if (err instanceof NoSuchMethodError) console.log(`unknown method refused: ${err.message}`);
  else throw err;
}

// 3 s of work with a 1.5 s timeout: the server's heartbeats keep the call alive.
console.log(await compute.call('slow', { ms: 3000 }, { timeout: 1500 }));
await app.close();
