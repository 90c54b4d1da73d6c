/**
 * One client connection of direct RPC: opens the socket (TCP or TLS), answers the server's greeting and
 * shared-secret challenge, and hands answers to its owner; the owner (client.ts) keeps the calls.
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { FrameError, RpcAuthError, RpcConnectionError, RpcError } from '../../errors.js';
import { CodecId, FrameType, frameTypeName, type Frame } from '../framing.js';
import { jsonBody, toGoAway } from './body.js';
import { NONCE_BYTES, proofMatches, proofOf, toHello, toProof } from './handshake.js';
import type { TcpSettings } from './options.js';
import { Wire } from './wire.js';

export interface ConnectionOwner<T> {
  /** The handshake is done: calls may be sent. */
  onReady(conn: Connection<T>): void;
  /** A REPLY, ERROR or HEARTBEAT. */
  onAnswer(conn: Connection<T>, frame: Frame): void;
  /** The server shuts down: it answers what it received, then closes; send nothing more here. */
  onDraining(conn: Connection<T>): void;
  /** The socket closed; `failure` says why when it was not a plain close; `wasOpen`: after the handshake. */
  onClosed(conn: Connection<T>, failure: Error | undefined, wasOpen: boolean): void;
}

/** TLS and certificate failures that retrying will not fix. */
const TLS_REFUSAL = /CERT|SIGNATURE|ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED|HANDSHAKE_FAILURE)/;
/** A TLS client talking to a plain server reads its greeting as a broken TLS record. */
const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|RECORD_LENGTH_MISMATCH/;
const KEEPALIVE_MS = 30_000;

export class Connection<T> {
  state: 'greeting' | 'auth' | 'ready' | 'draining' | 'closed' = 'greeting';
  /** The owner's calls waiting for an answer, by request id. */
  readonly inflight = new Map<number, T>();
  readonly wire: Wire;
  private failure: Error | undefined;
  private readonly timer: NodeJS.Timeout;
  /** TLS: the TLS handshake completed (a close before HELLO then means the server refused our certificate). */
  private secured = false;
  private serverNonce: Buffer | undefined;
  private clientNonce: Buffer | undefined;

