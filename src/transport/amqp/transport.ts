/**
 * `AmqpTransport`: the Transport contract on RabbitMQ's own exchanges, queues and acks. It remembers what
 * it declared so a reconnect can declare it again, and keeps celeriac's dead-letter store in a queue.
 */
import type { Channel, ChannelModel } from 'amqplib';
import type { TransportError } from '../../errors.js';
import { checkOutgoingSize } from '../../protocol/limits.js';
import type { RawMessage } from '../../protocol/message.js';
import type {
  Binding,
  Consumer,
  ConsumerOptions,
  DeadLetter,
  Delivery,
  ExchangeDeclaration,
  OutgoingMessage,
  PublishOptions,
  QueueDeclaration,
  QueueInfo,
  Transport,
  TransportCapabilities,
} from '../types.js';
import { AmqpConsumer } from './consumer.js';
import { listQueuesOverHttp } from './management.js';
import { deadLetterMessage, rawMessage, readDeadLetter } from './message.js';
import { Publisher } from './publisher.js';
import { AmqpSession } from './session.js';
import { amqpError, replyCode, type AmqpEndpoint, type Permission } from './url.js';
import { queueArguments } from './topology.js';

export interface AmqpTransportOptions {
  /** Queue and exchange of celeriac's dead-letter store. */
  deadLetterQueue: string;
  deadLetterExchange: string;
  deadLetterMax: number;
  /** Base URL of the management HTTP API, for listQueues (default http://host:15672). */
  managementUrl: string;
  /** Largest message body in bytes (0 = none): refused on publish, dead-lettered on receive. */
  maxMessageSize: number;
}

export class AmqpTransport implements Transport {
  readonly capabilities: TransportCapabilities = {
    name: 'amqp',
    fanout: true,
    topic: true,
    fanoutPatterns: false,
    priority: 'higher-first',
    persistent: true,
    crossProcess: true,
    visibilityTimeout: false,
    deadLetter: true,
    messageTtl: true,
  };
  private readonly session: AmqpSession;
  private readonly publisher: Publisher;
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly exchanges = new Map<string, ExchangeDeclaration>();
  private readonly queues = new Map<string, QueueDeclaration>();
  private readonly bindings = new Map<string, Binding>();
  private readonly unacked = new Map<string, number>();
  private ops: Promise<Channel> | undefined;
  private readonly connectionListeners = new Set<(status: 'lost' | 'restored', error?: Error) => void>();
  private deadDeclared: Promise<void> | undefined;

  constructor(
    readonly url: string,
    readonly endpoint: AmqpEndpoint,
    private readonly options: AmqpTransportOptions,
  ) {
    this.session = new AmqpSession(url, endpoint, { lost: (e) => this.onLost(e), restore: (c) => this.restore(c) });
    this.publisher = new Publisher({
      connection: () => this.session.connection(),
      mandatory: (out) => out.exchange !== '' && out.unroutable !== 'drop' && this.exchanges.get(out.exchange)?.type !== 'fanout',
      wrap: (what, error) => this.wrap(what, error, 'write'),
    });
  }

  wrap(what: string, error: unknown, permission?: Permission): TransportError {
    return amqpError(this.endpoint, this.url, what, error, permission);
  }

