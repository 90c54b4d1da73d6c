/**
 * The calling end of the broker driver: publishes requests, reads its reply queue and settles each waiting call
 * by `_msg_id`. A call's timeout restarts on every heartbeat of its server (oslo's call monitor).
 */
import { RpcError, RpcTimeoutError } from '../../errors.js';
import type { RawMessage } from '../../protocol/message.js';
import type { Consumer, Delivery, Transport } from '../../transport/types.js';
import type { DriverCallOptions, RpcAddress, RpcOutcome, RpcRequest } from '../types.js';
import { hexId, RecentIds, type ResolvedOptions } from './options.js';
import { controlExchange, fanoutExchangeDeclaration, replyQueueDeclaration, replyQueueName, requestRoute } from './topology.js';
import { decodeReply, encodeRequest } from './wire.js';

/** setTimeout's largest delay. */
const MAX_DELAY = 2_147_483_647;

interface Waiting {
  resolve(outcome: RpcOutcome): void;
  reject(error: Error): void;
  /** Restarted by every heartbeat; none for a call that waits for ever. */
  timer: NodeJS.Timeout | undefined;
  /** A result or failure that came before its `ending` message (oslo before 2016 sent two messages). */
  outcome?: RpcOutcome;
  cleanup(): void;
}

export class BrokerCaller {
  private replies: Promise<string> | undefined;
  private consumer: Consumer | undefined;
  private replyQueue: string | undefined;
  private readonly waiting = new Map<string, Waiting>();
  private readonly exchanges = new Set<string>();
  private readonly seen = new RecentIds(256);
  private closed = false;

  constructor(
    private readonly transport: () => Promise<Transport>,
    private readonly o: ResolvedOptions,
  ) {}

