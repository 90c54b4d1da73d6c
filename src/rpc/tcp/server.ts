/**
 * The serving side of direct RPC: accepts connections, greets (and checks the shared secret), runs each
 * request through the RpcHandler, sends heartbeats for long calls, and refuses bad peers alone.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ConfigError, FrameError, RpcAuthError, RpcError } from '../../errors.js';
import { CodecId, FrameType, frameTypeName, type Frame } from '../framing.js';
import type { IncomingInfo, ListenOptions, RpcHandler, RpcListener, RpcOutcome, RpcRequest } from '../types.js';
import { jsonBody, toRequest } from './body.js';
import { NONCE_BYTES, PROTOCOL, nonceOf, proofMatches, proofOf, toProof } from './handshake.js';
import { boundUrl, type TcpSettings } from './options.js';
import { Wire } from './wire.js';

/** TCP keep-alive probes find peers that vanished without a close (a pulled cable, a dead host). */
const KEEPALIVE_MS = 30_000;

interface Conn {
  wire: Wire;
  /** hello: waiting for AUTH; ready: serving; draining: the listener closes; refused: a GOAWAY was sent. */
  state: 'hello' | 'ready' | 'draining' | 'refused' | 'closed';
  /** Running calls by request id: when each last told its caller it still runs. */
  running: Map<number, number>;
  info: IncomingInfo;
  castInfo: IncomingInfo;
  nonce: Buffer | undefined;
  openedAt: number;
  /** When the frame that is still incomplete began to arrive (0: none). */
  partialSince: number;
  /** Reading stopped: too many calls run on this connection, or its replies wait for the peer to read them. */
  paused: boolean;
}

/** Starts a listener on the settings' host and port. */
export async function listenTcp(s: TcpSettings, handler: RpcHandler, options: ListenOptions = {}): Promise<TcpListener> {
  // A listener's concurrency is per connection here: each caller has its own window of maxInFlight calls.
  const settings = options.concurrency !== undefined ? { ...s, maxInFlight: options.concurrency } : s;
  const listener = new TcpListener(settings, handler, options.heartbeatInterval ?? 0);
  await listener.start();
  return listener;
}

