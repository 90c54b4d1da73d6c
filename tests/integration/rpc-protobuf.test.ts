/**
 * Protobuf services end to end over loopback: the generated typed client and server skeleton of game.GameService
 * (tests/fixtures/proto/game-stubs.ts) over tcp:// and tls://, remote errors, unknown methods, hostile protobuf
 * bodies while another client is served, JSON callers of a protobuf server, and frames captured on the wire
 * that decode with protobufjs alone.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import protobuf from 'protobufjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.js';
import { NoSuchMethodError, RemoteError } from '../../src/errors.js';
import { CodecId, encodeFrame, FrameReader, FrameType, type Frame } from '../../src/rpc/framing.js';
import { protobufCodec } from '../../src/rpc/protobuf/codec.js';
import { loadProtoService } from '../../src/rpc/protobuf/schema.js';
import { protoClient, type ProtoClientHandle } from '../../src/rpc/protobuf/stubs.js';
import type { RpcServer } from '../../src/rpc/server.js';
import type { RpcCallContext } from '../../src/rpc/dispatcher.js';
import { createTcpDriver } from '../../src/rpc/tcp/index.js';
import {
  createGameServiceClient, createGameServiceServer, GameServiceBase,
  type ConnectServerReply, type ConnectServerRequest, type ListServersReply, type ListServersRequest, type PingReply, type PingRequest,
} from '../fixtures/proto/game-stubs.js';
import { rawPeer } from '../helpers/rpc-peer.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';
import { makeTestPki, type TestPki } from '../helpers/tls-certs.js';

const GAME_PROTO = 'tests/fixtures/proto/game.proto';

class OutdatedClientError extends Error {
  override name = 'OutdatedClientError';
}

/** A lobby whose answers show what it received; 'slow' players wait for `release`. */
class TestLobby extends GameServiceBase {
  release: () => void = () => undefined;
  readonly gate = new Promise<void>((resolve) => (this.release = resolve));

  async connectServer(request: ConnectServerRequest, context?: RpcCallContext): Promise<ConnectServerReply> {
    if (request.clientVersion.startsWith('0.')) throw new OutdatedClientError(`client ${request.clientVersion} is too old: update to 1.2.0`);
    if (request.playerName === 'slow') await this.gate;
    const user = context?.context['user'];
    return { serverAddress: `${request.region.toLowerCase()}-1:7777`, sessionToken: `token-${request.playerName}`, motd: `hello ${String(user ?? 'anonymous')}`, expiresAtMs: '9223372036854775807' };
  }

  listServers(request: ListServersRequest): ListServersReply {
    // A reply that breaks its own schema for ASIA: the server must say so, not crash
    if (request.region === 'ASIA') return { servers: [{ id: 5 }] } as unknown as ListServersReply;
    return { servers: [{ id: 'eu-1', address: 'eu-1:7777', region: 'EU', players: 3, capacity: 64, tags: { mode: 'ctf', map: 'dust' } }, { id: 'eu-2', address: 'eu-2:7777', region: 'EU', players: 0, capacity: 8, tags: {} }] };
  }

  ping(request: PingRequest): PingReply {
    return { payload: request.payload, serverTimeMs: String(BigInt(request.sentAtMs) + 1n) };
  }
}

