/**
 * The RPC seam: what a client, a server and a driver exchange. The client and the server (`client.ts`,
 * `server.ts`, `dispatcher.ts`) never see a broker, a socket or an HTTP request; a driver moves
 * `RpcRequest`s to servers and `RpcOutcome`s back:
 *
 *   RpcClient ── call/cast(address, request) ──► RpcDriver ══ wire ══► RpcListener ── handler(request) ──► Dispatcher
 *       ▲                                                                                           │
 *       └───────────── RpcOutcome (result, or a RemoteErrorInfo rebuilt as a typed RemoteError) ◄───┘
 *
 * Drivers: `broker/` (oslo.messaging's rabbit wire format over any `Transport`: memory, SQLite, Redis,
 * AMQP), `tcp/` (celeriac's length-prefixed frames, direct, no broker), `http/` (JSON-RPC 2.0 and
 * XML-RPC clients of HTTP servers). The HTTP gateway and the protobuf stubs serve a `Dispatcher` too.
 *
 * Arguments: `args` is either an object (keyword arguments, as oslo.messaging sends them: the method
 * receives it as its one parameter) or an array (positional arguments, as XML-RPC, zerorpc and JSON-RPC
 * with `params: [...]` send them: spread into the method's parameters).
 */
import type { SecureContextOptions } from 'node:tls';
import type { RemoteErrorInfo } from '../errors.js';

export type { RemoteErrorInfo } from '../errors.js';

export type RpcArgs = Record<string, unknown> | readonly unknown[];

/** One call or cast as it travels. */
export interface RpcRequest {
  method: string;
  args: RpcArgs;
  /** The endpoint namespace asked for (oslo's target.namespace); undefined is the default namespace. */
  namespace?: string;
  /** The version the caller needs ('1.2': the server's major must equal, its minor be >= 2). */
  version?: string;
  /** Caller context passed along untouched (oslo's ctxt: request id, user, ...). */
  context?: Record<string, unknown>;
}

export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: RemoteErrorInfo };

/**
 * Where a request goes. Over a broker: `topic` (every server of the topic shares the load), `server`
 * (one server), `fanout` (every server of the topic, casts only). Over TCP or HTTP the connection is the
 * address and `topic`/`server` are ignored.
 */
export interface RpcAddress {
  topic: string;
  server?: string;
  fanout?: boolean;
  /** oslo's control exchange (default 'openstack', as oslo.messaging's `control_exchange`). */
  exchange?: string;
}

export interface DriverCallOptions {
  /** ms until the call fails with RpcTimeoutError (the driver resets it on each server heartbeat). */
  timeout: number;
  signal?: AbortSignal;
}

/** What a server-side handler learns about the request besides its body. */
export interface IncomingInfo {
  /** True for casts and fanout casts: no reply is sent. */
  oneWay: boolean;
  /** Who sent it, for logs (a peer address, a reply queue). */
  peer?: string;
}

/** A server's answer to one request; the listener sends it back (or drops it for one-way requests). */
export type RpcHandler = (request: RpcRequest, info: IncomingInfo) => Promise<RpcOutcome>;

/** A driver's listening end, made by `RpcDriver.listen`. */
export interface RpcListener {
  /** Where callers reach it, when that is an address of its own (`tcp://127.0.0.1:40123` after listening on port 0). */
  readonly address?: string;
  /** Stops taking requests, lets running ones answer, then releases the queues or the socket. */
  close(): Promise<void>;
}

export interface ListenOptions {
  /** How often a waiting caller is told that its call still runs (oslo's call monitor), ms; 0 = never. */
  heartbeatInterval?: number;
  /**
   * Requests this listener runs at once (over a broker also the most it holds unstarted: the rest stay with
   * the broker for the topic's other servers); default: the driver's.
   */
  concurrency?: number;
}

/** Moves requests and outcomes; one per connection (a broker transport, a TCP peer, an HTTP URL). */
export interface RpcDriver {
  /** Sends a request and waits for its outcome. Rejects with RpcTimeoutError when no server answered. */
  call(address: RpcAddress, request: RpcRequest, options: DriverCallOptions): Promise<RpcOutcome>;
  /** Sends a one-way request (a fanout cast when `address.fanout`). Resolves once it is sent. */
  cast(address: RpcAddress, request: RpcRequest): Promise<void>;
  /** Serves requests for an address (a topic and a server name over a broker; the socket over TCP). */
  listen(address: RpcAddress, handler: RpcHandler, options?: ListenOptions): Promise<RpcListener>;
  close(): Promise<void>;
}

/** TLS settings of a direct (TCP) or HTTP driver: certificates as for `tls.createSecureContext`, plus who to trust. */
export interface RpcTlsOptions extends SecureContextOptions {
  /** Client side: refuse a server whose certificate does not verify (default true). */
  rejectUnauthorized?: boolean;
  /** Client side: the name to check the server's certificate against (default: the URL's host). */
  servername?: string;
  /** Server side: ask callers for a certificate and refuse those that do not verify against `ca`. */
  requestCert?: boolean;
}

/** Options every driver factory receives besides its URL (each driver's header lists its own). */
export interface RpcDriverOptions {
  /** Shared secret of a direct connection: both ends prove they know it (HMAC challenge); every other peer is refused. */
  secret?: string | Buffer;
  tls?: RpcTlsOptions;
  /** Largest frame or body accepted, in bytes. */
  maxMessageSize?: number;
  [option: string]: unknown;
}

/** Makes a driver for a URL (`tcp://host:port`, `http://host:port/path`); registered by URL scheme in `builtins.ts`. */
export type RpcDriverFactory = (url: string, options: RpcDriverOptions) => RpcDriver;

/** The reserved method every dispatcher answers: the list of its callable methods (for `rpc list`, `system.listMethods`). */
export const DESCRIBE_METHOD = 'celeriac.describe';

/** One entry of the describe reply. */
export interface MethodInfo {
  name: string;
  /** The first line of its documentation, when it has one. */
  doc?: string;
  namespace?: string;
  version?: string;
}