  constructor(
    private readonly s: TcpSettings,
    private readonly owner: ConnectionOwner<T>,
  ) {
    const { host, port } = s;
    let socket: net.Socket;
    if (s.tls) {
      const { requestCert: _server, servername, ...options } = s.tls;
      const name = servername ?? (net.isIP(host) ? undefined : host);
      socket = tls.connect({ ...options, host, port, ...(name === undefined ? {} : { servername: name }) });
      socket.once('secureConnect', () => (this.secured = true));
    } else socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    this.wire = new Wire(socket, s.maxBody);
    const hint = s.tls ? '' : ' (a TLS server needs tls://)';
    this.timer = setTimeout(
      () => this.fail(new RpcConnectionError(`no greeting from ${s.url} within ${s.handshakeTimeout} ms: is a celeriac RPC server listening there${hint}?`)),
      s.handshakeTimeout,
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (TLS_REFUSAL.test(code)) {
        this.failure ??= new RpcAuthError(
          `TLS with ${s.url} failed: ${err.message} (${code}); check tls.ca, the server's name, and the client certificate it asks for`,
          { cause: err },
        );
      } else if (NOT_TLS.test(code)) {
        this.failure ??= new FrameError(`the server at ${s.url} does not speak TLS (${code}): use tcp:// and no tls options`, { cause: err });
      } else {
        this.failure ??= new RpcConnectionError(`${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`, { cause: err });
      }
    });
    socket.on('close', () => this.onClose());
  }

  /** Closes the connection at once; the owner hears `onClosed` with this failure. */
  fail(err: Error): void {
    if (this.state === 'closed') return;
    this.failure ??= err;
    this.wire.socket.destroy();
  }

  /** Sends what is queued and closes our side; `failure` is what calls still waiting will be told. */
  end(failure?: Error): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.failure ??= failure;
    const closed = new Promise<void>((resolve) => this.wire.socket.once('close', () => resolve()));
    this.wire.end();
    return closed;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.wire.isEnded) return;
    try {
      const frames = this.wire.reader.push(chunk);
      for (let i = 0; i < frames.length; i++) this.onFrame(frames[i] as Frame);
    } catch (err) {
      this.fail(err instanceof RpcError ? err : new FrameError(`bad frame from ${this.s.url}: ${(err as Error).message}`, { cause: err }));
    }
  }

  private onFrame(frame: Frame): void {
    const type = frame.type;
    if (type === FrameType.REPLY || type === FrameType.ERROR || type === FrameType.HEARTBEAT) {
      if (this.state !== 'ready' && this.state !== 'draining') throw new FrameError(`${this.s.url} answered before the handshake: it is not a celeriac server`);
      return this.owner.onAnswer(this, frame);
    }
    if (type === FrameType.HELLO && this.state === 'greeting') return this.onHello(frame);
    if (type === FrameType.WELCOME && this.state === 'auth') {
      const proof = toProof(jsonBody.decode(frame.body, 'reply'));
      const expected = proofOf(this.s.secret as Buffer, 'server', this.serverNonce as Buffer, this.clientNonce as Buffer);
      if (!proofMatches(expected, proof.proof)) {
        throw new RpcAuthError(
          `the server at ${this.s.url} could not prove that it knows the shared secret: the secrets differ ` +
            `(or another program listens there); give both ends the same secret`,
        );
      }
      return this.ready();
    }
    if (type === FrameType.GOAWAY) {
      const away = toGoAway(this.s.codecs.decode(frame.codec, frame.body, 'error'));
      if (away.code === 'closing' && this.state === 'ready') {
        this.state = 'draining';
        return this.owner.onDraining(this);
      }
      const message = `the server at ${this.s.url} closed the connection: ${away.message}`;
      throw away.code === 'E_RPC_AUTH' ? new RpcAuthError(message) : away.code === 'E_RPC_FRAME' ? new FrameError(message) : new RpcConnectionError(message);
    }
    throw new FrameError(`${this.s.url} sent an unexpected ${frameTypeName(type)} frame (in state ${this.state}): it is not a celeriac server`);
  }

  private onHello(frame: Frame): void {
    const hello = toHello(this.s.codecs.decode(frame.codec, frame.body, 'reply'));
    const secret = this.s.secret;
    if (!hello.auth) {
      if (secret) {
        throw new RpcAuthError(
          `the server at ${this.s.url} has no shared secret and this client has one: the secrets differ; ` +
            `give the server the same secret, or remove it here`,
        );
      }
      return this.ready();
    }
    if (!secret) {
      throw new RpcAuthError(`the server at ${this.s.url} requires a shared secret and this client has none: the secrets differ; pass options.secret`);
    }
    this.serverNonce = Buffer.from(hello.nonce as string, 'base64');
    this.clientNonce = randomBytes(NONCE_BYTES);
    const proof = proofOf(secret, 'client', this.serverNonce, this.clientNonce).toString('base64');
    this.wire.send(FrameType.AUTH, 0, CodecId.JSON, JSON.stringify({ nonce: this.clientNonce.toString('base64'), proof }));
    this.state = 'auth';
  }

  private ready(): void {
    this.state = 'ready';
    clearTimeout(this.timer);
    this.owner.onReady(this);
  }

  private onClose(): void {
    const was = this.state;
    this.state = 'closed';
    clearTimeout(this.timer);
    const wasOpen = was === 'ready' || was === 'draining';
    let failure = this.failure;
    if (!failure && !wasOpen) {
      failure =
        this.secured && was === 'greeting'
          ? new RpcAuthError(
              `the server at ${this.s.url} closed the TLS connection before greeting: it refused this client's certificate ` +
                `(give tls.cert and tls.key signed by a CA the server trusts)`,
            )
          : new RpcConnectionError(`${this.s.url} closed the connection during the handshake`);
    }
    this.owner.onClosed(this, failure, wasOpen);
  }
}
