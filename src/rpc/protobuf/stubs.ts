/**
 * Typed clients and servers of protobuf services over direct RPC (tcp://, tls://), as gRPC users know them:
 * `protoClient<T>(service, url)` and `protoServer(url, { service, implementation })`. Generated stubs call these.
 */
import { ConfigError } from '../../errors.js';
import { RpcClient, type CallOptions } from '../client.js';
import type { RpcCallContext } from '../dispatcher.js';
import { firstDocLine } from '../docs.js';
import { RpcServer, type RpcServerOptions } from '../server.js';
import { createTcpDriver } from '../tcp/index.js';
import type { TcpDriverOptions } from '../tcp/options.js';
import type { RpcDriverOptions } from '../types.js';
import { protobufCodec, wasDecoded } from './codec.js';
import type { ProtoService } from './schema.js';

/** What the stubs need of an app: `app.rpc` (typed by shape, so that rpc/ needs nothing of app/). */
export interface ProtoRpcHost {
  client<Api>(options: { url: string; driver?: RpcDriverOptions; namespace?: string; version?: string; timeout?: number; context?: Record<string, unknown> }): RpcClient<Api>;
  server(target: { url: string; driver?: RpcDriverOptions }, endpoints: readonly object[], options?: RpcServerOptions): RpcServer;
}

export interface ProtoClientOptions {
  /** ms to wait for each answer (default 60,000). */
  timeout?: number;
  /** Passed to the server with every call (oslo's ctxt; `context.context` in the implementation). */
  context?: Record<string, unknown>;
  /** The service version the caller needs (the server's endpoint version, default '1.0'). */
  version?: string;
  /** Options of the tcp driver: secret, tls, maxMessageSize, connectTimeout, ... */
  driver?: TcpDriverOptions;
  /** Go through this app's `rpc` (its driver registry; closed with `app.close()`) instead of a driver of the client's own. */
  app?: { rpc: ProtoRpcHost };
}

/** What a protobuf client has besides the service's methods (a method of the same name wins). */
export interface ProtoClientHandle {
  /** The untyped client underneath: `describe()`, `call(name, args)` by the .proto name. */
  readonly rpc: RpcClient;
  /** Closes the client's own connection (with `app`, `app.close()` does). */
  close(): Promise<void>;
}

/** A typed client: the methods of `T` (lowerCamelCase or as in the .proto) as remote calls. */
export type ProtoClient<T> = T & Omit<ProtoClientHandle, keyof T>;

export interface ProtoServerOptions extends RpcServerOptions {
  /** Options of the tcp driver: secret, tls (key, cert, requestCert, ...), maxMessageSize, maxInFlight, ... */
  driver?: TcpDriverOptions;
  /** Listen through this app's `rpc` (stopped with `app.close()`). */
  app?: { rpc: ProtoRpcHost };
}

/** A service and the object whose methods implement it (`connectServer` or `connect_server`). */
export interface ProtoBinding<T extends object = object> {
  service: ProtoService;
  implementation: T;
}

function checkUrl(url: string, what: string): void {
  if (!/^(tcp|tls):\/\//i.test(url)) {
    throw new ConfigError(`${what} needs a direct URL, tcp://host:port or tls://host:port: protobuf bodies travel in celeriac's frames; got '${url}'`);
  }
}

/**
 * A typed client of a service, `T` written by hand or generated (`celeriac stubs`):
 * `const lobby = protoClient<GameServiceClient>(loadProtoService('game.proto', 'game.GameService'), 'tcp://127.0.0.1:4343')`,
 * then `await lobby.connectServer({ playerName: 'ada', ... })`. Arguments are checked against the request type before
 * they leave; remote failures reject with typed errors (RemoteError, NoSuchMethodError).
 */
