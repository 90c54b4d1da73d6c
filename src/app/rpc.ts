/**
 * `app.rpc`: RPC clients and servers of an app. Over the app's broker by default (oslo.messaging's wire
 * format through the `Transport` interface, whichever broker that is), or over a direct connection named
 * by `url` (`tcp://host:port`, `http://host:port/`), whose driver comes from the app's plug-in registry.
 */
import { hostname } from 'node:os';
import { ConfigError, RpcError } from '../errors.js';
import { DEFAULT_CALL_TIMEOUT, RpcClient, type RpcClientOptions, type UntypedApi } from '../rpc/client.js';
import { RpcServer, type RpcServerOptions, type RpcServerTarget } from '../rpc/server.js';
import type { IncomingInfo, RpcDriver, RpcDriverFactory, RpcDriverOptions, RpcHandler, RpcListener, RpcOutcome, RpcRequest } from '../rpc/types.js';
import { remoteErrorInfo } from '../rpc/remote-error.js';
import type { PluginRegistry } from '../util/plugins.js';
import { maskUrl } from '../util/url.js';

/** A thunk that makes its promise once (again after a failure). */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((err: unknown) => {
      made = undefined;
      throw err;
    }));
}

export interface AppRpcClientOptions extends Omit<RpcClientOptions, 'topic'> {
  /** The topic servers listen on; required over a broker, ignored over a direct `url`. */
  topic?: string;
  /** A direct connection instead of the broker: `tcp://host:port`, `http://host:port/path`, ... */
  url?: string;
  /** Options of the direct connection's driver (shared secret, TLS, max message size). */
  driver?: RpcDriverOptions;
}

export interface AppRpcServerTarget extends Omit<RpcServerTarget, 'server' | 'topic'> {
  topic?: string;
  /** This server's name (default: the host name). */
  server?: string;
  /** Listen on a direct address instead of the broker: `tcp://0.0.0.0:4242`, `http://127.0.0.1:8080/`. */
  url?: string;
  driver?: RpcDriverOptions;
}

export interface AppRpcDeps {
  drivers: PluginRegistry<RpcDriverFactory>;
  /** The driver over the app's broker, made on first use. */
  brokerDriver: () => Promise<RpcDriver>;
}

export class AppRpc {
  private broker: Promise<RpcDriver> | undefined;
  /** Client drivers by URL (a connection each), shared by clients given no driver options. */
  private readonly shared = new Map<string, Promise<RpcDriver>>();
  /** Drivers made for one client or server, closed with the app. */
  private readonly owned = new Set<Promise<RpcDriver>>();
  private readonly servers = new Set<RpcServer>();
  private readonly listeners = new Set<RpcListener>();

  constructor(private readonly deps: AppRpcDeps) {}

  /**
   * A typed client: `app.rpc.client<ComputeApi>({ topic: 'compute', version: '1.2' })` over the broker, or
   * `app.rpc.client<ComputeApi>({ url: 'tcp://127.0.0.1:4242' })` over a direct connection.
   */
  client<Api = UntypedApi>(options: AppRpcClientOptions): RpcClient<Api> {
    const { url, driver: driverOptions, topic, ...rest } = options;
    if (url === undefined && (topic === undefined || topic === '')) {
      throw new ConfigError("an RPC client needs a topic (over the broker), e.g. app.rpc.client({ topic: 'compute' }), or a url, e.g. { url: 'tcp://127.0.0.1:4242' }");
    }
    const driver = url === undefined ? () => this.brokerDriver() : once(() => this.clientDriver(url, driverOptions));
    return new RpcClient<Api>(driver, { ...rest, topic: topic ?? '' });
  }

