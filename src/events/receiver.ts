/**
 * The event receiver (Celery's EventReceiver): a monitor queue `celeryev.<uuid>` (transient, auto-delete,
 * message TTL 5 s, expires 60 s, as Celery's) bound to `celeryev` with a routing-key pattern ('#' = all,
 * 'task.#', 'worker.heartbeat'...). Single and batched bodies are split into events, each stamped with
 * `local_received` (and its timestamp moved to this machine's UTC offset, as Celery's localize), the
 * receiver's Lamport clock advanced, then handed to typed handlers: `on('task-succeeded', e => ...)`, and
 * the catch-all `on('event', e => ...)`. A message that is not an event is dead-lettered with the reason and
 * reported on 'error'. `close()` deletes the queue.
 */
import { EventError } from '../errors.js';
import {
  EVENT_EXCHANGE, EVENT_QUEUE_EXPIRES_MS, EVENT_QUEUE_PREFIX, EVENT_QUEUE_TTL_MS, eventQueueName, parseEventMessage, utcOffsetHours,
  type AnyEvent, type CeleryEvent, type EventType,
} from '../protocol/events.js';
import type { Consumer, Delivery, Transport } from '../transport/types.js';
import { TypedEmitter } from '../util/emitter.js';
import { uuid } from '../util/ids.js';
import { LamportClock } from '../util/lamport.js';
import { eventExchange } from './exchange.js';

/** An event as handed to handlers: what was sent, plus when it arrived here (UNIX seconds). */
export type Received<E extends object = AnyEvent> = E & { local_received: number };

/** The typed event map of a receiver: each Celery event type, the catch-all 'event', and 'error'. */
export type ReceiverEvents = { [K in EventType]: [Received<CeleryEvent<K>>] } & {
  /** Every event, custom types included. */
  event: [Received];
  /** A malformed message, or a handler that threw (the receiver keeps going). */
  error: [Error];
};

export interface EventReceiverOptions {
  /** Binding pattern: '#' (all, the default), 'task.#', 'worker.*', 'task.multi'... */
  routingKey?: string;
  /** The queue is `<prefix>.<nodeId>` (default: celeryev.<uuid>). */
  nodeId?: string;
  queuePrefix?: string;
  /** Message TTL of the queue in ms (Celery's event_queue_ttl, 5 s). */
  queueTtl?: number;
  /** The queue is deleted after this many ms unused (Celery's event_queue_expires, 60 s). */
  queueExpires?: number;
  /** The clock events advance (a new one by default). */
  clock?: LamportClock;
  /** Move timestamps to this machine's UTC offset (Celery's localize; default true). */
  localize?: boolean;
  exchange?: string;
  now?: () => number;
  /** Hours west of UTC here (default: this machine's). */
  utcoffset?: () => number;
  /** Largest event message body in bytes (0 = no limit; the transport enforces its own limit too). */
  maxMessageSize?: number;
}

/** This machine's UTC offset, computed at most once a minute (a Date per event costs more than the rest of the stamping). */
function cachedUtcOffset(now: () => number): () => number {
  let at = -Infinity;
  let offset = 0;
  return () => {
    const t = now();
    if (t - at > 60_000 || t < at) {
      offset = utcOffsetHours(new Date(t));
      at = t;
    }
    return offset;
  };
}

export class EventReceiver extends TypedEmitter<ReceiverEvents> {
  readonly queue: string;
  readonly routingKey: string;
  readonly clock: LamportClock;
  private readonly options: EventReceiverOptions;
  private readonly now: () => number;
  private readonly utcoffset: () => number;
  private transport: Transport | undefined;
  private consumer: Consumer | undefined;
  private started: Promise<void> | undefined;
  /** Events handed to handlers so far. */
  received = 0;
  /** Messages that were not events (dead-lettered with the reason and reported on 'error'). */
  malformed = 0;

  constructor(
    private readonly connection: () => Promise<Transport>,
    options: EventReceiverOptions = {},
  ) {
    super();
    this.options = options;
    this.routingKey = options.routingKey ?? '#';
    if (!this.routingKey) throw new EventError("an event receiver needs a routing-key pattern, e.g. '#' (all) or 'task.#'");
    this.queue = eventQueueName(options.nodeId ?? uuid(), options.queuePrefix ?? EVENT_QUEUE_PREFIX);
    this.clock = options.clock ?? new LamportClock();
    this.now = options.now ?? Date.now;
    this.utcoffset = options.utcoffset ?? cachedUtcOffset(this.now);
  }

  /** Declares the queue, binds it and starts consuming (once); events published from now on arrive. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const transport = (this.transport = await this.connection());
      const exchange = eventExchange(transport.capabilities, this.options.exchange ?? EVENT_EXCHANGE);
      await transport.declareExchange(exchange);
      await transport.declareQueue({
        name: this.queue, durable: false, autoDelete: true,
        messageTtl: this.options.queueTtl ?? EVENT_QUEUE_TTL_MS, expires: this.options.queueExpires ?? EVENT_QUEUE_EXPIRES_MS,
      });
      await transport.bindQueue({ queue: this.queue, exchange: exchange.name, routingKey: this.routingKey });
      this.consumer = transport.createConsumer({ prefetch: 0, onMessage: (d) => this.onMessage(d), onError: (e) => this.fail(e) });
      await this.consumer.consume(this.queue);
    })();
    this.started.catch(() => (this.started = undefined));
    return this.started;
  }

  private onMessage(delivery: Delivery): void {
    let events: AnyEvent[];
    try {
      events = parseEventMessage(delivery.message, this.options.maxMessageSize);
    } catch (err) {
      // Not an event: set aside with the reason (where the broker keeps dead letters) and reported.
      const error = err instanceof Error ? err : new Error(String(err));
      void delivery.reject({ requeue: false, reason: `malformed event: ${error.message}` }).catch(() => undefined);
      this.malformed++;
      this.fail(error);
      return;
    }
    // Events are transient: acked at once, as Celery's receiver consumes with no_ack.
    void delivery.ack().catch(() => undefined);
    for (const event of events) this.process(event);
  }

  /** Stamps one event as Celery's event_from_message does and hands it to the handlers. */
  process(event: AnyEvent): Received {
    const received = event as Received;
    if (received.type === 'task-sent') {
      // Producers never sync their clocks: Celery puts a task-sent just before what this receiver saw.
      received.clock = (this.clock.value || 1) - 1;
      this.clock.adjust(received.clock);
    } else if (typeof received.clock === 'number') this.clock.adjust(received.clock);
    else received.clock = this.clock.forward();
    if ((this.options.localize ?? true) && typeof received.timestamp === 'number' && typeof received.utcoffset === 'number') {
      received.timestamp -= (received.utcoffset - this.utcoffset()) * 3600;
    }
    received.local_received = this.now() / 1000;
    this.received++;
    try {
      this.emit(received.type as EventType, received as never);
      this.emit('event', received);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
    return received;
  }

  private fail(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /** Stops consuming and deletes the monitor queue. */
  async close(): Promise<void> {
    const started = this.started;
    this.started = undefined;
    if (!started) return;
    await started.catch(() => undefined);
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.close();
    await this.transport?.deleteQueue(this.queue).catch(() => undefined);
  }
}