  connect(): Promise<void> {
    return this.session.connect();
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.close()));
    await this.publisher.close();
    await this.session.close();
  }

  private onLost(error: Error): void {
    this.ops = undefined;
    this.deadDeclared = undefined;
    this.publisher.reset();
    for (const c of this.consumers) c.lost(error);
    for (const l of this.connectionListeners) l('lost', error);
  }

  onConnection(listener: (status: 'lost' | 'restored', error?: Error) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /** On a new connection: declare the remembered topology again, then resume every consumer. */
  private async restore(connection: ChannelModel): Promise<void> {
    const ch = await connection.createChannel();
    for (const e of this.exchanges.values()) await this.declareExchangeOn(ch, e);
    for (const q of this.queues.values()) await this.declareQueueOn(ch, q);
    for (const b of this.bindings.values()) await ch.bindQueue(b.queue, b.exchange, b.routingKey);
    await ch.close();
    this.ops = Promise.resolve(connection.createChannel()).then((c) => this.watchOps(c));
    await this.ops;
    await Promise.all([...this.consumers].map((c) => c.restore(connection)));
    for (const l of this.connectionListeners) l('restored');
  }

  private watchOps(ch: Channel): Channel {
    ch.on('error', () => undefined);
    ch.on('close', () => {
      if (this.ops) void this.ops.then((c) => c === ch && (this.ops = undefined));
    });
    return ch;
  }

  /** Runs `fn` on the shared operations channel; a channel error closes it and the next call opens a new one. */
  private async op<T>(what: string, permission: Permission, fn: (ch: Channel) => Promise<T>): Promise<T> {
    try {
      this.ops ??= this.session.connection().then(async (c) => this.watchOps(await c.createChannel()));
      this.ops.catch(() => (this.ops = undefined));
      return await fn(await this.ops);
    } catch (error) {
      throw this.wrap(what, error, permission);
    }
  }

  private declareExchangeOn(ch: Channel, e: ExchangeDeclaration): Promise<unknown> {
    return ch.assertExchange(e.name, e.type, { durable: e.durable ?? true, autoDelete: e.autoDelete ?? false });
  }

  private declareQueueOn(ch: Channel, q: QueueDeclaration): Promise<unknown> {
    return ch.assertQueue(q.name, { durable: q.durable ?? true, exclusive: q.exclusive ?? false, autoDelete: q.autoDelete ?? false, arguments: queueArguments(q) });
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    if (exchange.name === '') return;
    await this.op(`declare exchange '${exchange.name}'`, 'configure', (ch) => this.declareExchangeOn(ch, exchange));
    this.exchanges.set(exchange.name, exchange);
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    await this.op(`declare queue '${queue.name}'`, 'configure', (ch) => this.declareQueueOn(ch, queue));
    this.queues.set(queue.name, queue);
  }

  async bindQueue(binding: Binding): Promise<void> {
    await this.op(`bind queue '${binding.queue}' to exchange '${binding.exchange}'`, 'write', (ch) => ch.bindQueue(binding.queue, binding.exchange, binding.routingKey));
    this.bindings.set(`${binding.queue}\u0000${binding.exchange}\u0000${binding.routingKey}`, binding);
  }

  async deleteQueue(name: string): Promise<void> {
    this.queues.delete(name);
    for (const [k, b] of this.bindings) if (b.queue === name) this.bindings.delete(k);
    // Deleting a queue that is already gone is not an error: RabbitMQ 3.10 answers delete-ok; a 404 NOT_FOUND (other servers) is taken as done.
    await this.op(`delete queue '${name}'`, 'configure', (ch) =>
      ch.deleteQueue(name).catch((error: unknown) => {
        if (replyCode(error) !== 404) throw error;
        return undefined;
      }),
    );
  }

  async deleteExchange(name: string): Promise<void> {
    this.exchanges.delete(name);
    for (const [k, b] of this.bindings) if (b.exchange === name) this.bindings.delete(k);
    // As for queues: an exchange already gone is taken as deleted (404 NOT_FOUND from servers that send it).
    await this.op(`delete exchange '${name}'`, 'configure', (ch) =>
      ch.deleteExchange(name).catch((error: unknown) => {
        if (replyCode(error) !== 404) throw error;
        return undefined;
      }),
    );
  }

  async publish(message: RawMessage, options: PublishOptions): Promise<void> {
    this.checkSize(message, options);
    return this.publisher.publish([{ ...options, message }]);
  }

  async publishMany(messages: readonly OutgoingMessage[]): Promise<void> {
    for (const m of messages) this.checkSize(m.message, m);
    return this.publisher.publish(messages);
  }

  private checkSize(message: RawMessage, options: PublishOptions): void {
    const max = this.options.maxMessageSize;
    if (max > 0 && message.body.length > max) checkOutgoingSize(message.body.length, max, `publish to '${options.exchange || options.routingKey}'`);
  }

  createConsumer(options: ConsumerOptions): Consumer {
    const session = this.session;
    const consumer = new AmqpConsumer(
      {
        connection: () => session.connection(),
        get connected() {
          return session.connected;
        },
        redeclare: async (queue, ch) => {
          const q = this.queues.get(queue);
          if (q) await this.declareQueueOn(ch, q);
          for (const b of this.bindings.values()) if (b.queue === queue) await ch.bindQueue(b.queue, b.exchange, b.routingKey);
        },
        deadLetter: (delivery, reason) => this.deadLetter(delivery, reason),
        maxMessageSize: this.options.maxMessageSize,
        held: (queue, change) => this.unacked.set(queue, Math.max(0, (this.unacked.get(queue) ?? 0) + change)),
        wrap: (what, error) => this.wrap(what, error, 'read'),
        forget: (c) => this.consumers.delete(c),
      },
      options,
    );
    this.consumers.add(consumer);
    return consumer;
  }

  private declareDeadLetters(): Promise<void> {
    const { deadLetterQueue: queue, deadLetterExchange: exchange, deadLetterMax } = this.options;
    this.deadDeclared ??= (async () => {
      await this.op(`declare the dead-letter exchange and queue '${queue}'`, 'configure', async (ch) => {
        await ch.assertExchange(exchange, 'topic', { durable: true, autoDelete: false });
        await ch.assertQueue(queue, { durable: true, autoDelete: false, arguments: { 'x-max-length': deadLetterMax } });
      });
      await this.op(`bind the dead-letter queue '${queue}'`, 'write', (ch) => ch.bindQueue(queue, exchange, '#'));
    })();
    this.deadDeclared.catch(() => (this.deadDeclared = undefined));
    return this.deadDeclared;
  }

  /** Publishes a rejected message to the dead-letter exchange (routing key: its queue), with why and when. */
  private async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    await this.declareDeadLetters();
    const message = deadLetterMessage(delivery.message, { id: delivery.deliveryTag, queue: delivery.queue, reason, at: Date.now() });
    this.exchanges.set(this.options.deadLetterExchange, { name: this.options.deadLetterExchange, type: 'topic' });
    await this.publisher.publish([{ exchange: this.options.deadLetterExchange, routingKey: delivery.queue, message }]);
  }

  async purge(queue: string): Promise<number> {
    return (await this.op(`purge queue '${queue}'`, 'read', (ch) => ch.purgeQueue(queue))).messageCount;
  }

  async queueInfo(queue: string): Promise<QueueInfo> {
    const reply = await this.op(`read the state of queue '${queue}'`, 'read', (ch) => ch.checkQueue(queue));
    return { name: queue, messages: reply.messageCount, unacked: this.unacked.get(queue) ?? 0, consumers: reply.consumerCount };
  }

  async listQueues(): Promise<QueueInfo[]> {
    const listed = await listQueuesOverHttp(this.options.managementUrl, this.endpoint);
    const known = [...new Set([...this.queues.keys(), ...[...this.consumers].flatMap((c) => c.queues)])];
    const out: QueueInfo[] = [];
    // Live counts come from a passive queue.declare, which renews an x-expires queue's lease: a queue this
    // process declared with `expires` is reported from the management plug-in's (sampled) view instead.
    const expiring = new Set(known.filter((n) => this.queues.get(n)?.expires !== undefined));
    for (const q of listed ?? []) {
      if (expiring.has(q.name)) out.push({ name: q.name, messages: q.messages ?? 0, unacked: this.unacked.get(q.name) ?? 0, ...(q.consumers === undefined ? {} : { consumers: q.consumers }) });
    }
    const names = listed ? listed.map((q) => q.name).filter((n) => !expiring.has(n)) : known;
    for (const name of names) {
      const info = await this.queueInfo(name).catch(() => undefined);
      if (info) out.push(info);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Reads the dead-letter queue without consuming it: every message is fetched, then handed back. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    await this.declareDeadLetters();
    const connection = await this.session.connection();
    const ch = await connection.createChannel();
    ch.on('error', () => undefined);
    const out: DeadLetter[] = [];
    try {
      for (;;) {
        const msg = await ch.get(this.options.deadLetterQueue, { noAck: false });
        if (!msg) break;
        const dead = readDeadLetter(rawMessage(msg));
        out.push({ id: dead.id, queue: dead.queue, reason: dead.reason, at: dead.at, message: dead.message });
      }
    } catch (error) {
      throw this.wrap(`read the dead-letter queue '${this.options.deadLetterQueue}'`, error, 'read');
    } finally {
      await ch.close().catch(() => undefined);
    }
    return out.reverse().slice(0, limit);
  }
}
