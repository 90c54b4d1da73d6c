/**
 * A socket that carries Pyro messages: reads bytes into messages with the pure codec in wire.ts, writes encoded
 * messages, closes on a frame that lies. Also opening TCP / TLS / unix-socket connections with clear errors.
 */
import net from 'node:net';
import tls from 'node:tls';
import { deflateSync, inflateSync } from 'node:zlib';
import { FrameError, RpcConnectionError, type RpcAuthError } from '../../errors.js';
import type { RpcTlsOptions } from '../types.js';
import { decodeMessage, encodeMessage, FLAG, type PyroMessage } from './wire.js';

export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;

export interface ConnectionHandlers {
  onMessage(message: PyroMessage, authError: RpcAuthError | undefined): void;
  /** Called once, when the socket is gone (`err` says why when it was not a clean close). */
  onClose(err: Error | undefined): void;
}

export class PyroConnection {
  private buffer: Buffer | null = null;
  private closed = false;
  private outbox: Buffer[] = [];
  private burst = false;
  readonly peer: string;

  constructor(
    readonly socket: net.Socket,
    private readonly options: { maxMessageSize: number; hmacKey?: Buffer | undefined },
    private readonly handlers: ConnectionHandlers,
  ) {
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${String(socket.remotePort)}` : 'unix socket';
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) => this.close(err));
    socket.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private receive(chunk: Buffer): void {
    let buf = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    try {
      while (!this.closed) {
        const decoded = decodeMessage(buf, this.options, offset);
        if (!decoded) break;
        offset += decoded.size;
        this.handlers.onMessage(decoded.message, decoded.authError);
      }
    } catch (err) {
      this.close(err instanceof Error ? err : new FrameError(String(err)));
      return;
    }
    if (offset >= buf.length) buf = Buffer.alloc(0);
    else if (offset > 0) buf = Buffer.from(buf.subarray(offset));
    this.buffer = buf.length > 0 ? buf : null;
  }

  /** Encodes and writes a message (signed when the connection has an HMAC key); messages of one tick go out in one write. */
  send(message: PyroMessage): void {
    if (this.closed) throw new RpcConnectionError(`the connection to ${this.peer} is closed`);
    const bytes = encodeMessage(message, this.options.hmacKey);
    if (this.burst) {
      this.outbox.push(bytes);
      return;
    }
    // The first message of a tick leaves at once (no added latency); the rest of the tick's go out together.
    this.burst = true;
    process.nextTick(this.flush);
    this.socket.write(bytes);
  }

  private readonly flush = (): void => {
    this.burst = false;
    const out = this.outbox;
    if (out.length === 0) return;
    this.outbox = [];
    if (!this.socket.destroyed) this.socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
  };

  /** Closes the socket; `err` is passed to onClose (a frame error, a refused handshake). */
  close(err?: Error): void {
    if (this.closed) return;
    if (!err) this.flush();
    this.closed = true;
    this.buffer = null;
    if (err) this.socket.destroy();
    else this.socket.end();
    this.handlers.onClose(err);
  }

  /** Drops the connection at once (the daemon closing): no error is reported. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.handlers.onClose(undefined);
  }

  /** Ends the connection after what was written has been sent (a reply before closing). */
  endAfterWrite(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.socket.end();
    this.handlers.onClose(undefined);
  }
}

/** Decompresses the data of a message with the 'compressed' flag (zlib), bounded by the message size limit. */
export function decompressed(message: PyroMessage, maxMessageSize: number): Buffer {
  if (!(message.flags & FLAG.COMPRESSED)) return message.data;
  try {
    return inflateSync(message.data, { maxOutputLength: maxMessageSize });
  } catch (err) {
    throw new FrameError(`compressed Pyro data does not inflate within ${maxMessageSize} bytes: ${(err as Error).message}`);
  }
}

/** Pyro4's COMPRESSION: zlib when the data is over 200 bytes and comes out smaller. */
export function maybeCompress(data: Buffer, compression: boolean): { data: Buffer; flags: number } {
  if (!compression || data.length < 200) return { data, flags: 0 };
  const z = deflateSync(data);
  return z.length < data.length ? { data: z, flags: FLAG.COMPRESSED } : { data, flags: 0 };
}

export type Endpoint = { host: string; port: number } | { path: string };

export function endpointText(e: Endpoint): string {
  return 'path' in e ? `./u:${e.path}` : `${e.host}:${e.port}`;
}

/** Opens a socket to a daemon (TLS when `tlsOptions` is given). Rejects with RpcConnectionError saying why. */
export function openSocket(endpoint: Endpoint, tlsOptions: RpcTlsOptions | undefined, timeout: number | undefined): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const where = endpointText(endpoint);
    let socket: net.Socket;
    const fail = (err: Error): void => {
      socket.destroy();
      const code = (err as NodeJS.ErrnoException).code;
      const hint = code === 'ECONNREFUSED' ? ' (is the daemon running and listening there?)' : tlsOptions ? ' (check the TLS certificates: ca, cert, key, servername)' : '';
      reject(new RpcConnectionError(`cannot connect to the Pyro daemon at ${where}: ${err.message}${hint}`, { cause: err }));
    };
    if (tlsOptions) {
      const { rejectUnauthorized, servername, requestCert: _ignored, ...secure } = tlsOptions;
      const host = 'host' in endpoint ? endpoint.host : undefined;
      const name = servername ?? (host && net.isIP(host) === 0 ? host : undefined);
      socket = tls.connect({ ...secure, ...endpoint, rejectUnauthorized: rejectUnauthorized ?? true, ...(name ? { servername: name } : {}) }, () => done());
    } else socket = net.connect(endpoint, () => done());
    const timer = timeout ? setTimeout(() => fail(new Error(`no connection within ${timeout} ms`)), timeout) : undefined;
    socket.once('error', fail);
    function done(): void {
      if (timer) clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    }
  });
}

/** Starts a daemon's server: TCP, TLS (client certificates when `requestCert`) or a unix socket. */
export function listen(
  where: { host?: string; port?: number; unixSocket?: string; tls?: RpcTlsOptions },
  onSocket: (socket: net.Socket) => void,
  onTlsError: (err: Error, peer: string) => void,
): { server: net.Server; ready: Promise<void> } {
  let server: net.Server;
  if (where.tls) {
    const { requestCert, rejectUnauthorized: _r, servername: _s, ...secure } = where.tls;
    server = tls.createServer({ ...secure, requestCert: requestCert ?? false, rejectUnauthorized: requestCert ?? false }, onSocket);
    server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => onTlsError(err, socket.remoteAddress ?? 'tls client'));
  } else server = net.createServer(onSocket);
  const ready = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (where.unixSocket) server.listen(where.unixSocket, done);
    else server.listen(where.port ?? 0, where.host ?? 'localhost', done);
  });
  ready.catch(() => undefined);
  return { server, ready };
}
