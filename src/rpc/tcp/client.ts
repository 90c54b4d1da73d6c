/**
 * The calling side of direct RPC: one lazily opened connection, many calls in flight (replies in any
 * order, matched by request id), reconnect with back-off, per-call timeouts that server heartbeats restart.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { FrameError, RpcAuthError, RpcConnectionError, RpcError, RpcTimeoutError } from '../../errors.js';
import { backoffDelay } from '../../util/backoff.js';
import { Deadlines, type Deadline } from '../../util/deadlines.js';
import { CodecId, FrameType, frameTypeName, type Frame } from '../framing.js';
import type { DriverCallOptions, RpcOutcome, RpcRequest } from '../types.js';
import { jsonBody, toErrorInfo, toGoAway } from './body.js';
import { NONCE_BYTES, proofMatches, proofOf, toHello, toProof } from './handshake.js';
import type { TcpSettings } from './options.js';
import { Wire } from './wire.js';

interface Call {
  method: string;
  oneWay: boolean;
  body: Buffer | string;
  timeout: number;
  resolve: (outcome: RpcOutcome | undefined) => void;
  reject: (err: Error) => void;
  deadline: Deadline<Call> | undefined;
  conn: Conn | undefined;
  id: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Conn {
  wire: Wire;
  state: 'greeting' | 'auth' | 'ready' | 'draining' | 'closed';
  inflight: Map<number, Call>;
  clientNonce: Buffer | undefined;
  serverNonce: Buffer | undefined;
  failure: Error | undefined;
  timer: NodeJS.Timeout | undefined;
  /** TLS: the TLS handshake completed (a close before HELLO then means the server refused our certificate). */
  secured: boolean;
}

/** TLS and certificate failures that retrying will not fix. */
const TLS_REFUSAL = /CERT|SIGNATURE|ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED|HANDSHAKE_FAILURE)/;

export class TcpClient {
  private conn: Conn | undefined;
  private readonly waiting = new Set<Call>();
  private readonly deadlines = new Deadlines<Call>((call) => this.expire(call));
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private nextId = 1;
  private closed = false;

  constructor(private readonly s: TcpSettings) {}

  call(request: RpcRequest, options: DriverCallOptions): Promise<RpcOutcome> {
    return this.submit(request, false, options.timeout, options.signal) as Promise<RpcOutcome>;
  }

  async cast(request: RpcRequest): Promise<void> {
    await this.submit(request, true, this.s.connectTimeout, undefined);
  }

  /** Sends what is queued, rejects calls still waiting, and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const err = new RpcConnectionError(`the RPC driver for ${this.s.url} was closed while the call waited`);
    for (const call of this.waiting) this.settle(call, err);
    this.waiting.clear();
    const conn = this.conn;
    if (!conn || conn.state === 'closed') return;
    conn.failure = err;
    const closedEvent = new Promise<void>((resolve) => conn.wire.socket.once('close', () => resolve()));
    conn.wire.end();
    await closedEvent;
  }

  private submit(request: RpcRequest, oneWay: boolean, timeout: number, signal: AbortSignal | undefined): Promise<RpcOutcome | undefined> {
    if (this.closed) return Promise.reject(new RpcConnectionError(`the RPC driver for ${this.s.url} is closed: make a new one`));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    let body: Buffer | string;
    try {
      body = this.s.codec.encode(request, 'request');
    } catch (err) {
      return Promise.reject(new RpcError(`the arguments of '${request.method}' cannot be encoded as ${this.s.codec.name}: ${(err as Error).message}`, { cause: err }));
    }
    return new Promise((resolve, reject) => {
      const call: Call = { method: request.method, oneWay, body, timeout, resolve, reject, deadline: undefined, conn: undefined, id: 0, signal, onAbort: undefined };
      call.deadline = this.deadlines.add(call, timeout);
      if (signal) {
        call.onAbort = () => this.drop(call, signal.reason as Error);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      const conn = this.conn;
      if (conn !== undefined && conn.state === 'ready') this.send(conn, call);
      else {
        this.waiting.add(call);
        if (conn === undefined && this.retry === undefined) this.connect();
      }
    });
  }

  private send(conn: Conn, call: Call): void {
    const id = this.nextId;
    this.nextId = id === 0xffffffff ? 1 : id + 1;
    try {
      conn.wire.send(call.oneWay ? FrameType.CAST : FrameType.REQUEST, id, this.s.codec.id, call.body);
    } catch (err) {
      this.settle(call, err as Error);
      return;
    }
    if (call.oneWay) {
      this.settle(call, undefined);
      return;
    }
    call.id = id;
    call.conn = conn;
    conn.inflight.set(id, call);
  }

  private settle(call: Call, outcome: RpcOutcome | Error | undefined): void {
    if (call.deadline) this.deadlines.cancel(call.deadline);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    if (outcome instanceof Error) call.reject(outcome);
    else call.resolve(outcome);
  }

  /** Takes a call out of wherever it waits, and fails it. */
  private drop(call: Call, err: Error): void {
    if (call.conn) call.conn.inflight.delete(call.id);
    else this.waiting.delete(call);
    this.settle(call, err);
  }

