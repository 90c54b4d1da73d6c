// A player's game client asking the lobby (server.ts) for a game server, through the generated typed client:
// messages travel protobuf-encoded over direct TCP. Usage: client.ts [tcp://127.0.0.1:4343]
import { RemoteError } from 'celeriac';
import { createGameServiceClient } from './game-stubs.js';

const url = process.argv[2] ?? 'tcp://127.0.0.1:4343';
const secret = process.env['CELERIAC_RPC_SECRET'];
const lobby = createGameServiceClient(url, { timeout: 5_000, ...(secret ? { driver: { secret } } : {}) });

const { servers } = await lobby.listServers({ region: 'EU' });
for (const s of servers) console.log(`server ${s.id} at ${s.address}: ${s.players}/${s.capacity} players ${JSON.stringify(s.tags)}`);

const session = await lobby.connectServer({ playerName: 'ada', clientVersion: '1.4.2', region: 'EU' });
console.log(`play on ${session.serverAddress} with token ${session.sessionToken.slice(0, 8)}…, valid until ${new Date(Number(session.expiresAtMs)).toISOString()}`);
console.log(`motd: ${session.motd}`);

const sent = Date.now();
const pong = await lobby.ping({ payload: new TextEncoder().encode('hello'), sentAtMs: String(sent) });
console.log(`ping: ${new TextDecoder().decode(pong.payload)} back in ${Date.now() - sent} ms, lobby clock offset ~${Number(pong.serverTimeMs) - (sent + Date.now()) / 2} ms`);

try {
  await lobby.connectServer({ playerName: 'bob', clientVersion: '1.0.3', region: 'US' });
} catch (err) {
  if (!(err instanceof RemoteError)) throw err;
  console.log(`refused: ${err.remoteType}: ${err.message.replace(`${err.remoteType}: `, '')}`);
}
await lobby.close();
