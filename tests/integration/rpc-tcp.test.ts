/**
 * The direct RPC driver (tcp://, tls://) end to end over loopback, servers made of plain RpcHandler functions:
 * calls in flight with replies out of order, casts, timeouts, heartbeats, reconnect after a restart, TLS and
 * client certificates, the shared secret, hostile peers, and closing with calls running.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FrameError, NoSuchMethodError, RpcAuthError, RpcConnectionError, RpcTimeoutError } from '../../src/errors.js';
import { RpcClient } from '../../src/rpc/client.js';
import { RpcServer } from '../../src/rpc/server.js';
import { CodecId, FrameType, encodeFrame, type Frame } from '../../src/rpc/framing.js';
import { createTcpDriver, type BodyCodec, type TcpDriverOptions } from '../../src/rpc/tcp/index.js';
import type { ListenOptions, RpcDriver, RpcHandler, RpcListener, RpcOutcome, RpcRequest } from '../../src/rpc/types.js';
import { spawnProcess, type Spawned } from '../helpers/processes.js';
import { rawPeer } from '../helpers/rpc-peer.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';
import { makeTestPki, type TestPki } from '../helpers/tls-certs.js';

const ADDR = { topic: 'tcp-test' };
const ok = (result: unknown): RpcOutcome => ({ ok: true, result });
const req = (method: string, ...args: unknown[]): RpcRequest => ({ method, args });

const math: RpcHandler = async (request) => {
  const args = request.args as number[];
  if (request.method === 'add') return ok((args[0] as number) + (args[1] as number));
  if (request.method === 'echo') return ok(args[0]);
  if (request.method === 'fail') return { ok: false, error: { type: 'ValueError', message: 'bad value', module: 'builtins' } };
  if (request.method === 'throw') throw new TypeError('handler blew up');
  if (request.method === 'nothing') return ok(undefined);
  return { ok: false, error: { type: 'NoSuchMethod', message: `no method ${request.method}` } };
};

const drivers: RpcDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
});

function driver(url: string, options: TcpDriverOptions = {}): RpcDriver {
  const d = createTcpDriver(url, options);
  drivers.push(d);
  return d;
}

async function serve(handler: RpcHandler, options: TcpDriverOptions = {}, listen: ListenOptions = {}, scheme = 'tcp'): Promise<RpcListener> {
  return driver(`${scheme}://127.0.0.1:0`, options).listen(ADDR, handler, listen);
}

const goAway = (frames: Frame[]): { code: string; message: string } => {
  const last = frames.at(-1);
  expect(last?.type).toBe(FrameType.GOAWAY);
  return JSON.parse((last as Frame).body.toString()) as { code: string; message: string };
};

describe('tcp driver: calls and casts', () => {
  it('runs many calls in flight on one connection, replies out of order', async () => {
    const n = 200;
    const held: (() => void)[] = [];
    const listener = await serve(async (request) => {
      const i = (request.args as number[])[0] as number;
      await new Promise<void>((resolve) => {
        held.push(resolve);
        // Once every call has arrived, answer them last to first.
        if (held.length === n) setImmediate(() => held.reverse().forEach((release) => release()));
      });
      return ok(i * 2);
    });
    const client = driver(listener.address as string);
    const order: number[] = [];
    const results = await Promise.all(
      [...Array(n).keys()].map(async (i) => {
        const outcome = await client.call(ADDR, req('double', i), { timeout: 10_000 });
        order.push(i);
        return outcome;
      }),
    );
    expect(results).toEqual([...Array(n).keys()].map((i) => ok(i * 2)));
    expect(order).toEqual([...Array(n).keys()].reverse());
  });

  it('returns remote errors as outcomes, including a handler that throws', async () => {
    const client = driver((await serve(math)).address as string);
    expect(await client.call(ADDR, req('add', 2, 40), { timeout: 5_000 })).toEqual(ok(42));
    expect(await client.call(ADDR, req('fail'), { timeout: 5_000 })).toEqual({
      ok: false,
      error: { type: 'ValueError', message: 'bad value', module: 'builtins' },
    });
    const thrown = await client.call(ADDR, req('throw'), { timeout: 5_000 });
    expect(thrown).toMatchObject({ ok: false, error: { type: 'TypeError', message: 'handler blew up' } });
    expect(await client.call(ADDR, req('nothing'), { timeout: 5_000 })).toEqual({ ok: true, result: undefined });
  });

  it('carries namespace, version, context and keyword args; msgpack bodies; a 1 MB body', async () => {
    const seen: RpcRequest[] = [];
    const listener = await serve(async (request) => (seen.push(request), ok(request.args)));
    const client = driver(listener.address as string, { codec: 'msgpack' });
    const request: RpcRequest = { method: 'm', args: { x: 1, b: [true, null] }, namespace: 'ns', version: '1.2', context: { user: 'u' } };
    expect(await client.call(ADDR, request, { timeout: 5_000 })).toEqual(ok(request.args));
    expect(seen[0]).toEqual(request);
    const big = 'x'.repeat(1 << 20);
    expect(await client.call(ADDR, req('echo', big), { timeout: 5_000 })).toEqual(ok([big]));
  });

  it('sends casts without a reply, one-way', async () => {
    const casts: [RpcRequest, boolean][] = [];
    let arrived: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (arrived = resolve));
    const listener = await serve(async (request, info) => {
      casts.push([request, info.oneWay]);
      if (casts.length === 3) arrived();
      return { ok: false, error: { type: 'Ignored', message: 'nobody hears this' } };
    });
    const client = driver(listener.address as string);
    await Promise.all([1, 2, 3].map((i) => client.cast(ADDR, req('note', i))));
    await all;
    expect(casts.map(([r, oneWay]) => [r.args, oneWay])).toEqual([[[1], true], [[2], true], [[3], true]]);
    // The connection is still fine for calls after the casts.
    await expect(client.call(ADDR, req('x'), { timeout: 5_000 })).resolves.toMatchObject({ ok: false });
    await expect(client.cast({ ...ADDR, fanout: true }, req('x'))).rejects.toThrow(/fanout cast needs a broker/);
  });

  it('carries bodies of a registered codec (the room for protobuf stubs), refused where it is not served', async () => {
    // A stand-in for protobuf under codec id 3: JSON with the method it answers, to show what the codec is given.
    const stub: BodyCodec = {
      id: CodecId.PROTOBUF,
      name: 'protobuf',
      encode: (value, kind, method) => Buffer.from(JSON.stringify(kind === 'request' ? value : { method, value })),
      decode: (body, kind) => {
        const parsed = JSON.parse(body.toString()) as { method?: string; value?: unknown };
        return kind === 'request' ? parsed : `${String(parsed.method)}=${JSON.stringify(parsed.value)}`;
      },
    };
    const listener = await serve(math, { bodyCodecs: [stub] });
    const client = driver(listener.address as string, { codec: 'protobuf', bodyCodecs: [stub] });
    expect(await client.call(ADDR, req('add', 2, 3), { timeout: 5_000 })).toEqual(ok('add=5'));
    const plain = await serve(math);
    const refused = await driver(plain.address as string, { codec: 'protobuf', bodyCodecs: [stub] })
      .call(ADDR, req('add', 2, 3), { timeout: 5_000 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FrameError);
    expect((refused as Error).message).toMatch(/protobuf codec, which this side does not serve/);
  });

  it('says why it cannot listen on a port in use', async () => {
    const listener = await serve(math);
    await expect(driver(listener.address as string).listen(ADDR, math)).rejects.toThrow(/cannot listen on tcp:\/\/127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });

  it('refuses a body over maxMessageSize on the sending side', async () => {
    const client = driver((await serve(math)).address as string, { maxMessageSize: 4096 });
    await expect(client.call(ADDR, req('echo', 'y'.repeat(5000)), { timeout: 5_000 })).rejects.toThrow(FrameError);
    expect(await client.call(ADDR, req('add', 1, 1), { timeout: 5_000 })).toEqual(ok(2));
  });
});

describe('tcp driver: timeouts, heartbeats, reconnects', () => {
  it('times out a call that gets no answer, naming the address; abort works too', async () => {
    const listener = await serve(() => new Promise<RpcOutcome>(() => undefined), { drainTimeout: 100 });
    const client = driver(listener.address as string);
    const err = await client.call(ADDR, req('hang'), { timeout: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcTimeoutError);
    expect((err as Error).message).toContain(`no reply from ${listener.address} to 'hang' within 100 ms`);
    const abort = new AbortController();
    const aborted = client.call(ADDR, req('hang'), { timeout: 10_000, signal: abort.signal });
    abort.abort(new Error('user gave up'));
    await expect(aborted).rejects.toThrow('user gave up');
    // Calls that never answer hold close() for drainTimeout at most; their callers then see the close.
    const stuck = client.call(ADDR, req('hang'), { timeout: 10_000 }).catch((e: unknown) => e);
    await listener.close();
    expect(await stuck).toBeInstanceOf(RpcConnectionError);
  });

  it('restarts the timeout on each server heartbeat of a long call', async () => {
    const listener = await serve(async () => {
      await new Promise((resolve) => setTimeout(resolve, 600));
      return ok('done');
    }, {}, { heartbeatInterval: 30 });
    const client = driver(listener.address as string);
    // 600 ms of work against a 200 ms timeout: only the heartbeats keep the call alive.
    expect(await client.call(ADDR, req('long'), { timeout: 200 })).toEqual(ok('done'));
  });

  it('fails calls in flight when the server dies, then reconnects when it is back on the same port', async () => {
    const peerScript = fileURLToPath(new URL('./helpers/rpc-tcp-peer.ts', import.meta.url));
    const start = (url: string): Spawned => spawnProcess(process.execPath, ['--import', 'tsx', peerScript, url], process.env, process.cwd());
    let peer = start('tcp://127.0.0.1:0');
    try {
      await peer.waitFor('"listening"');
      const address = (JSON.parse(peer.output().trim()) as { address: string }).address;
      const client = driver(address, { reconnectDelay: 20, reconnectDelayMax: 100 });
      expect(await client.call(ADDR, req('add', 1, 2), { timeout: 5_000 })).toEqual(ok(3));
      const inFlight = client.call(ADDR, req('sleep', 60_000), { timeout: 30_000 }).catch((e: unknown) => e);
      peer.child.kill('SIGKILL');
      await peer.exited;
      const err = await inFlight;
      expect(err).toBeInstanceOf(RpcConnectionError);
      expect((err as Error).message).toMatch(/closed while 'sleep' waited for its reply/);
      // A call made while the server is down waits for the reconnect, up to its timeout.
      const waiting = client.call(ADDR, req('add', 20, 22), { timeout: 20_000 });
      peer = start(address);
      await peer.waitFor('"listening"');
      expect(await waiting).toEqual(ok(42));
    } finally {
      peer.child.kill('SIGKILL');
      await peer.exited;
    }
  });

  it('fails a call with RpcConnectionError when nothing listens within its timeout', async () => {
    const listener = await serve(math);
    const address = listener.address as string;
    await listener.close();
    const err = await driver(address, { reconnectDelay: 10 }).call(ADDR, req('add', 1, 2), { timeout: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcConnectionError);
    expect((err as Error).message).toMatch(new RegExp(`could not reach ${address} within 300 ms.*ECONNREFUSED`));
  });

  it('close lets running calls answer, refuses new connections, then closes', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    const listener = await serve(async (request, info) => {
      if (request.method !== 'slow') return math(request, info);
      started();
      await gate;
      return ok('finished');
    });
    const client = driver(listener.address as string, { reconnectDelay: 10 });
    const slow = client.call(ADDR, req('slow'), { timeout: 10_000 });
    await running;
    let closed = false;
    const closing = listener.close().then(() => (closed = true));
    // New connections are refused while the running call finishes.
    const late = await driver(listener.address as string, { reconnectDelay: 10 })
      .call(ADDR, req('add', 1, 1), { timeout: 200 })
      .catch((e: unknown) => e);
    expect(late).toBeInstanceOf(RpcConnectionError);
    expect(closed).toBe(false);
    release();
    expect(await slow).toEqual(ok('finished'));
    await closing;
    expect(closed).toBe(true);
  });
  it('moves new calls to the next server when one shuts down on the same port', async () => {
    const first = await serve(math);
    const url = first.address as string;
    const client = driver(url, { reconnectDelay: 10, reconnectDelayMax: 50 });
    expect(await client.call(ADDR, req('add', 1, 1), { timeout: 5_000 })).toEqual(ok(2));
    await first.close();
    const waiting = client.call(ADDR, req('add', 2, 2), { timeout: 10_000 });
    const second = await driver(url).listen(ADDR, math);
    expect(second.address).toBe(url);
    expect(await waiting).toEqual(ok(4));
  });

  it('stops reading a peer that sends without reading its replies, and serves the others', async () => {
    let echoed = 0;
    const listener = await serve(async (request, info) => {
      if (request.method === 'echo') echoed++;
      return math(request, info);
    });
    const hog = rawPeer(listener.address as string);
    const body = JSON.stringify(req('echo', 'z'.repeat(1000)));
    const frames: Buffer[] = [];
    for (let i = 1; i <= 20_000; i++) frames.push(encodeFrame(FrameType.REQUEST, i, CodecId.JSON, body));
    hog.socket.pause(); // never reads: its replies pile up on the server's side
    hog.socket.write(Buffer.concat(frames));
    const good = driver(listener.address as string);
    const roundTrips = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) expect(await good.call(ADDR, req('add', i, 1), { timeout: 5_000 })).toEqual(ok(i + 1));
    };
    await roundTrips(50);
    const seen = echoed;
    // Each round trip is a turn of the server's loop that would read more of the hog, were it reading.
    await roundTrips(50);
    expect(echoed).toBe(seen);
    expect(seen).toBeLessThan(20_000);
    hog.socket.destroy();
  });
});

describe('tcp driver: shared secret', () => {
  it('serves a client with the same secret, and refuses every other', async () => {
    const listener = await serve(math, { secret: 'correct horse' });
    const url = listener.address as string;
    expect(await driver(url, { secret: 'correct horse' }).call(ADDR, req('add', 1, 2), { timeout: 5_000 })).toEqual(ok(3));
    const wrong = await driver(url, { secret: 'battery staple' }).call(ADDR, req('add', 1, 2), { timeout: 5_000 }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(RpcAuthError);
    expect((wrong as Error).message).toMatch(/secrets differ/);
    const none = await driver(url).call(ADDR, req('add', 1, 2), { timeout: 5_000 }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(RpcAuthError);
    expect((none as Error).message).toMatch(/requires a shared secret and this client has none: the secrets differ/);
    // A server without a secret cannot prove one: the client refuses it.
    const open = await serve(math);
    const noProof = await driver(open.address as string, { secret: 'correct horse' }).call(ADDR, req('add', 1, 2), { timeout: 5_000 }).catch((e: unknown) => e);
    expect(noProof).toBeInstanceOf(RpcAuthError);
    expect((noProof as Error).message).toMatch(/has no shared secret and this client has one: the secrets differ/);
  });

  it('refuses a request before the handshake, and a peer that never authenticates', async () => {
    const listener = await serve(math, { secret: 'k', handshakeTimeout: 200 });
    const eager = rawPeer(listener.address as string);
    eager.socket.write(encodeFrame(FrameType.REQUEST, 1, CodecId.JSON, JSON.stringify(req('add', 1, 2))));
    const refused = goAway(await eager.closed);
    expect(refused).toEqual({ code: 'E_RPC_AUTH', message: expect.stringMatching(/REQUEST before the handshake/) });
    const silent = rawPeer(listener.address as string);
    expect(goAway(await silent.closed).message).toMatch(/no handshake within 200 ms/);
    const forged = rawPeer(listener.address as string);
    forged.socket.write(encodeFrame(FrameType.AUTH, 0, CodecId.JSON, JSON.stringify({ nonce: 'AAAA', proof: 'AAAA' })));
    expect(goAway(await forged.closed).message).toMatch(/shared secrets differ/);
    expect(await driver(listener.address as string, { secret: 'k' }).call(ADDR, req('add', 2, 2), { timeout: 5_000 })).toEqual(ok(4));
  });
});

describe('tcp driver: TLS', () => {
  let dir: TempDir;
  let pki: TestPki;
  beforeAll(() => {
    dir = tempDir('celeriac-tls-');
    pki = makeTestPki(dir.path);
  });
  afterAll(() => dir.remove());

  it('calls over tls:// when the client trusts the CA, and refuses an unknown server certificate', async () => {
    const listener = await serve(math, { tls: { key: pki.serverKey, cert: pki.serverCert } }, {}, 'tls');
    expect(listener.address).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    expect(await driver(listener.address as string, { tls: { ca: pki.ca } }).call(ADDR, req('add', 3, 4), { timeout: 5_000 })).toEqual(ok(7));
    const untrusted = await driver(listener.address as string).call(ADDR, req('add', 3, 4), { timeout: 5_000 }).catch((e: unknown) => e);
    expect(untrusted).toBeInstanceOf(RpcAuthError);
    expect((untrusted as Error).message).toMatch(/TLS with .* failed/);
  });

  it('says so when one side speaks TLS and the other does not', async () => {
    const plain = await serve(math);
    const tlsToPlain = await driver(`tls://127.0.0.1:${new URL(plain.address as string).port}`, { tls: { ca: pki.ca } })
      .call(ADDR, req('add', 1, 1), { timeout: 5_000 })
      .catch((e: unknown) => e);
    expect(tlsToPlain).toBeInstanceOf(FrameError);
    expect((tlsToPlain as Error).message).toMatch(/does not speak TLS/);
    const secure = await serve(math, { tls: { key: pki.serverKey, cert: pki.serverCert } }, {}, 'tls');
    const plainToTls = await driver(`tcp://127.0.0.1:${new URL(secure.address as string).port}`, { handshakeTimeout: 200 })
      .call(ADDR, req('add', 1, 1), { timeout: 500 })
      .catch((e: unknown) => e);
    expect(plainToTls).toBeInstanceOf(RpcConnectionError);
    expect((plainToTls as Error).message).toMatch(/no greeting from .* within 200 ms.*a TLS server needs tls:\/\//);
  });

  it('asks for client certificates: the CA-signed one is accepted, none or a rogue one refused', async () => {
    const listener = await serve(math, { tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true } }, {}, 'tls');
    const url = listener.address as string;
    const good = driver(url, { tls: { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert } });
    expect(await good.call(ADDR, req('add', 5, 6), { timeout: 5_000 })).toEqual(ok(11));
    for (const tls of [{ ca: pki.ca }, { ca: pki.ca, key: pki.rogueKey, cert: pki.rogueCert }]) {
      const err = await driver(url, { tls, reconnectDelay: 10 }).call(ADDR, req('add', 5, 6), { timeout: 2_000 }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/certificate/);
      expect(err).toBeInstanceOf(RpcAuthError); // refused at once, not retried until the timeout
    }
    expect(await good.call(ADDR, req('add', 1, 1), { timeout: 5_000 })).toEqual(ok(2));
  });
});

describe('tcp driver: hostile peers', () => {
  it('refuses each bad peer alone while another client keeps getting answers', async () => {
    const listener = await serve(math, { maxMessageSize: 64 * 1024, frameTimeout: 200 });
    const url = listener.address as string;
    const good = driver(url);
    let answered = 0;
    let failed = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const outcome = await good.call(ADDR, req('add', answered, 1), { timeout: 5_000 }).catch(() => undefined);
        if (outcome?.ok) answered++;
        else failed++;
      }
    })();

    const hostile = async (bytes: Buffer, expected: RegExp, code = 'E_RPC_FRAME'): Promise<void> => {
      const peer = rawPeer(url);
      peer.socket.write(bytes);
      const frames = await peer.closed;
      expect(frames[0]?.type).toBe(FrameType.HELLO);
      const away = goAway(frames);
      expect(away.code).toBe(code);
      expect(away.message).toMatch(expected);
      const before = answered;
      await expect(good.call(ADDR, req('add', 1, 1), { timeout: 5_000 })).resolves.toEqual(ok(2));
      expect(answered).toBeGreaterThanOrEqual(before);
    };

    try {
      const valid = encodeFrame(FrameType.REQUEST, 1, CodecId.JSON, JSON.stringify(req('add', 1, 2)));
      const lying = Buffer.from(valid);
      lying.writeUInt32BE(5, 10);
      await hostile(lying, /does not end where its length \(5 bytes\) says/);
      const huge = Buffer.from(valid.subarray(0, 14));
      huge.writeUInt32BE(1 << 30, 10);
      await hostile(huge, /announces 1073741824 bytes, more than the limit of 65536/);
      // A sound frame whose body cannot be read: that call gets an error answer, the connection stays open.
      const unreadable = async (body: string, expected: RegExp): Promise<void> => {
        const peer = rawPeer(url);
        peer.socket.write(encodeFrame(FrameType.REQUEST, 7, CodecId.JSON, body));
        peer.socket.write(valid);
        await until(() => peer.frames.filter((f) => f.type === FrameType.ERROR || f.type === FrameType.REPLY).length === 2);
        const error = peer.frames.find((f) => f.type === FrameType.ERROR) as Frame;
        expect(error.id).toBe(7);
        expect(JSON.parse(error.body.toString())).toMatchObject({ type: 'InvalidRequest', message: expect.stringMatching(expected) });
        expect(JSON.parse((peer.frames.find((f) => f.type === FrameType.REPLY) as Frame).body.toString())).toBe(3);
        peer.socket.destroy();
      };
      await unreadable('{"method": "add", "args": [1,', /request body is not valid json/);
      await unreadable('"just a string"', /must be an object with 'method'/);
      // A cast has no answer to carry the error: the connection ends with the reason.
      await hostile(encodeFrame(FrameType.CAST, 2, CodecId.JSON, '{"method": "add", "args": [1,'), /request body is not valid json/);
      const unknownType = Buffer.from(valid);
      unknownType[3] = 42;
      await hostile(unknownType, /unknown frame type 42/);
      await hostile(encodeFrame(FrameType.REPLY, 4, CodecId.JSON, '1'), /unexpected REPLY frame from a client/);
      await hostile(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /not a celeriac frame.*HTTP/);
      // Slow loris: a frame that never completes.
      await hostile(valid.subarray(0, 20), /stayed incomplete for more than 200 ms \(20 of \d+ bytes\)/);
    } finally {
      stop = true;
      await loop;
    }
    expect(failed).toBe(0);
    expect(answered).toBeGreaterThan(0);
  });
});

describe('tcp driver: under RpcClient and RpcServer', () => {
  it('serves an endpoint, rebuilds remote errors as typed errors, and lists its methods', async () => {
    class Calculator {
      /** Adds two numbers. */
      add({ x, y }: { x: number; y: number }): number {
        return x + y;
      }
      divide({ x, y }: { x: number; y: number }): number {
        if (y === 0) throw new RangeError('division by zero');
        return x / y;
      }
    }
    const serverDriver = driver('tcp://127.0.0.1:0');
    const server = await new RpcServer(async () => serverDriver, { topic: 'calc', server: 'h1' }, [new Calculator()]).start();
    const client = new RpcClient<Calculator>(async () => driver(server.address as string), { topic: 'calc', timeout: 5_000 });
    expect(await client.proxy.add({ x: 2, y: 40 })).toBe(42);
    await expect(client.proxy.divide({ x: 1, y: 0 })).rejects.toMatchObject({ remoteType: 'RangeError', message: expect.stringMatching(/division by zero/) });
    await expect(client.call('nope' as 'add', { x: 1, y: 1 })).rejects.toBeInstanceOf(NoSuchMethodError);
    expect((await client.describe()).map((m) => m.name)).toEqual(expect.arrayContaining(['add', 'divide']));
    await server.stop();
  });
});