const servers: RpcServer[] = [];
const clients: ProtoClientHandle[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function startLobby(lobby = new TestLobby()): Promise<{ lobby: TestLobby; url: string }> {
  const server = await createGameServiceServer('tcp://127.0.0.1:0', lobby).start();
  servers.push(server);
  return { lobby, url: server.address as string };
}

function lobbyClient(url: string, options: Parameters<typeof createGameServiceClient>[1] = {}): ReturnType<typeof createGameServiceClient> {
  const client = createGameServiceClient(url, { timeout: 5_000, ...options });
  clients.push(client);
  return client;
}

const connectArgs: ConnectServerRequest = { playerName: 'ada', clientVersion: '1.4.2', region: 'EU' };

describe('generated stubs over tcp://', () => {
  it('calls every method with typed messages: repeated, maps, bytes, exact 64-bit integers, the caller context', async () => {
    const { url } = await startLobby();
    const client = lobbyClient(url, { context: { user: 'ada' } });
    expect(await client.connectServer(connectArgs)).toEqual({ serverAddress: 'eu-1:7777', sessionToken: 'token-ada', motd: 'hello ada', expiresAtMs: '9223372036854775807' });
    const { servers: listed } = await client.listServers({ region: 'EU' });
    expect(listed.map((s) => [s.id, s.region, s.players, s.tags])).toEqual([['eu-1', 'EU', 3, { mode: 'ctf', map: 'dust' }], ['eu-2', 'EU', 0, {}]]);
    const payload = randomBytes(4096);
    const pong = await client.ping({ payload, sentAtMs: '9007199254740993' });
    expect(Buffer.from(pong.payload).equals(payload)).toBe(true);
    expect(pong.serverTimeMs).toBe('9007199254740994');
    const methods = await client.rpc.describe();
    expect(methods.map((m) => [m.namespace, m.name, m.doc])).toEqual([
      ['game.GameService', 'connect_server', 'Picks a game server for a player and opens a session on it.'],
      ['game.GameService', 'list_servers', 'Lists the game servers of a region (every region when none is given).'],
      ['game.GameService', 'ping', "Round trip check: echoes the payload with the lobby's clock."],
    ]);
  });

  it('rebuilds remote errors as typed errors; a reply that breaks its schema is an error, and the connection stays usable', async () => {
    const { url } = await startLobby();
    const client = lobbyClient(url);
    const old = await client.connectServer({ ...connectArgs, clientVersion: '0.9' }).catch((e: unknown) => e);
    expect(old).toBeInstanceOf(RemoteError);
    expect(old).toMatchObject({ remoteType: 'OutdatedClientError', message: 'OutdatedClientError: client 0.9 is too old: update to 1.2.0' });
    expect((old as RemoteError).remoteStack).toMatch(/at TestLobby.connectServer/);
    const broken = await client.listServers({ region: 'ASIA' }).catch((e: unknown) => e);
    expect(broken).toMatchObject({ remoteType: 'EncodeError' });
    expect((broken as Error).message).toMatch(/the answer of 'list_servers' could not be sent: game.ListServersReply: servers.id: string expected/);
    // Arguments that break the request type never leave the client
    await expect(client.connectServer({ ...connectArgs, region: 'MARS' } as unknown as ConnectServerRequest)).rejects.toThrow(
      /the arguments of 'connect_server' cannot be encoded as protobuf: game.ConnectServerRequest.region: "MARS" is not a value of game.Region/,
    );
    expect((await client.connectServer(connectArgs)).sessionToken).toBe('token-ada');
  });

  it('answers a method the server does not know, or does not implement, with NoSuchMethodError', async () => {
    const { url } = await startLobby();
    const newer = protobuf.parse(`syntax = "proto3"; package game;
      message LeaveRequest { string session_token = 1; } message LeaveReply { bool ok = 1; }
      service GameService { rpc leave_server (LeaveRequest) returns (LeaveReply); }`).root;
    const client = protoClient<{ leaveServer(request: { sessionToken: string }): Promise<{ ok: boolean }> }>(loadProtoService(newer, 'game.GameService'), url, { timeout: 5_000 });
    clients.push(client);
    const unknown = await client.leaveServer({ sessionToken: 't' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(NoSuchMethodError);
    expect((unknown as Error).message).toMatch(/Endpoint does not support RPC method leave_server in namespace 'game.GameService'/);

    const partial = await createGameServiceServer('tcp://127.0.0.1:0', { connectServer: () => ({ serverAddress: 'a', sessionToken: 'b', motd: '', expiresAtMs: '0' }) } as never).start();
    servers.push(partial);
    const partialClient = lobbyClient(partial.address as string);
    expect((await partialClient.connectServer(connectArgs)).serverAddress).toBe('a');
    await expect(partialClient.ping({ payload: new Uint8Array(0), sentAtMs: '0' })).rejects.toBeInstanceOf(NoSuchMethodError);
  });

  it('sends casts as protobuf too (one-way: the implementation runs, nobody waits)', async () => {
    let seen!: (request: PingRequest) => void;
    const arrived = new Promise<PingRequest>((resolve) => (seen = resolve));
    const lobby = new (class extends TestLobby {
      override ping(request: PingRequest): PingReply {
        seen(request);
        return super.ping(request);
      }
    })();
    const { url } = await startLobby(lobby);
    await lobbyClient(url).rpc.cast('ping', { payload: Buffer.from('one way'), sentAtMs: '7' } as never);
    expect(await arrived).toEqual({ payload: Buffer.from('one way'), sentAtMs: '7' });
  });

  it('serves JSON callers too (celeriac rpc call), their arguments checked against the request type', async () => {
    const { url } = await startLobby();
    const json = createTcpDriver(url, {});
    try {
      const address = { topic: '' };
      const ok = await json.call(address, { method: 'connect_server', namespace: 'game.GameService', args: { playerName: 'js', region: 'US' } }, { timeout: 5_000 });
      expect(ok).toEqual({ ok: true, result: { serverAddress: 'us-1:7777', sessionToken: 'token-js', motd: 'hello anonymous', expiresAtMs: '9223372036854775807' } });
      const bad = await json.call(address, { method: 'connect_server', namespace: 'game.GameService', args: { playerName: 7 } }, { timeout: 5_000 });
      expect(bad).toMatchObject({ ok: false, error: { type: 'TypeError', message: 'bad arguments for game.GameService.connect_server: game.ConnectServerRequest: playerName: string expected' } });
    } finally {
      await json.close();
    }
  });
});

describe('generated stubs over tls://', () => {
  let dir: TempDir;
  let pki: TestPki;
  beforeAll(() => {
    dir = tempDir('celeriac-proto-tls-');
    pki = makeTestPki(dir.path);
  });
  afterAll(() => dir.remove());

  it("calls through an app's rpc over TLS with a shared secret; the app closes both ends", async () => {
    const app = new Celeriac('proto-tls');
    try {
      const server = await createGameServiceServer('tls://127.0.0.1:0', new TestLobby(), { app, driver: { tls: { key: pki.serverKey, cert: pki.serverCert }, secret: 's3cret' } }).start();
      expect(server.address).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
      const client = createGameServiceClient(server.address as string, { app, timeout: 5_000, context: { user: 'tls' }, driver: { tls: { ca: pki.ca }, secret: 's3cret' } });
      expect(await client.connectServer(connectArgs)).toMatchObject({ motd: 'hello tls' });
      const stranger = createGameServiceClient(server.address as string, { timeout: 5_000, driver: { tls: { ca: pki.ca }, secret: 'wrong' } });
      await expect(stranger.connectServer(connectArgs)).rejects.toThrow(/shared secrets differ/);
      await stranger.close();
    } finally {
      await app.close();
    }
  });
});

describe('hostile protobuf bodies', () => {
  it('answers a body that is not protobuf with an error, ends a cast sender, while another client is served', async () => {
    const { lobby, url } = await startLobby();
    const client = lobbyClient(url);
    const slow = client.connectServer({ ...connectArgs, playerName: 'slow' });
    const Request = protobuf.parse('syntax="proto3"; message R { string method = 1; bytes args = 2; string namespace = 3; }').root.lookupType('R');
    const bodies = [
      Buffer.from('{"method": "connect_server", "args": {}}'), // JSON under the protobuf codec id
      Buffer.from(Request.encode({ method: 'connect_server', namespace: 'game.GameService', args: Buffer.from([0x0a, 0xff, 0xff, 0xff]) }).finish()), // arguments cut short
      randomBytes(512),
    ];
    const codec = protobufCodec(loadProtoService(GAME_PROTO, 'game.GameService'));
    for (const body of bodies) {
      // The frame is sound, its body is not: that call is answered with an error (google.rpc.Status), the
      // connection stays open for the next call.
      const peer = rawPeer(url);
      peer.socket.write(encodeFrame(FrameType.REQUEST, 1, CodecId.PROTOBUF, body));
      await until(() => peer.frames.some((f) => f.type === FrameType.ERROR));
      const error = peer.frames.find((f) => f.type === FrameType.ERROR) as Frame;
      expect(error.id).toBe(1);
      expect(codec.decode(error.body, 'error')).toMatchObject({ type: 'InvalidRequest', message: expect.stringMatching(/request body is not valid protobuf/) });
      expect(peer.socket.destroyed).toBe(false);
      peer.socket.destroy();
    }
    // A cast with such a body has no answer to carry the error: that connection ends, with the reason.
    const caster = rawPeer(url);
    caster.socket.write(encodeFrame(FrameType.CAST, 2, CodecId.PROTOBUF, randomBytes(64)));
    const last = (await caster.closed).at(-1) as Frame;
    expect(last.type).toBe(FrameType.GOAWAY);
    expect(JSON.parse(last.body.toString())).toMatchObject({ code: 'E_RPC_FRAME', message: expect.stringMatching(/request body is not valid protobuf/) });
    // The other client's call was running all along; it and new calls are answered
    lobby.release();
    expect((await slow).sessionToken).toBe('token-slow');
    expect((await client.ping({ payload: Buffer.from('still here'), sentAtMs: '1' })).serverTimeMs).toBe('2');
  });
});

describe('the wire', () => {
  let proxy: Server | undefined;
  const sockets = new Set<Socket>();
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  });

  it('carries protobuf, not JSON: captured frames decode with protobufjs and schemas written apart', async () => {
    const { url } = await startLobby();
    const up = new FrameReader();
    const down = new FrameReader();
    const sent: Frame[] = [];
    const received: Frame[] = [];
    proxy = createServer((inbound) => {
      const outbound = connect(Number(new URL(url).port), '127.0.0.1');
      sockets.add(inbound).add(outbound);
      inbound.on('data', (chunk) => (sent.push(...up.push(chunk)), outbound.write(chunk)));
      outbound.on('data', (chunk) => (received.push(...down.push(chunk)), inbound.write(chunk)));
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => (proxy as Server).listen(0, '127.0.0.1', resolve));
    const port = ((proxy as Server).address() as { port: number }).port;
    const client = lobbyClient(`tcp://127.0.0.1:${port}`);
    const reply = await client.connectServer(connectArgs);
    await client.connectServer({ ...connectArgs, clientVersion: '0.1' }).catch(() => undefined);

    const schemas = protobuf.parse(`syntax = "proto3";
      message Request { string method = 1; bytes args = 2; string namespace = 3; string version = 4; string context = 5; }
      message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
      message Any { string type_url = 1; bytes value = 2; }`, { keepCase: true }).root;
    const game = new protobuf.Root().loadSync(GAME_PROTO);
    const requests = sent.filter((f) => f.type === FrameType.REQUEST);
    expect(requests.map((f) => f.codec)).toEqual([CodecId.PROTOBUF, CodecId.PROTOBUF]);
    expect(requests[0]?.body[0]).not.toBe('{'.charCodeAt(0));
    const envelope = schemas.lookupType('Request').toObject(schemas.lookupType('Request').decode((requests[0] as Frame).body)) as { method: string; namespace: string; args: Uint8Array };
    expect(envelope).toMatchObject({ method: 'connect_server', namespace: 'game.GameService' });
    const ConnectServerRequest = game.lookupType('game.ConnectServerRequest');
    expect(ConnectServerRequest.toObject(ConnectServerRequest.decode(envelope.args), { enums: String })).toEqual(connectArgs);

    const answer = received.find((f) => f.type === FrameType.REPLY) as Frame;
    expect(answer.codec).toBe(CodecId.PROTOBUF);
    const ConnectServerReply = game.lookupType('game.ConnectServerReply');
    expect(ConnectServerReply.toObject(ConnectServerReply.decode(answer.body), { longs: String })).toEqual(reply);

    const error = received.find((f) => f.type === FrameType.ERROR) as Frame;
    const status = schemas.lookupType('Status').toObject(schemas.lookupType('Status').decode(error.body)) as { code: number; message: string; details: { type_url: string }[] };
    expect(status).toMatchObject({ code: 2, message: 'client 0.1 is too old: update to 1.2.0', details: [{ type_url: 'type.googleapis.com/celeriac.rpc.RemoteErrorInfo' }] });
  });
});
