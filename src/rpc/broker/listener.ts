/**
 * The serving end of the broker driver: one consumer on `<topic>`, `<topic>.<server>` and its own fanout queue;
 * each request is acked as it starts, handed to the handler, heartbeated while it runs (when its caller asked
 * for a call monitor) and answered on the caller's reply queue. A malformed request is dead-lettered with its reason.
 */
import type { Consumer, Delivery, Transport } from '../../transport/types.js';
import type { ListenOptions, RemoteErrorInfo, RpcAddress, RpcHandler, RpcListener, RpcOutcome } from '../types.js';
import { hexId, RecentIds, type ResolvedOptions } from './options.js';
import { fanoutQueue, listenerTopology } from './topology.js';
import { decodeRequest, encodeReply, type IncomingRequest } from './wire.js';

/** What a handler that threw (instead of answering with an outcome) is reported as. */
function thrown(error: unknown): RemoteErrorInfo {
  if (error instanceof Error) return { type: error.name || 'Error', message: error.message, module: null, stack: error.stack ?? null };
  return { type: 'Error', message: String(error), module: null, stack: null };
}

interface Waiting {
  delivery: Delivery;
  incoming: IncomingRequest;
}

export class BrokerListener implements RpcListener {
  private consumer: Consumer | undefined;
  private readonly running = new Set<Promise<void>>();
  private waiting: Waiting[] = [];
  private readonly seen = new RecentIds(256);
  private readonly ownQueue: string;
  private closed: Promise<void> | undefined;
  /** Requests run at once, and held unstarted at most (the consumer's prefetch window). */
  private readonly concurrency: number;

  private constructor(
    private readonly t: Transport,
    private readonly target: RpcAddress,
    private readonly handler: RpcHandler,
    private readonly options: ListenOptions,
    private readonly o: ResolvedOptions,
    private readonly onClosed: (l: BrokerListener) => void,
  ) {
    this.ownQueue = fanoutQueue(target.topic, hexId());
    this.concurrency = options.concurrency ?? o.concurrency;
  }

  /** Declares the server's topology and starts consuming; resolves once requests are taken. */
  static async start(t: Transport, address: RpcAddress, handler: RpcHandler, options: ListenOptions, o: ResolvedOptions, onClosed: (l: BrokerListener) => void): Promise<BrokerListener> {
    const listener = new BrokerListener(t, address, handler, options, o, onClosed);
    await listener.open();
    return listener;
  }

  private async open(): Promise<void> {
    const { topic } = this.target;
    const server = this.target.server ?? this.o.server;
    const exchange = this.target.exchange ?? this.o.exchange;
    const topology = listenerTopology(exchange, topic, server, this.ownQueue.slice(`${topic}_fanout_`.length), this.o);
    for (const e of topology.exchanges) await this.t.declareExchange(e);
    for (const q of topology.queues) await this.t.declareQueue(q);
    for (const b of topology.bindings) await this.t.bindQueue(b);
    this.consumer = this.t.createConsumer({
      prefetch: this.concurrency,
      onMessage: (d) => this.onRequest(d),
      onError: (e) => this.o.logger.warn(`server of topic '${topic}': ${e.message}`),
    });
    try {
      for (const q of topology.queues) await this.consumer.consume(q.name);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** Stops taking requests, lets running ones answer, then deletes its own fanout queue (the shared queues stay, as oslo's). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      // Requests not started are handed back to their queue (unacked) by the consumer's close.
      this.waiting = [];
      await this.consumer?.close().catch(() => undefined);
      await Promise.allSettled([...this.running]);
      await this.t.deleteQueue(this.ownQueue).catch((e: unknown) => this.o.logger.warn(`could not delete fanout queue '${this.ownQueue}': ${String(e)}`));
      this.onClosed(this);
    })();
    return this.closed;
  }

