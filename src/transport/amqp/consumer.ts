/**
 * The AMQP consumer: one channel per Consumer, basic.qos (channel-wide) as the shared prefetch window over
 * all its queues, and a channel reopened (queues redeclared, consuming resumed) after a connection loss,
 * a channel error or a cancel by the broker. Deliveries of a dead channel are redelivered by RabbitMQ, so
 * settling them is a no-op.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { ProtocolError, TransportError } from '../../errors.js';
import { sizeProblem } from '../../protocol/limits.js';
import { backoffDelay } from '../../util/backoff.js';
import { uuid } from '../../util/ids.js';
import type { Consumer, ConsumerOptions, Delivery } from '../types.js';
import { rawMessage } from './message.js';

export interface ConsumerHost {
  connection(): Promise<ChannelModel>;
  readonly connected: boolean;
  /** Declares the queue again if this transport declared it before (a broker cancel means it was deleted). */
  redeclare(queue: string, channel: Channel): Promise<void>;
  /** Keeps the message in the dead-letter store, confirmed, before the original is acked. */
  deadLetter(delivery: Delivery, reason: string): Promise<void>;
  /** Largest body in bytes (0 = none): bigger deliveries are dead-lettered, not handed out. */
  readonly maxMessageSize: number;
  held(queue: string, change: number): void;
  wrap(what: string, error: unknown): TransportError;
  forget(consumer: AmqpConsumer): void;
}

const REOPEN = { base: 200, max: 5000, jitter: true } as const;

export class AmqpConsumer implements Consumer {
  private readonly id = uuid().slice(0, 8);
  private readonly active: string[] = [];
  private readonly tags = new Map<string, string>();
  private channel: Channel | undefined;
  private generation = 0;
  private prefetch: number;
  private closed = false;
  private opening: Promise<Channel> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Delivery tag -> queue, of what this channel delivered and nobody settled yet. */
  private readonly unsettled = new Map<number, string>();

  constructor(
    private readonly host: ConsumerHost,
    private readonly options: ConsumerOptions,
  ) {
    this.prefetch = options.prefetch;
  }

  get queues(): readonly string[] {
    return this.active;
  }

  private report(error: Error): void {
    this.options.onError?.(error);
  }

  /**
   * The live channel, opened (and the queues consumed again) when there is none. `on` is the new connection
   * during a restore, which must not wait for the session (it is what the session waits for).
   */
  private open(on?: ChannelModel): Promise<Channel> {
    if (this.channel) return Promise.resolve(this.channel);
    if (this.opening && !on) return this.opening;
    const opening = (async () => {
      const connection = on ?? (await this.host.connection());
      if (this.channel) return this.channel; // a restore opened one meanwhile
      const ch = await connection.createChannel();
      const generation = ++this.generation;
      ch.on('error', () => undefined);
      ch.on('close', () => this.onChannelClosed(ch, generation));
      await ch.prefetch(this.prefetch, true);
      this.channel = ch;
      try {
        for (const q of this.active) await this.subscribe(ch, q);
      } catch (error) {
        this.channel = undefined;
        await ch.close().catch(() => undefined);
        throw error;
      }
      return ch;
    })();
    this.opening = opening;
    void opening.then(
      () => this.opening === opening && (this.opening = undefined),
      () => this.opening === opening && (this.opening = undefined),
    );
    return opening;
  }

  private dropUnsettled(): void {
    for (const queue of this.unsettled.values()) this.host.held(queue, -1);
    this.unsettled.clear();
  }

  private onChannelClosed(ch: Channel, generation: number): void {
    if (generation !== this.generation) return;
    if (this.channel === ch) this.channel = undefined;
    this.tags.clear();
    this.dropUnsettled();
    if (this.closed) return;
    // A lost connection is reopened by the transport's restore hook; a channel error here.
    if (this.host.connected) this.scheduleReopen(0);
  }