  private expire(call: Call): void {
    call.deadline = undefined;
    const what = call.oneWay ? `the cast of '${call.method}'` : `'${call.method}'`;
    let err: Error;
    if (call.conn) {
      err = new RpcTimeoutError(
        `no reply from ${this.s.url} to ${what} within ${call.timeout} ms: the server may be overloaded or the method slow; ` +
          `raise the timeout, or let the server send heartbeats (heartbeatInterval)`,
      );
    } else if (this.lastError) {
      err = new RpcConnectionError(
        `could not reach ${this.s.url} within ${call.timeout} ms for ${what}: ${this.lastError.message}; is the server running there?`,
        { cause: this.lastError },
      );
    } else {
      err = new RpcTimeoutError(`no connection to ${this.s.url} opened within ${call.timeout} ms for ${what}: is the server running there?`);
    }
    this.drop(call, err);
  }

  private connect(): void {
    this.retry = undefined;
    if (this.closed) return;
    const { host, port } = this.s;
    let socket: net.Socket;
    if (this.s.tls) {
      const { requestCert: _server, servername, ...options } = this.s.tls;
      const name = servername ?? (net.isIP(host) ? undefined : host);
      socket = tls.connect({ ...options, host, port, ...(name === undefined ? {} : { servername: name }) });
    } else socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const conn: Conn = {
      wire: new Wire(socket, this.s.maxBody),
      state: 'greeting',
      inflight: new Map(),
      clientNonce: undefined,
      serverNonce: undefined,
      failure: undefined,
      timer: undefined,
      secured: false,
    };
    conn.timer = setTimeout(
      () => this.fail(conn, new RpcConnectionError(`no greeting from ${this.s.url} within ${this.s.handshakeTimeout} ms: is a celeriac RPC server listening there?`)),
      this.s.handshakeTimeout,
    );
    this.conn = conn;
    socket.once('secureConnect', () => (conn.secured = true));
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (conn.failure) return;
      const code = err.code ?? '';
      conn.failure = TLS_REFUSAL.test(code)
        ? new RpcAuthError(`TLS with ${this.s.url} failed: ${err.message} (${code}); check tls.ca, the server's name, and the client certificate it asks for`, { cause: err })
        : new RpcConnectionError(`${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`, { cause: err });
    });
    socket.on('close', () => this.onClose(conn));
  }

  private onData(conn: Conn, chunk: Buffer): void {
    if (conn.state === 'closed' || conn.wire.isEnded) return;
    try {
      const frames = conn.wire.reader.push(chunk);
      for (let i = 0; i < frames.length; i++) this.onFrame(conn, frames[i] as Frame);
    } catch (err) {
      this.fail(conn, err instanceof RpcError ? err : new FrameError(`bad frame from ${this.s.url}: ${(err as Error).message}`, { cause: err }));
    }
  }

  private onFrame(conn: Conn, frame: Frame): void {
    switch (frame.type) {
      case FrameType.REPLY:
      case FrameType.ERROR: {
        const call = conn.inflight.get(frame.id);
        if (call === undefined) return; // it timed out or was aborted: the late answer is dropped
        conn.inflight.delete(frame.id);
        const isReply = frame.type === FrameType.REPLY;
        let outcome: RpcOutcome | Error;
        try {
          const value = this.s.codecs.decode(frame.codec, frame.body, isReply ? 'reply' : 'error');
          outcome = isReply ? { ok: true, result: value } : { ok: false, error: toErrorInfo(value) };
        } catch (err) {
          outcome = err as Error;
        }
        this.settle(call, outcome);
        if (conn.state === 'draining' && conn.inflight.size === 0) conn.wire.end();
        return;
      }
      case FrameType.HEARTBEAT: {
        const call = conn.inflight.get(frame.id);
        if (call?.deadline) {
          this.deadlines.cancel(call.deadline);
          call.deadline = this.deadlines.add(call, call.timeout);
        }
        return;
      }
      case FrameType.HELLO:
        if (conn.state !== 'greeting') throw new FrameError(`${this.s.url} sent a second HELLO: it is not a celeriac server`);
        return this.onHello(conn, frame);
      case FrameType.WELCOME: {
        if (conn.state !== 'auth') throw new FrameError(`${this.s.url} sent WELCOME without a handshake: it is not a celeriac server`);
        const proof = toProof(jsonBody.decode(frame.body, 'reply'));
        const expected = proofOf(this.s.secret as Buffer, 'server', conn.serverNonce as Buffer, conn.clientNonce as Buffer);
        if (!proofMatches(expected, proof.proof)) {
          throw new RpcAuthError(
            `the server at ${this.s.url} could not prove that it knows the shared secret: the secrets differ ` +
              `(or another program listens there); give both ends the same secret`,
          );
        }
        return this.ready(conn);
      }
      case FrameType.GOAWAY: {
        const away = toGoAway(this.s.codecs.decode(frame.codec, frame.body, 'error'));
        if (away.code === 'closing' && conn.state === 'ready') {
          // The server answers what it received, then closes; new calls go to the next connection.
          conn.state = 'draining';
          if (this.conn === conn) this.conn = undefined;
          if (conn.inflight.size === 0) conn.wire.end();
          if (this.waiting.size > 0) this.connect();
          return;
        }
        const message = `the server at ${this.s.url} closed the connection: ${away.message}`;
        throw away.code === 'E_RPC_AUTH' ? new RpcAuthError(message) : away.code === 'E_RPC_FRAME' ? new FrameError(message) : new RpcConnectionError(message);
      }
      default:
        throw new FrameError(`${this.s.url} sent a ${frameTypeName(frame.type)} frame, which servers never send: it is not a celeriac server`);
    }
  }

  private onHello(conn: Conn, frame: Frame): void {
    const hello = toHello(this.s.codecs.decode(frame.codec, frame.body, 'reply'));
    const secret = this.s.secret;
    if (!hello.auth) {
      if (secret) {
        throw new RpcAuthError(
          `the server at ${this.s.url} has no shared secret and this client has one: the secrets differ; ` +
            `give the server the same secret, or remove it here`,
        );
      }
      return this.ready(conn);
    }
    if (!secret) {
      throw new RpcAuthError(`the server at ${this.s.url} requires a shared secret and this client has none: the secrets differ; pass options.secret`);
    }
    conn.serverNonce = Buffer.from(hello.nonce as string, 'base64');
    conn.clientNonce = randomBytes(NONCE_BYTES);
    const proof = proofOf(secret, 'client', conn.serverNonce, conn.clientNonce).toString('base64');
    conn.wire.send(FrameType.AUTH, 0, CodecId.JSON, JSON.stringify({ nonce: conn.clientNonce.toString('base64'), proof }));
    conn.state = 'auth';
  }

  private ready(conn: Conn): void {
    conn.state = 'ready';
    clearTimeout(conn.timer);
    this.attempt = 0;
    this.lastError = undefined;
    for (const call of this.waiting) this.send(conn, call);
    this.waiting.clear();
  }

  private fail(conn: Conn, err: Error): void {
    if (conn.state === 'closed') return;
    conn.failure ??= err;
    conn.wire.socket.destroy();
  }

  private onClose(conn: Conn): void {
    const was = conn.state;
    const wasOpen = was === 'ready' || was === 'draining';
    conn.state = 'closed';
    clearTimeout(conn.timer);
    if (this.conn === conn) this.conn = undefined;
    const failure = conn.failure;
    for (const call of conn.inflight.values()) {
      call.conn = undefined;
      const err =
        failure instanceof FrameError || failure instanceof RpcAuthError
          ? failure
          : new RpcConnectionError(
              `the connection to ${this.s.url} closed while '${call.method}' waited for its reply` +
                `${failure ? ` (${failure.message})` : ''}: the server stopped or restarted; call again`,
              { cause: failure },
            );
      this.settle(call, err);
    }
    conn.inflight.clear();
    if (this.closed || this.conn !== undefined) return;
    if (!wasOpen) {
      this.lastError =
        failure ??
        (conn.secured && was === 'greeting'
          ? new RpcAuthError(
              `the server at ${this.s.url} closed the TLS connection before greeting: it refused this client's certificate ` +
                `(give tls.cert and tls.key signed by a CA the server trusts)`,
            )
          : new RpcConnectionError(`${this.s.url} closed the connection during the handshake`));
      if (this.lastError instanceof RpcAuthError || this.lastError instanceof FrameError) {
        // Retrying does not change a secret or a certificate: fail the waiting calls now.
        for (const call of this.waiting) this.settle(call, this.lastError);
        this.waiting.clear();
        return;
      }
    }
    if (this.waiting.size === 0) return;
    if (wasOpen) this.connect();
    else {
      const delay = backoffDelay(this.attempt++, { base: this.s.reconnectDelay, max: this.s.reconnectDelayMax });
      this.retry = setTimeout(() => this.connect(), delay);
      this.retry.unref();
    }
  }
}
