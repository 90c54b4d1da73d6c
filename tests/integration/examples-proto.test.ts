/**
 * examples/game-service as its README runs it: the lobby server (generated skeleton) and the player's client
 * (generated typed client) in two processes, talking protobuf over direct TCP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, runProcess, spawnProcess, type Spawned } from '../helpers/processes.js';

const TSX = `${ROOT}node_modules/.bin/tsx`;
let server: Spawned | undefined;

afterEach(async () => {
  if (server && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  server = undefined;
});

describe('examples/game-service', () => {
  it('serves the lobby and answers the client: servers, a session, a ping, an outdated client refused', async () => {
    server = spawnProcess(TSX, ['examples/game-service/server.ts', 'tcp://127.0.0.1:0'], { ...process.env }, ROOT);
    await server.waitFor(/game lobby \(game\.GameService\) on tcp:\/\/127\.0\.0\.1:\d+/, 30_000);
    const url = /on (tcp:\/\/127\.0\.0\.1:\d+)/.exec(server.output())?.[1] as string;
    const client = await runProcess(TSX, ['examples/game-service/client.ts', url], { ...process.env }, ROOT);
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    const lines = client.stdout.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'server eu-1 at eu-1.game.example:7777: 31/64 players {"mode":"ctf","map":"dust"}',
      'server eu-2 at eu-2.game.example:7777: 12/64 players {"mode":"deathmatch"}',
    ]);
    expect(lines[2]).toMatch(/^play on eu-2\.game\.example:7777 with token [0-9a-f]{8}…, valid until \d{4}-\d\d-\d\dT/);
    expect(lines[3]).toBe('motd: Welcome ada! eu-2 runs deathmatch.');
    expect(lines[4]).toMatch(/^ping: hello back in \d+ ms, lobby clock offset ~-?[\d.]+ ms$/);
    expect(lines[5]).toBe('refused: OutdatedClientError: client 1.0.3 is too old: update the game to 1.2.0 or later');
    expect(lines).toHaveLength(6);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);
});
