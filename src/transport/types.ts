/**
 * The broker contract. The app, the worker, the mailbox and the event system talk to a broker only
 * through `Transport`; they never see a connection, a channel, a Redis key or a SQL statement.
 *
 * A transport moves `RawMessage`s between exchanges and queues with AMQP 0-9-1 semantics:
 * exchanges (direct, topic, fanout) route by routing key to bound queues; the default exchange ''
 * routes to the queue named by the routing key. Consumers take messages with a prefetch window and
 * settle each delivery exactly once: ack, reject (requeue or dead-letter).
 *
 * @remarks Deliberately left out, so every broker can honour the contract:
 * - transactions, publisher confirms and channels (a transport uses them inside `publish` if it has them);
 * - per-queue consumer tags (a `Consumer` owns the set of queues it reads);
 * - headers exchanges and alternate exchanges;
 * - queue length limits, and per-queue dead-letter exchanges (x-dead-letter-exchange): an expired message
 *   is dropped, never dead-lettered (as on RabbitMQ for a queue without one, which is how celeriac declares them);
 * - broker-specific helpers (Redis pub/sub, SQL access): a plug-in keeps them private;
 * - taking one message without a consumer (AMQP basic.get): a consumer with prefetch 1 that cancels its
 *   queue after the first delivery does the same on every broker (`celeriac amqp basic.get`).
 * Optional methods (a plug-in may lack them; every built-in broker has them, the conformance suite checks):
 * `deleteExchange`. Optional fields: `QueueInfo.consumers` (where the broker knows every consumer).
 * What differs between brokers is stated as data in `TransportCapabilities`, never by checking a name.
 */
import type { RawMessage } from '../protocol/message.js';

export type ExchangeType = 'direct' | 'topic' | 'fanout';

export interface ExchangeDeclaration {
  name: string;
  type: ExchangeType;
  durable?: boolean;
  autoDelete?: boolean;
}

export interface QueueDeclaration {
  name: string;
  durable?: boolean;
  /** Only this connection may use it; deleted when it closes. */
  exclusive?: boolean;
  autoDelete?: boolean;
  /** Highest priority the queue honours (AMQP x-max-priority). */
  maxPriority?: number;
  /** Delete the queue after this many ms unused (AMQP x-expires). */
  expires?: number;
  /**
   * Drop messages that waited in this queue longer than this many ms (AMQP x-message-ttl), where
   * `capabilities.messageTtl`. A message's own `expiration` property (ms, as a string) applies too; the
   * shorter wins. Expired messages are never delivered; a requeued message keeps its original deadline.
   */
  messageTtl?: number;
}

export interface Binding {
  queue: string;
  exchange: string;
  routingKey: string;
}

/** What a broker can do, as data the core reads instead of checking broker names. */
export interface TransportCapabilities {
  /** Name of the plug-in, for banners and logs only. */
  readonly name: string;
  /** Fanout exchanges (broadcast to every bound queue): remote control and events need them. */
  readonly fanout: boolean;
  /** Topic exchanges with `*` / `#` patterns. */
  readonly topic: boolean;
  /**
   * Fanout exchanges filter by routing-key pattern and store nothing: kombu's Redis `fanout_patterns`
   * (PUBLISH to `/{db}.{exchange}/{routing_key}`, a binding PSUBSCRIBEs its key as a glob). Where true,
   * broadcast streams that subscribers filter by key use a fanout exchange (Celery's `celeryev` on Redis);
   * elsewhere a topic exchange.
   */
  readonly fanoutPatterns: boolean;
  /**
   * How priorities behave: 'none', 'higher-first' (AMQP: 9 before 0), or 'lower-first' (kombu's Redis
   * emulation: 0 before 9). Stated so users and tests need not guess.
   */
  readonly priority: 'none' | 'higher-first' | 'lower-first';
  /** Messages survive a restart of the broker (or of the process, for embedded brokers). */
  readonly persistent: boolean;
  /** Producers and consumers in other processes see the same queues. */
  readonly crossProcess: boolean;
  /** Unacked messages of a consumer that vanished come back after a visibility timeout. */
  readonly visibilityTimeout: boolean;
  /** Rejected messages can be kept in a dead-letter store and listed (`deadLetters()`). */
  readonly deadLetter: boolean;
  /**
   * Message TTL is enforced: a queue's `messageTtl` (AMQP x-message-ttl) and a message's `expiration`
   * property; expired messages are dropped and never delivered. False on Redis (kombu's Redis transport
   * has no message TTL): there only the worker's check of a task's `expires` applies.
   */
  readonly messageTtl: boolean;
}

export interface PublishOptions {
  /** Exchange name; '' is the default exchange, which routes to the queue named by the routing key. */
  exchange: string;
  routingKey: string;
  /**
   * A message no queue is bound for: 'error' (the default: publishing to a direct or topic exchange that
   * reaches no queue fails, the message would be lost) or 'drop' (a broadcast nobody may be listening to,
   * such as monitoring events: silently dropped, as AMQP does without `mandatory`).
   */
  unroutable?: 'error' | 'drop';
}