  async call(address: RpcAddress, request: RpcRequest, options: DriverCallOptions): Promise<RpcOutcome> {
    if (address.fanout) throw new RpcError(`a call cannot go to every server of topic '${address.topic}' (fanout): use cast() for a fanout, or drop fanout to call one server`);
    this.checkOpen();
    options.signal?.throwIfAborted();
    const t = await this.transport();
    const replyQueue = await this.ensureReplies(t);
    const msgId = hexId();
    const route = requestRoute(address, this.o.exchange);
    // A timeout of Infinity waits for ever: no timer, no call monitor, no expiration.
    const bounded = Number.isFinite(options.timeout);
    const callMonitor = this.o.callMonitor && bounded ? options.timeout / 1000 : null;
    const message = encodeRequest(request, { uniqueId: hexId(), msgId, replyQueue, callMonitorTimeout: callMonitor }, bounded ? options.timeout : undefined);
    return new Promise<RpcOutcome>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => this.fail(msgId, signal?.reason instanceof Error ? signal.reason : new RpcError(`the call of '${request.method}' on topic '${address.topic}' was aborted`));
      const expire = (): void => this.fail(msgId, this.timeoutError(t, address, request, options.timeout));
      const timer = bounded ? setTimeout(expire, Math.min(options.timeout, MAX_DELAY)) : undefined;

      const waiting: Waiting = { resolve, reject, timer, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      // Registered before publishing: a fast server may answer before the publish confirm arrives.
      this.waiting.set(msgId, waiting);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) return onAbort(); // aborted while the reply queue was being prepared
      this.publish(t, route, message).catch((error: unknown) => this.fail(msgId, error instanceof Error ? error : new RpcError(String(error))));
    });
  }

  async cast(address: RpcAddress, request: RpcRequest): Promise<void> {
    this.checkOpen();
    const t = await this.transport();
    await this.publish(t, requestRoute(address, this.o.exchange), encodeRequest(request, { uniqueId: hexId() }));
  }

  /** Rejects the calls still waiting, stops reading replies and deletes the reply queue. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const msgId of [...this.waiting.keys()]) this.fail(msgId, new RpcError('the broker RPC driver was closed while this call waited for its reply'));
    await this.replies?.catch(() => undefined);
    await this.consumer?.close().catch(() => undefined);
    if (this.replyQueue) {
      const t = await this.transport();
      await t.deleteQueue(this.replyQueue).catch((error: unknown) => this.o.logger.warn(`could not delete reply queue '${String(this.replyQueue)}': ${String(error)}`));
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new RpcError('the broker RPC driver is closed: create a new one to make calls');
  }

  private timeoutError(t: Transport, address: RpcAddress, request: RpcRequest, timeout: number): RpcTimeoutError {
    const where = `exchange '${address.exchange ?? this.o.exchange}'${address.server ? `, server '${address.server}'` : ''}`;
    return new RpcTimeoutError(
      `no server answered '${request.method}' on topic '${address.topic}' (${where}) within ${timeout} ms: check that an RPC server ` +
        `listens on that topic${address.server ? ' and server' : ''} in exchange '${address.exchange ?? this.o.exchange}' on ${t.url}, ` +
        `and that it is not stuck (a live server heartbeats long calls); or raise the timeout`,
    );
  }

  private async publish(t: Transport, route: ReturnType<typeof requestRoute>, message: RawMessage): Promise<void> {
    const options = { exchange: route.exchange, routingKey: route.routingKey, unroutable: 'drop' as const };
    if (route.fanout) {
      // Auto-deleted with its last queue, so declared before every fanout cast (as oslo does per connection).
      await t.declareExchange(fanoutExchangeDeclaration(options.routingKey));
      await t.publish(message, options);
      return;
    }
    await this.ensureExchange(t, route.exchange);
    try {
      await t.publish(message, options);
    } catch {
      // The exchange may have been deleted since (auto-delete, a broker reset): declare it and try once more.
      this.exchanges.delete(route.exchange);
      await this.ensureExchange(t, route.exchange);
      await t.publish(message, options);
    }
  }

  private async ensureExchange(t: Transport, name: string): Promise<void> {
    if (this.exchanges.has(name)) return;
    await t.declareExchange(controlExchange(name, this.o));
    this.exchanges.add(name);
  }

  private ensureReplies(t: Transport): Promise<string> {
    this.replies ??= (async () => {
      const name = this.o.replyQueue ?? replyQueueName(hexId());
      await t.declareQueue(replyQueueDeclaration(name, this.o));
      this.replyQueue = name;
      const consumer = t.createConsumer({ prefetch: 0, onMessage: (d) => this.onReply(d), onError: (e) => this.o.logger.warn(`reading reply queue '${name}': ${e.message}`) });
      this.consumer = consumer;
      await consumer.consume(name);
      return name;
    })();
    this.replies.catch(() => (this.replies = undefined));
    return this.replies;
  }

  private onReply(delivery: Delivery): void {
    const decoded = decodeReply(delivery.message);
    if (!decoded.ok) {
      this.o.logger.warn(`dropped a malformed reply on '${delivery.queue}': ${decoded.reason}`);
      void delivery.reject({ requeue: false, reason: `malformed oslo reply: ${decoded.reason}` }).catch(() => undefined);
      return;
    }
    void delivery.ack().catch(() => undefined);
    const reply = decoded.value;
    if (reply.uniqueId !== undefined && this.seen.seen(reply.uniqueId)) return;
    const waiting = this.waiting.get(reply.msgId);
    if (!waiting) {
      this.o.logger.debug(`a reply to ${reply.msgId} came after its call gave up`);
      return;
    }
    if (reply.outcome) waiting.outcome = reply.outcome;
    if (reply.ending) this.settle(reply.msgId, waiting.outcome ?? { ok: true, result: null });
    else waiting.timer?.refresh(); // a heartbeat (or a result before its ending): the server is alive
  }

  private take(msgId: string): Waiting | undefined {
    const waiting = this.waiting.get(msgId);
    if (!waiting) return undefined;
    this.waiting.delete(msgId);
    clearTimeout(waiting.timer);
    waiting.cleanup();
    return waiting;
  }

  private settle(msgId: string, outcome: RpcOutcome): void {
    this.take(msgId)?.resolve(outcome);
  }

  private fail(msgId: string, error: Error): void {
    this.take(msgId)?.reject(error);
  }
}
