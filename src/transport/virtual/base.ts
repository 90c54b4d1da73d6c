/**
 * `VirtualTransport`: the whole Transport contract over a `VirtualStore`'s primitives. Exchange routing,
 * the prefetch window, ack/reject/requeue, dead-lettering and waking consumers are written here once.
 */
import { ProtocolError, TransportError } from '../../errors.js';
import { decodeEnvelope, encodeEnvelope } from '../../protocol/envelope.js';
import { checkOutgoingSize, messageSizeLimit } from '../../protocol/limits.js';
import type { DeliveryInfo, RawMessage } from '../../protocol/message.js';
import type { Clock } from '../../util/clock.js';
import { systemClock } from '../../util/clock.js';
import { uuid } from '../../util/ids.js';
import type {
  Binding,
  ConsumerOptions,
  DeadLetter,
  ExchangeDeclaration,
  OutgoingMessage,
  PublishOptions,
  QueueDeclaration,
  QueueInfo,
  Transport,
  TransportCapabilities,
} from '../types.js';
import { VirtualConsumer } from './consumer.js';
import { QueueExpiry } from './expiry.js';
import { route } from './exchange.js';
import type { PutItem, VirtualStore } from './store.js';

export interface VirtualTransportOptions {
  /** ms before an unacked message of a vanished consumer is delivered again (default 1 h). */
  visibilityTimeout?: number;
  /** Fallback poll when the store cannot signal new messages, in ms (default 1000). */
  pollInterval?: number;
  clock?: Clock;
  /** Largest message body in bytes (default 16 MiB, 0 = none): refused on publish, dead-lettered on receive. */
  maxMessageSize?: number;
}

/**
 * A message's own TTL in ms: its AMQP `expiration` property, a non-negative integer as a string (kombu sends
 * a task's `expires` so). Anything else is no TTL, as RabbitMQ would refuse it rather than guess.
 */
