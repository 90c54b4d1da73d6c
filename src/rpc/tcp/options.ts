/** The direct driver's URL (`tcp://host:port`, `tls://host:port`) and options, checked once with clear errors. */
import { ConfigError } from '../../errors.js';
import { DEFAULT_MAX_BODY } from '../framing.js';
import type { RpcDriverOptions, RpcTlsOptions } from '../types.js';
import { BodyCodecs, type BodyCodec } from './body.js';
import { secretBuffer } from './handshake.js';

/** Options of `createTcpDriver` besides the common ones (secret, tls, maxMessageSize). */
export interface TcpDriverOptions extends RpcDriverOptions {
  /** Body codec of calls and casts this side sends: 'json' (default), 'msgpack', or a registered one. Replies use the request's. */
  codec?: string;
  /** More body codecs (e.g. protobuf stubs under codec id 3). */
  bodyCodecs?: BodyCodec[];
  /** ms a cast (or a call) waits for a connection when none is open, at most (default 10000; calls also stop at their timeout). */
  connectTimeout?: number;
  /** ms a new connection has to finish its greeting and shared-secret handshake (both sides; default 10000). */
  handshakeTimeout?: number;
  /** Server: ms a frame may stay incomplete before the connection is closed as too slow (default 30000). */
  frameTimeout?: number;
  /** Server: calls of one connection that run at once; beyond, the server stops reading it until some answer (default 4096). */
  maxInFlight?: number;
  /** Server: ms `close()` waits for running calls to answer before it closes their connections (default 30000). */
  drainTimeout?: number;
  /** First and largest reconnect delay in ms (defaults 50 and 2000; the delay doubles per failed attempt). */
  reconnectDelay?: number;
  reconnectDelayMax?: number;
}

export interface TcpSettings {
  /** As users write it: `tcp://127.0.0.1:4000`, `tls://…` when the connection uses TLS. */
  url: string;
  host: string;
  port: number;
  tls: RpcTlsOptions | undefined;
  secret: Buffer | undefined;
  maxBody: number;
  codecs: BodyCodecs;
  codec: BodyCodec;
  connectTimeout: number;
  handshakeTimeout: number;
  frameTimeout: number;
  drainTimeout: number;
  maxInFlight: number;
  reconnectDelay: number;
  reconnectDelayMax: number;
}

function ms(options: TcpDriverOptions, key: keyof TcpDriverOptions, fallback: number): number {
  const value = options[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`option ${String(key)} of the tcp RPC driver must be a positive number (milliseconds for timeouts and delays), got ${String(value)}`);
  }
  return value;
}

/** Reads `tcp://host:port` or `tls://host:port` (TLS also when `options.tls` is set on a tcp:// URL). */
export function tcpSettings(url: string, options: TcpDriverOptions = {}): TcpSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`'${url}' is not a direct RPC URL: expected tcp://host:port or tls://host:port`);
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'tcp' && scheme !== 'tls') {
    throw new ConfigError(`'${url}' is not a direct RPC URL: the scheme must be tcp:// or tls://, e.g. tcp://127.0.0.1:4000`);
  }
  if (parsed.port === '' || parsed.hostname === '') {
    throw new ConfigError(`'${url}' needs a host and a port: tcp://host:port (port 0 to listen on any free port)`);
  }
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.username !== '') {
    throw new ConfigError(`'${url}' has more than host and port: direct RPC URLs are tcp://host:port; pass the secret in options.secret`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port);
  const tls = scheme === 'tls' ? (options.tls ?? {}) : options.tls;
  const maxBody = options.maxMessageSize ?? DEFAULT_MAX_BODY;
  if (!Number.isInteger(maxBody) || maxBody < 1024 || maxBody > 0xffffffff) {
    throw new ConfigError(`maxMessageSize must be an integer from 1024 to 4294967295 bytes, got ${String(maxBody)}`);
  }
  const codecs = new BodyCodecs(options.bodyCodecs ?? []);
  const codecName = options.codec ?? 'json';
  const codec = codecs.named(codecName);
  if (!codec) throw new ConfigError(`unknown codec '${codecName}' for the tcp RPC driver: use ${codecs.names.join(', ')}`);
  return {
    url: `${tls ? 'tls' : 'tcp'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    tls,
    secret: secretBuffer(options.secret),
    maxBody,
    codecs,
    codec,
    connectTimeout: ms(options, 'connectTimeout', 10_000),
    handshakeTimeout: ms(options, 'handshakeTimeout', 10_000),
    frameTimeout: ms(options, 'frameTimeout', 30_000),
    drainTimeout: ms(options, 'drainTimeout', 30_000),
    maxInFlight: Math.floor(ms(options, 'maxInFlight', 4096)),
    reconnectDelay: ms(options, 'reconnectDelay', 50),
    reconnectDelayMax: ms(options, 'reconnectDelayMax', 2_000),
  };
}

/** The address a listener reports, from the socket it is bound to. */
export function boundUrl(settings: TcpSettings, address: string, port: number): string {
  return `${settings.tls ? 'tls' : 'tcp'}://${address.includes(':') ? `[${address}]` : address}:${port}`;
}