export function protoClient<T>(service: ProtoService, url: string, options: ProtoClientOptions = {}): ProtoClient<T> {
  checkUrl(url, `a client of ${service.fullName}`);
  const driverOptions: TcpDriverOptions = { ...options.driver, codec: 'protobuf', bodyCodecs: [protobufCodec(service), ...(options.driver?.bodyCodecs ?? [])] };
  const common = {
    namespace: service.fullName,
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(options.context !== undefined ? { context: options.context } : {}),
    ...(options.version !== undefined ? { version: options.version } : {}),
  };
  let rpc: RpcClient;
  let close: () => Promise<void>;
  if (options.app) {
    rpc = options.app.rpc.client({ url, driver: driverOptions, ...common });
    close = async () => undefined;
  } else {
    const driver = createTcpDriver(url, driverOptions);
    rpc = new RpcClient(async () => driver, { topic: '', ...common });
    close = () => driver.close();
  }
  const client: Record<string, unknown> = { rpc, close };
  for (const method of service.methods) {
    const call = (request: object, callOptions?: CallOptions): Promise<unknown> => rpc.call(method.name, request as never, callOptions);
    client[method.name] = call;
    client[method.localName] = call;
  }
  return client as ProtoClient<T>;
}

/**
 * The endpoint a Dispatcher serves for one service: its methods under their .proto names, in the namespace of
 * the service's full name, each calling the implementation's method. Arguments from JSON or msgpack callers
 * (`celeriac rpc call`) are checked against the request type first, and reach the implementation as a
 * protobuf caller's would; a method the implementation lacks is answered as unknown (NoSuchMethod).
 */
export function protoEndpoint(service: ProtoService, implementation: object): object {
  const endpoint: Record<string, unknown> = { target: { namespace: service.fullName } };
  const impl = implementation as Record<string, unknown>;
  let count = 0;
  for (const method of service.methods) {
    const fn = impl[method.localName] ?? impl[method.name];
    if (typeof fn !== 'function') continue;
    count++;
    endpoint[method.name] = async (args: unknown, context?: RpcCallContext): Promise<unknown> => {
      let request = args;
      if (!wasDecoded(args)) {
        try {
          request = service.messages.normalize(method.requestType, args);
        } catch (err) {
          throw new TypeError(`bad arguments for ${service.fullName}.${method.name}: ${(err as Error).message}`);
        }
      }
      return (fn as (request: unknown, context?: RpcCallContext) => unknown).call(implementation, request, context);
    };
  }
  if (count === 0) {
    const names = service.methods.map((m) => m.localName).join(', ');
    throw new ConfigError(`the implementation of ${service.fullName} has none of its methods (${names}): give an object or class instance with them`);
  }
  return endpoint;
}

/**
 * A server of one or more services on `url` (tcp:// or tls://), not yet started:
 * `await protoServer('tcp://0.0.0.0:4343', { service, implementation: new Lobby() }).start()`.
 * It answers protobuf callers, and JSON or msgpack ones too (`celeriac rpc call --namespace game.GameService ...`).
 */
export function protoServer(url: string, bindings: ProtoBinding | readonly ProtoBinding[], options: ProtoServerOptions = {}): RpcServer {
  const list: readonly ProtoBinding[] = Array.isArray(bindings) ? bindings : [bindings as ProtoBinding];
  if (list.length === 0) throw new ConfigError('a protobuf server needs at least one { service, implementation }');
  checkUrl(url, `a server of ${list.map((b) => b.service.fullName).join(', ')}`);
  const codec = protobufCodec(list.map((b) => b.service));
  const endpoints = list.map((b) => protoEndpoint(b.service, b.implementation));
  const { driver, app, ...serverOptions } = options;
  const docs = new Map<string, string>();
  for (const { service } of list) {
    for (const m of service.methods) {
      const line = m.doc === undefined ? undefined : firstDocLine(m.doc);
      if (line) docs.set(m.name, line);
    }
  }
  const given = serverOptions.docs;
  for (const [name, doc] of given instanceof Map ? given : Object.entries(given ?? {})) docs.set(name, doc);
  const driverOptions: TcpDriverOptions = { ...driver, bodyCodecs: [codec, ...(driver?.bodyCodecs ?? [])] };
  if (app) return app.rpc.server({ url, driver: driverOptions }, endpoints, { ...serverOptions, docs });
  return new RpcServer(async () => createTcpDriver(url, driverOptions), { topic: '', server: '' }, endpoints, { ...serverOptions, docs });
}