export function messageExpiration(message: RawMessage): number | undefined {
  const raw = message.properties.expiration;
  if (raw === undefined || raw === null || String(raw).trim() === '') return undefined;
  const ms = Number(raw);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

export class VirtualTransport implements Transport {
  readonly capabilities: TransportCapabilities;
  readonly visibilityTimeout: number;
  readonly pollInterval: number;
  readonly clock: Clock;
  readonly maxMessageSize: number;
  private readonly consumers = new Set<VirtualConsumer>();
  private opened: Promise<void> | undefined;
  private readonly expiry: QueueExpiry;

  constructor(
    readonly url: string,
    readonly store: VirtualStore,
    options: VirtualTransportOptions = {},
  ) {
    this.capabilities = store.capabilities;
    this.visibilityTimeout = options.visibilityTimeout ?? 3_600_000;
    this.pollInterval = options.pollInterval ?? 1000;
    this.clock = options.clock ?? systemClock;
    this.maxMessageSize = messageSizeLimit(options.maxMessageSize);
    this.expiry = new QueueExpiry({
      store,
      now: () => this.clock.now(),
      consumed: () => new Set([...this.consumers].flatMap((c) => c.queues)),
      redeclare: async (queue, bindings) => {
        await this.store.declareQueue(queue);
        for (const b of bindings) await this.store.addBinding(b);
      },
      // Best effort, tried again on the next tick; a broker outage is reported by the consumers.
      onError: () => undefined,
    });
  }

  /** Touches this process's expiring queues and deletes stale ones now (a timer does it too). */
  sweepExpiredQueues(): Promise<void> {
    return this.expiry.tick();
  }

  connect(): Promise<void> {
    this.opened ??= Promise.resolve(this.store.open());
    return this.opened;
  }

  /** The store's connection reports (networked stores); stores that never lose a connection report nothing. */
  onConnection(listener: (status: 'lost' | 'restored', error?: Error) => void): () => void {
    return this.store.onStatus?.(listener) ?? (() => undefined);
  }

  async close(): Promise<void> {
    this.expiry.stop();
    await Promise.all([...this.consumers].map((c) => c.close()));
    if (this.opened) {
      await this.opened.catch(() => undefined);
      this.opened = undefined;
      await this.store.close();
    }
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    await this.connect();
    await this.store.declareExchange(exchange);
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    await this.connect();
    await this.store.declareQueue(queue);
    this.expiry.declared(queue);
  }

  async bindQueue(binding: Binding): Promise<void> {
    await this.connect();
    await this.store.addBinding(binding);
    this.expiry.bound(binding);
  }

  async deleteQueue(name: string): Promise<void> {
    await this.connect();
    await this.store.deleteQueue(name);
    this.expiry.deleted(name);
  }

  async deleteExchange(name: string): Promise<void> {
    await this.connect();
    await this.store.deleteExchange(name);
    this.expiry.exchangeDeleted(name);
  }

  /** Queues an (exchange, routing key) pair reaches; throws when a non-fanout publish reaches none. */
  private async routeTo(options: PublishOptions): Promise<string[]> {
    if (options.exchange === '') return [options.routingKey];
    const exchange = await this.store.getExchange(options.exchange);
    if (!exchange) {
      throw new TransportError(
        `exchange '${options.exchange}' is not declared: declare it (and bind a queue) before publishing, ` +
          `or publish to the default exchange '' with the queue name as routing key`,
      );
    }
    const queues = route(exchange.type, await this.store.bindings(exchange.name), options.routingKey);
    if (queues.length === 0 && exchange.type !== 'fanout' && options.unroutable !== 'drop') {
      throw new TransportError(
        `no queue is bound to exchange '${options.exchange}' with routing key '${options.routingKey}': ` +
          `the message would be lost. Declare and bind the queue first.`,
      );
    }
    return queues;
  }

  /**
   * The stored copies of a message, or none when the store broadcast it itself (its own fanout). The
   * default exchange (Celery's own choice for task messages) routes without a store read, synchronously.
   */
  private itemsFor(message: RawMessage, options: PublishOptions): PutItem[] | Promise<PutItem[]> {
    if (this.maxMessageSize > 0 && message.body.length > this.maxMessageSize) checkOutgoingSize(message.body.length, this.maxMessageSize, `publish to '${options.exchange || options.routingKey}'`);
    if (options.exchange === '') return [this.copy(message, { exchange: '', routing_key: options.routingKey }, options.routingKey)];
    return this.itemsViaExchange(message, options);
  }

  private async itemsViaExchange(message: RawMessage, options: PublishOptions): Promise<PutItem[]> {
    if (this.store.putFanout) {
      const exchange = await this.store.getExchange(options.exchange);
      if (exchange?.type === 'fanout') {
        const info = { exchange: options.exchange, routing_key: options.routingKey };
        await this.store.putFanout(options.exchange, options.routingKey, encodeEnvelope(message, info, uuid()));
        return [];
      }
    }
    const info = { exchange: options.exchange, routing_key: options.routingKey };
    return (await this.routeTo(options)).map((queue) => this.copy(message, info, queue));
  }

  /** One stored copy of `message` for `queue`, with its own delivery tag (and deadline, from `expiration`). */
  private copy(message: RawMessage, info: DeliveryInfo, queue: string): PutItem {
    const priority = message.properties.priority ?? 0;
    const tag = uuid();
    const item: PutItem = this.store.keepsObjects
      ? { queue, tag, priority, envelope: '', decoded: { message, deliveryInfo: info, deliveryTag: tag, redelivered: false } }
      : { queue, tag, priority, envelope: encodeEnvelope(message, info, tag) };
    const ttl = messageExpiration(message);
    if (ttl !== undefined && this.capabilities.messageTtl) item.expiresAt = this.clock.now() + ttl;
    return item;
  }

  async publish(message: RawMessage, options: PublishOptions): Promise<void> {
    await this.connect();
    const found = this.itemsFor(message, options);
    const items = found instanceof Promise ? await found : found;
    if (items.length) await this.store.put(items);
  }

  async publishMany(messages: readonly OutgoingMessage[]): Promise<void> {
    await this.connect();
    const items: PutItem[] = [];
    for (const m of messages) {
      const found = this.itemsFor(m.message, m);
      for (const item of found instanceof Promise ? await found : found) items.push(item);
    }
    if (items.length) await this.store.put(items);
  }

  createConsumer(options: ConsumerOptions): VirtualConsumer {
    const consumer = new VirtualConsumer(this, options, () => this.consumers.delete(consumer));
    this.consumers.add(consumer);
    return consumer;
  }

  async purge(queue: string): Promise<number> {
    await this.connect();
    return this.store.purge(queue);
  }

  async queueInfo(queue: string): Promise<QueueInfo> {
    await this.connect();
    return this.withConsumers(await this.store.info(queue));
  }

  async listQueues(): Promise<QueueInfo[]> {
    await this.connect();
    return (await this.store.listQueues()).map((q) => this.withConsumers(q));
  }

  /** A broker living in this process has no consumers but this transport's: it counts them (QueueInfo.consumers). */
  private withConsumers(info: QueueInfo): QueueInfo {
    if (this.capabilities.crossProcess) return info;
    let consumers = 0;
    for (const c of this.consumers) if (c.queues.includes(info.name)) consumers++;
    return { ...info, consumers };
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    await this.connect();
    const stored = await this.store.deadLetters(limit);
    return stored.map(({ envelope, ...rest }) => {
      let message: RawMessage;
      try {
        message = decodeEnvelope(envelope).message;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        message = { body: Buffer.from(envelope), contentType: 'application/octet-stream', contentEncoding: 'binary', headers: {}, properties: {} };
      }
      return { ...rest, message };
    });
  }
}