  private onRequest(delivery: Delivery): void {
    const decoded = decodeRequest(delivery.message);
    if (!decoded.ok) {
      this.o.logger.warn(`dead-lettered a malformed request on '${delivery.queue}': ${decoded.reason}`);
      void delivery.reject({ requeue: false, reason: `malformed oslo request: ${decoded.reason}` }).catch(() => undefined);
      if (decoded.replyTo) {
        const { msgId, replyQueue } = decoded.replyTo;
        const error: RemoteErrorInfo = { type: 'MalformedRequest', module: 'celeriac', message: `the request could not be read: ${decoded.reason}`, stack: null };
        void this.reply(replyQueue, msgId, { ok: false, error });
      }
      return;
    }
    this.waiting.push({ delivery, incoming: decoded.value });
    this.pump();
  }

  /**
   * Starts waiting requests while fewer than `concurrency` run. Each is acked as it starts, as oslo's RPC server
   * does (a request never runs twice, even if this process dies); those not started yet stay unacked, so the
   * prefetch window (= concurrency) keeps a busy server from taking more than its share of `<topic>`.
   */
  private pump(): void {
    while (this.running.size < this.concurrency && this.waiting.length > 0 && !this.closed) {
      const { delivery, incoming } = this.waiting.shift() as Waiting;
      void delivery.ack().catch(() => undefined);
      if (incoming.uniqueId !== undefined && this.seen.seen(incoming.uniqueId)) {
        this.o.logger.debug(`ignored a duplicate of request ${incoming.uniqueId}`);
        continue;
      }
      const run: Promise<void> = this.run(incoming, delivery.queue).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(incoming: IncomingRequest, queue: string): Promise<void> {
    const { msgId, replyQueue } = incoming;
    const oneWay = msgId === undefined || replyQueue === undefined;
    const heartbeat = oneWay ? undefined : this.startHeartbeat(incoming);
    let outcome: RpcOutcome;
    try {
      outcome = await this.handler(incoming.request, { oneWay, peer: replyQueue ?? queue });
    } catch (error) {
      outcome = { ok: false, error: thrown(error) };
    } finally {
      if (heartbeat) clearInterval(heartbeat);
    }
    if (oneWay) {
      if (!outcome.ok) this.o.logger.debug(`cast '${incoming.request.method}' failed: ${outcome.error.type}: ${outcome.error.message}`);
      return;
    }
    await this.reply(replyQueue, msgId, outcome);
  }

  /** Every half of the caller's call-monitor timeout (or ListenOptions.heartbeatInterval when shorter): "still running". */
  private startHeartbeat(incoming: IncomingRequest): NodeJS.Timeout | undefined {
    const { msgId, replyQueue, callMonitorTimeout } = incoming;
    if (!msgId || !replyQueue || !callMonitorTimeout || this.options.heartbeatInterval === 0) return undefined;
    const half = (callMonitorTimeout * 1000) / 2;
    const every = Math.max(10, Math.min(half, this.options.heartbeatInterval ?? half));
    const timer = setInterval(() => {
      this.t.publish(encodeReply(msgId, hexId(), undefined), { exchange: '', routingKey: replyQueue }).catch((e: unknown) => {
        // The caller or the broker is gone: stop telling it; the call itself still answers if it can.
        this.o.logger.debug(`heartbeat to '${replyQueue}' failed: ${String(e)}`);
        clearInterval(timer);
      });
    }, every);
    return timer;
  }

  private async reply(replyQueue: string, msgId: string, outcome: RpcOutcome): Promise<void> {
    let message;
    try {
      message = encodeReply(msgId, hexId(), outcome);
    } catch (error) {
      const why = `the result could not be sent as JSON: ${error instanceof Error ? error.message : String(error)}`;
      message = encodeReply(msgId, hexId(), { ok: false, error: { type: 'TypeError', module: 'builtins', message: why, stack: null } });
    }
    try {
      await this.t.publish(message, { exchange: '', routingKey: replyQueue });
    } catch (error) {
      this.o.logger.warn(`the reply to ${msgId} could not be sent to '${replyQueue}' (the caller may be gone): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