  /** A server of endpoints, not yet started: `await app.rpc.server({ topic: 'compute', server: 'host1' }, [new Compute()]).start()`. */
  server(target: AppRpcServerTarget, endpoints: readonly object[], options: RpcServerOptions = {}): RpcServer {
    const { url, driver: driverOptions, topic, server, ...rest } = target;
    if (url === undefined && (topic === undefined || topic === '')) {
      throw new ConfigError("an RPC server needs a topic (over the broker), e.g. app.rpc.server({ topic: 'compute', server: 'host1' }, [endpoint]), or a url, e.g. { url: 'tcp://0.0.0.0:4242' }");
    }
    const driver = url === undefined ? () => this.brokerDriver() : once(() => this.ownDriver(url, driverOptions ?? {}));
    const rpcServer = new RpcServer(driver, { ...rest, topic: topic ?? '', server: server ?? hostname() }, endpoints, options);
    this.servers.add(rpcServer);
    return rpcServer;
  }

  /** `server(...)` started: resolves once it listens. */
  serve(target: AppRpcServerTarget, endpoints: readonly object[], options: RpcServerOptions = {}): Promise<RpcServer> {
    return this.server(target, endpoints, options).start();
  }

  /**
   * A handler that passes every request on to other servers (a bridge: an HTTP gateway in front of a topic
   * on the broker, or of a TCP server). Calls wait for the answer; one-way requests are cast.
   */
  forward(to: AppRpcClientOptions): RpcHandler {
    const client = this.client(to);
    const address = { topic: client.options.topic, ...(to.server !== undefined ? { server: to.server } : {}), ...(to.exchange !== undefined ? { exchange: to.exchange } : {}) };
    const driver = to.url === undefined ? () => this.brokerDriver() : once(() => this.clientDriver(to.url as string, to.driver));
    const timeout = to.timeout ?? DEFAULT_CALL_TIMEOUT;
    return async (request: RpcRequest, info: IncomingInfo): Promise<RpcOutcome> => {
      try {
        const d = await driver();
        if (!info.oneWay) return await d.call(address, request, { timeout });
        await d.cast(address, request);
        return { ok: true, result: null };
      } catch (err) {
        return { ok: false, error: remoteErrorInfo(err) };
      }
    };
  }

  /** Serves a handler (a dispatcher's, or `forward()`'s) on a direct address: `tcp://`, `http://`. Closed with the app. */
  async listen(url: string, handler: RpcHandler, options: RpcDriverOptions = {}, heartbeatInterval = 10_000): Promise<RpcListener> {
    const driver = await this.ownDriver(url, options);
    const listener = await driver.listen({ topic: '' }, handler, { heartbeatInterval });
    this.listeners.add(listener);
    return listener;
  }

  /** The driver for a URL, made from the app's registry (`rpc call` and gateways use it directly). */
  async driver(url: string, options: RpcDriverOptions = {}): Promise<RpcDriver> {
    let factory: RpcDriverFactory;
    try {
      factory = await this.deps.drivers.resolve(url);
    } catch (err) {
      throw new RpcError(`${(err as Error).message} (in ${maskUrl(url)})`, { cause: err });
    }
    return factory(url, options);
  }

  /** Stops every server made here and closes every driver. */
  async close(): Promise<void> {
    await Promise.all([...this.servers].map((s) => s.stop().catch(() => undefined)));
    this.servers.clear();
    await Promise.all([...this.listeners].map((l) => l.close().catch(() => undefined)));
    this.listeners.clear();
    const drivers = [...this.shared.values(), ...this.owned, ...(this.broker ? [this.broker] : [])];
    this.shared.clear();
    this.owned.clear();
    this.broker = undefined;
    await Promise.all(drivers.map((d) => d.then((x) => x.close()).catch(() => undefined)));
  }

  private brokerDriver(): Promise<RpcDriver> {
    this.broker ??= this.deps.brokerDriver().catch((err: unknown) => {
      this.broker = undefined;
      throw err;
    });
    return this.broker;
  }

  private clientDriver(url: string, options: RpcDriverOptions | undefined): Promise<RpcDriver> {
    if (options) return this.ownDriver(url, options);
    let driver = this.shared.get(url);
    if (!driver) {
      driver = this.driver(url);
      this.shared.set(url, driver);
      driver.catch(() => this.shared.delete(url));
    }
    return driver;
  }

  private ownDriver(url: string, options: RpcDriverOptions): Promise<RpcDriver> {
    const driver = this.driver(url, options);
    this.owned.add(driver);
    driver.catch(() => this.owned.delete(driver));
    return driver;
  }
}