  private scheduleReopen(attempt: number): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed || this.channel) return;
      this.open().catch((error: unknown) => {
        this.report(this.host.wrap(`resume consuming ${this.active.join(', ')}`, error));
        this.scheduleReopen(attempt + 1);
      });
    }, backoffDelay(attempt, REOPEN));
  }

  /**
   * After a reconnect: a new channel on the new connection, consuming every queue again. A failure (a queue
   * gone that this transport never declared) is reported and retried with back-off, without holding up the
   * connection for everyone else.
   */
  async restore(connection: ChannelModel): Promise<void> {
    if (this.closed) return;
    this.channel = undefined;
    this.tags.clear();
    this.dropUnsettled();
    await this.open(connection).catch((error: unknown) => {
      this.report(this.host.wrap(`resume consuming ${this.active.join(', ')}`, error));
      this.scheduleReopen(1);
    });
  }

  /** Called by the transport when the connection is lost. */
  lost(error: Error): void {
    this.report(new TransportError(`lost the connection to RabbitMQ (${error.message}); reconnecting with back-off, unacked messages will be redelivered`, { cause: error }));
  }

  private async subscribe(ch: Channel, queue: string): Promise<void> {
    const generation = this.generation;
    const reply = await ch.consume(queue, (msg) => (msg ? this.deliver(ch, generation, queue, msg) : this.onCancelled(queue)), { noAck: false });
    this.tags.set(queue, reply.consumerTag);
  }

  private onCancelled(queue: string): void {
    this.tags.delete(queue);
    if (this.closed || !this.active.includes(queue)) return;
    this.report(new TransportError(`RabbitMQ cancelled the consumer of queue '${queue}' (deleted or its node went down); redeclaring it and consuming again`));
    const again = async (attempt: number): Promise<void> => {
      if (this.closed || !this.active.includes(queue) || this.tags.has(queue)) return;
      try {
        const ch = await this.open();
        await this.host.redeclare(queue, ch);
        if (!this.tags.has(queue)) await this.subscribe(ch, queue);
      } catch (error) {
        this.report(this.host.wrap(`consume queue '${queue}' again`, error));
        setTimeout(() => void again(attempt + 1), backoffDelay(attempt, REOPEN));
      }
    };
    void again(0);
  }

  private deliver(ch: Channel, generation: number, queue: string, msg: ConsumeMessage): void {
    const tag = msg.fields.deliveryTag;
    let settled = false;
    const live = (): boolean => !settled && generation === this.generation && this.channel === ch && this.unsettled.has(tag);
    const settle = (fn: () => void): void => {
      if (!live()) return;
      settled = true;
      this.unsettled.delete(tag);
      this.host.held(queue, -1);
      fn();
    };
    this.unsettled.set(tag, queue);
    this.host.held(queue, 1);
    const delivery: Delivery = {
      message: rawMessage(msg),
      deliveryTag: `${this.id}.${generation}.${tag}`,
      queue,
      exchange: msg.fields.exchange,
      routingKey: msg.fields.routingKey,
      redelivered: msg.fields.redelivered,
      gone: () => !settled && !live(),
      ack: async () => settle(() => ch.ack(msg)),
      reject: async ({ requeue, reason }) => {
        if (!live()) return;
        if (requeue) return settle(() => ch.nack(msg, false, true));
        try {
          await this.host.deadLetter(delivery, reason ?? 'rejected');
        } catch (error) {
          // Not kept: reject it to RabbitMQ (dropped, or its own dead-lettering by policy) rather than hold it forever.
          settle(() => ch.nack(msg, false, false));
          throw error;
        }
        settle(() => ch.ack(msg));
      },
    };
    const tooLarge = sizeProblem(msg.content.length, this.host.maxMessageSize);
    if (tooLarge) {
      this.report(new ProtocolError(`message too large: ${tooLarge} (queue '${queue}'): dead-lettered`));
      void delivery.reject({ requeue: false, reason: `message too large: ${tooLarge}` }).catch((e: unknown) => this.report(this.host.wrap('dead-letter a message', e)));
      return;
    }
    this.options.onMessage(delivery);
  }

  async consume(queue: string): Promise<void> {
    if (this.closed) throw new TransportError('consumer is closed: create a new consumer to read this queue again');
    if (this.active.includes(queue)) return;
    this.active.push(queue);
    try {
      const wasOpen = this.channel !== undefined;
      const ch = await this.open();
      if (wasOpen || !this.tags.has(queue)) await this.subscribe(ch, queue);
    } catch (error) {
      this.active.splice(this.active.indexOf(queue), 1);
      throw this.host.wrap(`consume queue '${queue}'`, error);
    }
  }

  async cancel(queue: string): Promise<void> {
    const i = this.active.indexOf(queue);
    if (i < 0) return;
    this.active.splice(i, 1);
    const tag = this.tags.get(queue);
    this.tags.delete(queue);
    if (tag && this.channel) await this.channel.cancel(tag).catch(() => undefined);
  }

  setPrefetch(prefetch: number): void {
    this.prefetch = prefetch;
    void this.channel?.prefetch(prefetch, true).catch((e: unknown) => this.report(this.host.wrap('set the prefetch window', e)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.opening?.catch(() => undefined);
    const ch = this.channel;
    this.channel = undefined;
    this.generation++;
    this.dropUnsettled();
    // Closing the channel hands every unacked delivery back to its queue, marked redelivered.
    await ch?.close().catch(() => undefined);
    this.host.forget(this);
  }
}