export interface OutgoingMessage extends PublishOptions {
  message: RawMessage;
}

/** One message handed to a consumer. Settle it once: `ack()` or `reject()`. */
export interface Delivery {
  readonly message: RawMessage;
  readonly deliveryTag: string;
  /** The queue it was taken from. */
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
  /** True when the broker delivered it before and it was not acked. */
  readonly redelivered: boolean;
  ack(): Promise<void>;
  /** requeue=true puts it back for another consumer; false dead-letters it (with the reason, where kept). */
  reject(options: { requeue: boolean; reason?: string }): Promise<void>;
  /**
   * Optional: true once the broker has taken the message back without a settle from us (AMQP: its channel
   * died with the connection), so it will be delivered again and settling it does nothing. A worker drops such
   * a delivery instead of running it (Celery clears its reserved requests on a connection loss for the same
   * reason). Stores whose holds outlive a reconnect (the virtual ones) leave it out.
   */
  gone?(): boolean;
}

export interface ConsumerOptions {
  /** Most unsettled deliveries held at once (0 = unlimited). */
  prefetch: number;
  onMessage(delivery: Delivery): void;
  /** Errors of the consuming loop (connection lost, ...). The consumer keeps trying. */
  onError?(error: Error): void;
}

/** Reads one or more queues with a shared prefetch window. */
export interface Consumer {
  consume(queue: string): Promise<void>;
  cancel(queue: string): Promise<void>;
  readonly queues: readonly string[];
  setPrefetch(prefetch: number): void;
  /**
   * Stops taking messages; settled deliveries stay settled, unsettled ones are handed back to the queue
   * (delivered again, marked redelivered). A handed-back delivery is no longer this consumer's: its
   * `ack()` / `reject()` then do nothing.
   */
  close(): Promise<void>;
}

export interface QueueInfo {
  name: string;
  /** Messages ready to deliver. */
  messages: number;
  /**
   * Messages delivered and not yet acked. Where the broker cannot report other connections' unacked
   * deliveries (AMQP 0-9-1 returns only the ready count), those held by this transport's own consumers.
   */
  unacked: number;
  /**
   * Optional: consumers reading the queue, where the broker knows them all: AMQP (queue.declare's consumer
   * count), and brokers that live in one process (`capabilities.crossProcess` false: its own consumers).
   * Undefined where consumers in other processes are not recorded (Redis, SQLite); monitors then learn
   * who consumes a queue from the workers (`inspect active_queues`).
   */
  consumers?: number;
}

export interface DeadLetter {
  /** Delivery tag of the message when it was rejected. */
  id: string;
  queue: string;
  reason: string;
  /** Milliseconds since the epoch. */
  at: number;
  message: RawMessage;
}

export interface Transport {
  /** The URL with the password masked. */
  readonly url: string;
  readonly capabilities: TransportCapabilities;
  connect(): Promise<void>;
  close(): Promise<void>;
  declareExchange(exchange: ExchangeDeclaration): Promise<void>;
  declareQueue(queue: QueueDeclaration): Promise<void>;
  bindQueue(binding: Binding): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  /**
   * Optional: deletes an exchange and every binding from it; the bound queues and their messages stay.
   * Publishing to it afterwards fails as for an exchange never declared. Deleting an exchange that does
   * not exist is not an error. (AMQP exchange.delete; `celeriac amqp exchange.delete`.)
   */
  deleteExchange?(name: string): Promise<void>;
  publish(message: RawMessage, options: PublishOptions): Promise<void>;
  /** Publishes many messages in as few round trips as the broker allows. */
  publishMany(messages: readonly OutgoingMessage[]): Promise<void>;
  createConsumer(options: ConsumerOptions): Consumer;
  /** Removes every ready message from the queue; returns how many. */
  purge(queue: string): Promise<number>;
  queueInfo(queue: string): Promise<QueueInfo>;
  listQueues(): Promise<QueueInfo[]>;
  /** Rejected messages kept by the broker, newest first (empty where capabilities.deadLetter is false). */
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  /**
   * Optional: reports losing the connection to the broker ('lost', once per outage) and having it back
   * ('restored', after the topology and the consumers are restored). Returns the unsubscribe. Senders that
   * must not wait on a dead connection (the event dispatcher's outbox) hold their messages meanwhile.
   */
  onConnection?(listener: (status: 'lost' | 'restored', error?: Error) => void): () => void;
}

/** Options every transport factory receives besides its URL. */
export interface TransportOptions {
  /** Redelivery delay for unacked messages of a consumer that vanished, in ms (default 1 h). */
  visibilityTimeout?: number;
  /**
   * Largest message body in bytes (default 16 MiB, 0 = no limit): a bigger publish fails with
   * MessageTooLargeError, a bigger delivery is dead-lettered before it is decoded.
   */
  maxMessageSize?: number;
  /** Plug-in specific options (documented in each plug-in's header). */
  [option: string]: unknown;
}

export type TransportFactory = (url: string, options: TransportOptions) => Transport;
