// The seed's game lobby as a protobuf service: game.GameService (tests/fixtures/proto/game.proto) implemented on
// the generated skeleton, served over direct TCP with protobuf bodies. Usage: server.ts [tcp://127.0.0.1:4343]
import { randomBytes } from 'node:crypto';
import { createGameServiceServer, GameServiceBase, type ConnectServerReply, type ConnectServerRequest, type GameServer, type ListServersReply, type ListServersRequest, type PingReply, type PingRequest } from './game-stubs.js';

const OLDEST_CLIENT = [1, 2, 0];

/** A client the lobby no longer serves; callers see its name and message in a RemoteError. */
class OutdatedClientError extends Error {
  override name = 'OutdatedClientError';
}

/** True when a 'major.minor.patch' version comes before `oldest` (or is not a version). */
function olderThan(version: string, oldest: readonly number[]): boolean {
  const parts = version.split('.').map(Number);
  if (!parts.every(Number.isInteger)) return true;
  for (const [i, n] of oldest.entries()) {
    const part = parts[i] ?? 0;
    if (part !== n) return part < n;
  }
  return false;
}

class Lobby extends GameServiceBase {
  private readonly servers: GameServer[] = [
    { id: 'eu-1', address: 'eu-1.game.example:7777', region: 'EU', players: 31, capacity: 64, tags: { mode: 'ctf', map: 'dust' } },
    { id: 'eu-2', address: 'eu-2.game.example:7777', region: 'EU', players: 12, capacity: 64, tags: { mode: 'deathmatch' } },
    { id: 'us-1', address: 'us-1.game.example:7777', region: 'US', players: 50, capacity: 64, tags: {} },
    { id: 'asia-1', address: 'asia-1.game.example:7777', region: 'ASIA', players: 3, capacity: 32, tags: { mode: 'ctf' } },
  ];

  connectServer(request: ConnectServerRequest): ConnectServerReply {
    if (request.playerName.trim() === '') throw new RangeError('player_name is empty: choose a name to play under');
    if (olderThan(request.clientVersion, OLDEST_CLIENT)) {
      throw new OutdatedClientError(`client ${request.clientVersion || '(none)'} is too old: update the game to ${OLDEST_CLIENT.join('.')} or later`);
    }
    const candidates = request.serverId !== undefined ? this.servers.filter((s) => s.id === request.serverId) : this.inRegion(request.region);
    const server = candidates.filter((s) => s.players < s.capacity).sort((a, b) => a.players / a.capacity - b.players / b.capacity)[0];
    if (!server) throw new RangeError(`no game server with room ${request.serverId !== undefined ? `named ${request.serverId}` : `in ${request.region}`}`);
    server.players++;
    return {
      serverAddress: server.address,
      sessionToken: randomBytes(16).toString('hex'),
      motd: `Welcome ${request.playerName}! ${server.id} runs ${server.tags['mode'] ?? 'free play'}.`,
      expiresAtMs: String(Date.now() + 3_600_000),
    };
  }

  listServers(request: ListServersRequest): ListServersReply {
    return { servers: this.inRegion(request.region) };
  }

  ping(request: PingRequest): PingReply {
    return { payload: request.payload, serverTimeMs: String(Date.now()) };
  }

  private inRegion(region: GameServer['region']): GameServer[] {
    return region === 'REGION_UNSPECIFIED' ? this.servers : this.servers.filter((s) => s.region === region);
  }
}

const url = process.argv[2] ?? 'tcp://127.0.0.1:4343';
const secret = process.env['CELERIAC_RPC_SECRET']; // callers must know it too
const server = await createGameServiceServer(url, new Lobby(), secret ? { driver: { secret } } : {}).start();
console.log(`game lobby (game.GameService) on ${server.address}; Ctrl-C to stop`);

const stop = async (): Promise<void> => {
  await server.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
