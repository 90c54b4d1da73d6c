/**
 * The broker RPC driver: call / cast / fanout over any celeriac `Transport`, in oslo.messaging's rabbit wire
 * format, so celeriac and Python oslo.messaging clients and servers call each other through RabbitMQ.
 *
 * Features
 * - oslo's topology (see topology.ts): the control exchange (topic), the shared `<topic>` queue (servers of a
 *   topic compete for its requests: round robin), `<topic>.<server>` (one server), `<topic>_fanout` (every
 *   server), a `reply_<hex>` queue per caller. Declared with oslo's flags, so a Python peer declares the same
 *   queues in either order without PRECONDITION_FAILED.
 * - oslo's messages (see wire.ts): the `oslo.version` 2.0 envelope, `_msg_id`, `_reply_q`, `_unique_id`,
 *   `_timeout`, `_context_*`; replies with `result` / `failure` / `ending`; failures as oslo's serialized
 *   remote exception (class, module, message, tb, kwargs) both ways: RpcOutcome `{ ok: false, error }`.
 * - Call monitor: calls send `_timeout` (their timeout in seconds); a server (celeriac or oslo) heartbeats the
 *   caller every half of it while the method runs, and each heartbeat restarts the call's timeout, so a long
 *   call does not time out while its server lives. A call nobody answers rejects with RpcTimeoutError; a
 *   timeout of Infinity waits for ever. Python oslo servers heartbeat only for `_timeout` >= 2 s (oslo reads
 *   int(_timeout) / 2 and logs a warning below 1 s), so shorter calls to them have a hard timeout.
 * - Requests are acked as they start (as oslo's server): never run twice. A listener runs `concurrency` at
 *   once and holds as many more unacked (its prefetch window), so a busy server leaves the rest of `<topic>` to
 *   the others. Duplicates (same `_unique_id`) are dropped. A malformed request (not JSON, no envelope, wrong types) is dead-lettered with its reason
 *   and, when its caller waits, answered with a `MalformedRequest` failure; a malformed reply is dead-lettered.
 * - Runs on every transport: on amqp:// these are RabbitMQ's own exchanges and queues; memory://, sqlite://
 *   and redis:// emulate them (celeriac to celeriac there). Reply and fanout queues carry x-expires.
 * - The transport is the app's and stays open: `close()` stops the listeners (running requests still answer),
 *   rejects waiting calls, and deletes this driver's reply queue and fanout queues. The shared `<topic>` and
 *   `<topic>.<server>` queues stay, as with oslo (requests wait there while servers restart).
 *
 * Options (BrokerDriverOptions)
 *   exchange            control exchange (oslo's control_exchange)                 default 'openstack'
 *   durable             durable exchange and topic/server queues (amqp_durable_queues)  default false
 *   autoDelete          auto-delete exchange and topic/server queues (amqp_auto_delete) default false
 *   transientQueueTtl   ms, x-expires of reply and fanout queues (rabbit_transient_queues_ttl) default 1 800 000
 *   replyQueue          this caller's reply queue name                              default reply_<uuid hex>
 *   server              server name of listeners whose address has none (oslo's host)   default os.hostname()
 *   concurrency         requests a listener runs at once (and its prefetch window)  default 64
 *   callMonitor         send `_timeout` so servers heartbeat long calls             default true
 *   logger              { debug, warn } for dropped messages and failed replies    default console warnings
 *
 * Heartbeats of a celeriac server: every min(ListenOptions.heartbeatInterval, caller's `_timeout` / 2); none
 * for callers that sent no `_timeout` (as oslo), or with heartbeatInterval 0.
 */
import type { Transport } from '../../transport/types.js';
import type { DriverCallOptions, ListenOptions, RpcAddress, RpcDriver, RpcHandler, RpcListener, RpcOutcome, RpcRequest } from '../types.js';
import { BrokerCaller } from './caller.js';
import { BrokerListener } from './listener.js';
import { resolveOptions, type BrokerDriverOptions, type ResolvedOptions } from './options.js';

export type { BrokerDriverLogger, BrokerDriverOptions } from './options.js';

class BrokerDriver implements RpcDriver {
  private readonly o: ResolvedOptions;
  private readonly caller: BrokerCaller;
  private readonly listeners = new Set<BrokerListener>();
  private transport: Promise<Transport> | undefined;

  constructor(
    private readonly connection: () => Promise<Transport>,
    options?: BrokerDriverOptions,
  ) {
    this.o = resolveOptions(options);
    this.caller = new BrokerCaller(() => this.getTransport(), this.o);
  }

  private getTransport(): Promise<Transport> {
    this.transport ??= this.connection();
    this.transport.catch(() => (this.transport = undefined));
    return this.transport;
  }

  call(address: RpcAddress, request: RpcRequest, options: DriverCallOptions): Promise<RpcOutcome> {
    return this.caller.call(address, request, options);
  }

  cast(address: RpcAddress, request: RpcRequest): Promise<void> {
    return this.caller.cast(address, request);
  }

  async listen(address: RpcAddress, handler: RpcHandler, options: ListenOptions = {}): Promise<RpcListener> {
    const t = await this.getTransport();
    const listener = await BrokerListener.start(t, address, handler, options, this.o, (l) => this.listeners.delete(l));
    this.listeners.add(listener);
    return listener;
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.close()));
    await this.caller.close();
  }
}

/**
 * An RPC driver over the app's broker: `connection` gives the shared, connected transport (e.g.
 * `() => app.connection()`); the driver never closes it.
 */
export function createBrokerDriver(connection: () => Promise<Transport>, options?: BrokerDriverOptions): RpcDriver {
  return new BrokerDriver(connection, options);
}
