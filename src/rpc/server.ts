/**
 * An RPC server: endpoints behind a dispatcher, listening through a driver (oslo.messaging's RPCServer).
 * `start()` begins serving, `stop()` stops taking requests and lets running calls answer.
 */
import { RpcError } from '../errors.js';
import { Dispatcher, type DispatcherOptions } from './dispatcher.js';
import type { IncomingInfo, RpcAddress, RpcDriver, RpcListener, RpcOutcome, RpcRequest } from './types.js';

export interface RpcServerTarget {
  /** The topic callers address; servers of one topic share its calls. */
  topic: string;
  /** This server's name, for calls addressed to it alone (default: the host name). */
  server: string;
  /** oslo's control exchange (default 'openstack'). */
  exchange?: string;
  /** Namespace of endpoints that name none. */
  namespace?: string;
  /** Version of endpoints that name none (default '1.0'). */
  version?: string;
}

export interface RpcServerOptions extends Pick<DispatcherOptions, 'docs'> {
  /** How often a caller waiting for a long call hears that it still runs, ms (default 10,000; 0 = never). */
  heartbeatInterval?: number;
  /** Calls run at once (over a broker, the rest wait for a free server of the topic); default: the driver's (64 over a broker). */
  concurrency?: number;
  /** Told of every failed call (a method that threw, an unknown method), for logs. */
  onFailure?: (request: RpcRequest, outcome: Extract<RpcOutcome, { ok: false }>, info: IncomingInfo) => void;
}

export class RpcServer {
  readonly dispatcher: Dispatcher;
  private listener: RpcListener | undefined;
  private starting: Promise<this> | undefined;
  /** A running server keeps its process alive, as a listening socket does (a broker consumer's timers may not). */
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly driver: () => Promise<RpcDriver>,
    readonly target: Readonly<RpcServerTarget>,
    endpoints: readonly object[],
    private readonly options: RpcServerOptions = {},
  ) {
    if (!target.topic && target.topic !== '') throw new RpcError('an RPC server needs a topic, e.g. app.rpc.server({ topic: "compute", server: "host1" }, [endpoint])');
    this.dispatcher = new Dispatcher(endpoints, {
      ...(target.namespace !== undefined ? { namespace: target.namespace } : {}),
      ...(target.version !== undefined ? { version: target.version } : {}),
      ...(options.docs ? { docs: options.docs } : {}),
    });
  }

  /** Where callers reach this server when it listens on an address of its own (`tcp://127.0.0.1:4242`). */
  get address(): string | undefined {
    return this.listener?.address;
  }

  get running(): boolean {
    return this.listener !== undefined;
  }

  /** Starts serving; resolves once the driver listens. Starting twice is harmless. */
  start(): Promise<this> {
    this.starting ??= (async () => {
      const driver = await this.driver();
      const { topic, server, exchange } = this.target;
      const address: RpcAddress = { topic, server, ...(exchange !== undefined ? { exchange } : {}) };
      const onFailure = this.options.onFailure;
      const handler = onFailure
        ? async (request: RpcRequest, info: IncomingInfo): Promise<RpcOutcome> => {
            const outcome = await this.dispatcher.handle(request, info);
            if (!outcome.ok) onFailure(request, outcome, info);
            return outcome;
          }
        : this.dispatcher.handle;
      const { heartbeatInterval = 10_000, concurrency } = this.options;
      this.listener = await driver.listen(address, handler, { heartbeatInterval, ...(concurrency !== undefined ? { concurrency } : {}) });
      this.keepAlive = setInterval(() => undefined, 1 << 30);
      return this;
    })().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  /** Stops taking requests, lets running calls answer, then releases the queues or the socket. */
  async stop(): Promise<void> {
    const starting = this.starting;
    if (!starting) return;
    await starting.catch(() => undefined);
    const listener = this.listener;
    this.listener = undefined;
    this.starting = undefined;
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    await listener?.close();
  }
}