export class TcpListener implements RpcListener {
  address: string;
  private readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  private active = 0;
  private idle: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly s: TcpSettings,
    private readonly handler: RpcHandler,
    private readonly heartbeatInterval: number,
  ) {
    this.address = s.url;
    if (s.tls) {
      const { requestCert, rejectUnauthorized, servername: _client, ...context } = s.tls;
      if (!(context.key && context.cert) && !context.pfx) {
        throw new ConfigError(`a TLS listener on ${s.url} needs tls.key and tls.cert (or tls.pfx)`);
      }
      const verify = requestCert === true ? { requestCert: true, rejectUnauthorized: rejectUnauthorized ?? true } : {};
      this.server = tls.createServer({ ...context, ...verify }, (socket) => this.accept(socket));
    } else {
      this.server = net.createServer((socket) => this.accept(socket));
    }
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new RpcError(`cannot listen on ${this.s.url}: ${err.message}`, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(this.s.port, this.s.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const bound = this.server.address() as net.AddressInfo;
    this.address = boundUrl(this.s, bound.address, bound.port);
    const sweepEvery = Math.max(5, Math.min(this.s.frameTimeout, this.s.handshakeTimeout) / 4);
    this.timers.push(setInterval(() => this.sweep(), sweepEvery).unref());
    if (this.heartbeatInterval > 0) {
      this.timers.push(setInterval(() => this.beat(), Math.max(1, this.heartbeatInterval / 2)).unref());
    }
  }

  /** Stops accepting, lets the calls already received answer, then closes every connection. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.conns) {
      if (conn.state === 'ready') {
        conn.state = 'draining';
        conn.wire.goAway('closing', `the server at ${this.address} is shutting down: calls it received are answered, call again later`, false);
      } else if (conn.state === 'hello') this.refuse(conn, 'closing', 'the server is shutting down');
    }
    if (this.active > 0) {
      // Running calls answer, for drainTimeout at most; their callers then learn it from the closed connection.
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        timer = setTimeout(resolve, this.s.drainTimeout);
      });
      clearTimeout(timer);
    }
    for (const conn of this.conns) {
      conn.state = 'refused';
      conn.wire.end();
    }
    for (const t of this.timers) clearInterval(t);
    await stopped;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    if (this.closing) {
      new Wire(socket, this.s.maxBody).goAway('closing', `the server at ${this.address} is shutting down`, true);
      return;
    }
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const auth = this.s.secret !== undefined;
    const conn: Conn = {
      wire: new Wire(socket, this.s.maxBody),
      state: auth ? 'hello' : 'ready',
      running: new Map(),
      info: { oneWay: false, peer },
      castInfo: { oneWay: true, peer },
      nonce: auth ? randomBytes(NONCE_BYTES) : undefined,
      openedAt: Date.now(),
      partialSince: 0,
      paused: false,
    };
    this.conns.add(conn);
    const hello = { protocol: PROTOCOL, auth, ...(conn.nonce ? { nonce: conn.nonce.toString('base64') } : {}) };
    conn.wire.send(FrameType.HELLO, 0, CodecId.JSON, JSON.stringify(hello));
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('drain', () => this.flow(conn));
    socket.on('error', () => undefined); // 'close' follows; one peer's trouble is its own
    socket.on('close', () => {
      conn.state = 'closed';
      this.conns.delete(conn);
    });
  }

  private onData(conn: Conn, chunk: Buffer): void {
    if (conn.state === 'refused' || conn.state === 'closed') return;
    try {
      const frames = conn.wire.reader.push(chunk);
      for (let i = 0; i < frames.length; i++) this.onFrame(conn, frames[i] as Frame);
      const pending = conn.wire.reader.pending;
      if (pending === 0) conn.partialSince = 0;
      else if (frames.length > 0 || conn.partialSince === 0) conn.partialSince = Date.now();
      if (conn.running.size >= this.s.maxInFlight) this.flow(conn);
    } catch (err) {
      const e = err instanceof RpcError ? err : new FrameError((err as Error).message);
      this.refuse(conn, e.code, e.message);
    }
  }

  private onFrame(conn: Conn, frame: Frame): void {
    const type = frame.type;
    if (type === FrameType.REQUEST || type === FrameType.CAST) {
      if (conn.state === 'hello') {
        throw new RpcAuthError(`a ${frameTypeName(type)} before the handshake: this server requires a shared secret (options.secret)`);
      }
      if (conn.state !== 'ready') return; // draining: the caller learns from the close
      let request: RpcRequest;
      try {
        request = toRequest(this.s.codecs.decode(frame.codec, frame.body, 'request'));
      } catch (err) {
        // The frame itself was sound: a call whose body cannot be read gets an error answer of its own (a cast,
        // which has no answer, or a codec this side cannot answer in, ends the connection with the reason).
        if (type === FrameType.CAST || !this.s.codecs.serves(frame.codec)) throw err;
        const message = `the request could not be read: ${(err as Error).message}`;
        conn.running.set(frame.id, Date.now());
        this.active++;
        this.answer(conn, frame.id, frame.codec, '', { ok: false, error: { type: 'InvalidRequest', module: 'celeriac', message, stack: null } });
        return;
      }
      if (type === FrameType.CAST) {
        this.active++;
        void this.run(request, conn.castInfo).then(() => this.done());
        return;
      }
      const id = frame.id;
      const codec = frame.codec;
      conn.running.set(id, Date.now());
      this.active++;
      void this.run(request, conn.info).then((outcome) => this.answer(conn, id, codec, request.method, outcome));
      return;
    }
    if (type === FrameType.AUTH) return this.onAuth(conn, frame);
    if (type === FrameType.GOAWAY) {
      conn.wire.end(); // the client leaves
      return;
    }
    throw new FrameError(`unexpected ${frameTypeName(type)} frame from a client (clients send AUTH, REQUEST, CAST, GOAWAY)`);
  }

  private onAuth(conn: Conn, frame: Frame): void {
    if (conn.state !== 'hello' || !this.s.secret || !conn.nonce) throw new FrameError('unexpected AUTH frame: the handshake is over or was not asked for');
    const proof = toProof(jsonBody.decode(frame.body, 'request'));
    const clientNonce = nonceOf(proof.nonce);
    if (!clientNonce || !proofMatches(proofOf(this.s.secret, 'client', conn.nonce, clientNonce), proof.proof)) {
      throw new RpcAuthError('the shared secrets differ: this server refused the handshake; give both ends the same options.secret');
    }
    const mine = proofOf(this.s.secret, 'server', conn.nonce, clientNonce).toString('base64');
    conn.wire.send(FrameType.WELCOME, 0, CodecId.JSON, JSON.stringify({ proof: mine }));
    conn.state = 'ready';
  }

  /** Runs the handler; a handler that throws still yields an outcome. */
  private run(request: Parameters<RpcHandler>[0], info: IncomingInfo): Promise<RpcOutcome> {
    try {
      return this.handler(request, info).catch(failure);
    } catch (err) {
      return Promise.resolve(failure(err));
    }
  }

  private answer(conn: Conn, id: number, codec: CodecId, method: string, outcome: RpcOutcome): void {
    conn.running.delete(id);
    if (conn.state === 'ready' || conn.state === 'draining') {
      this.reply(conn, id, codec, method, outcome);
      if (conn.paused || conn.wire.socket.writableNeedDrain) this.flow(conn);
    }
    this.done();
  }

  /**
   * Back-pressure: stops reading a connection while maxInFlight of its calls run or while its replies wait
   * for the peer to read them (a peer that sends without reading cannot fill this server's memory).
   */
  private flow(conn: Conn): void {
    const socket = conn.wire.socket;
    const blocked = conn.running.size >= this.s.maxInFlight || socket.writableNeedDrain;
    if (blocked && !conn.paused) {
      conn.paused = true;
      socket.pause();
    } else if (!blocked && conn.paused) {
      conn.paused = false;
      socket.resume();
    }
  }

  private reply(conn: Conn, id: number, codec: CodecId, method: string, outcome: RpcOutcome): void {
    try {
      const body = outcome.ok ? this.s.codecs.encode(codec, outcome.result, 'reply', method) : this.s.codecs.encode(codec, outcome.error, 'error', method);
      conn.wire.send(outcome.ok ? FrameType.REPLY : FrameType.ERROR, id, codec, body);
    } catch (err) {
      try {
        const error = { type: 'EncodeError', module: 'celeriac', message: `the answer of '${method}' could not be sent: ${(err as Error).message}` };
        conn.wire.send(FrameType.ERROR, id, codec, this.s.codecs.encode(codec, error, 'error', method));
      } catch (again) {
        this.refuse(conn, 'E_RPC_FRAME', `the answer of '${method}' could not be encoded: ${(again as Error).message}`);
      }
    }
  }

  private done(): void {
    this.active--;
    if (this.active === 0 && this.idle) this.idle();
  }

  private refuse(conn: Conn, code: string, message: string): void {
    conn.state = 'refused';
    conn.wire.goAway(code, message, true);
  }

  /** Closes connections stuck in the handshake or in the middle of a frame (slow loris). */
  private sweep(): void {
    const now = Date.now();
    for (const conn of this.conns) {
      if (conn.state === 'hello' && now - conn.openedAt > this.s.handshakeTimeout) {
        this.refuse(conn, 'E_RPC_AUTH', `no handshake within ${this.s.handshakeTimeout} ms: this server requires a shared secret`);
      } else if (conn.partialSince > 0 && !conn.paused && now - conn.partialSince > this.s.frameTimeout && conn.state !== 'refused') {
        const reader = conn.wire.reader;
        this.refuse(
          conn,
          'E_RPC_FRAME',
          `a frame stayed incomplete for more than ${this.s.frameTimeout} ms (${reader.pending} of ${reader.expected} bytes): the peer is too slow or lies about the length`,
        );
      }
    }
  }

  /** Tells the callers of long calls that their call still runs (they restart their timeout). */
  private beat(): void {
    const now = Date.now();
    for (const conn of this.conns) {
      if (conn.state !== 'ready' && conn.state !== 'draining') continue;
      for (const [id, last] of conn.running) {
        if (now - last < this.heartbeatInterval) continue;
        conn.running.set(id, now);
        conn.wire.send(FrameType.HEARTBEAT, id, CodecId.RAW);
      }
    }
  }
}

function failure(err: unknown): RpcOutcome {
  const e = err instanceof Error ? err : new Error(String(err));
  return { ok: false, error: { type: e.name, message: e.message, module: null, stack: e.stack ?? null } };
}
