/**
 * The event dispatcher (Celery's EventDispatcher): stamps events (hostname, pid, utcoffset, Lamport clock,
 * timestamp) and publishes them to the `celeryev` exchange, transient, headers { hostname }, JSON.
 * Groups ('worker', 'task', ...) filter what is sent; events of a buffered group ('task' in a worker) are
 * collected and published as one list under '<group>.multi' (when the buffer is full, after a short
 * interval, and on flush/close: none is lost at shutdown). Events go out through a bounded outbox
 * (./outbox.ts, Celery's `_outbound_buffer`): kept while the broker is unreachable and sent after it is back,
 * the oldest dropped and counted beyond `outboxLimit`. Publishing never throws into the caller: failures go
 * to `onError`, drops to `onDropped`.
 */
import { buildEvent, buildEventMessage, batchRoutingKey, EVENT_EXCHANGE, eventGroup, eventRoutingKey, utcOffsetHours, type AnyEvent, type FieldsOf } from '../protocol/events.js';
import type { Transport } from '../transport/types.js';
import type { LamportClock } from '../util/lamport.js';
import { eventExchange } from './exchange.js';
import { EventOutbox } from './outbox.js';

/** Events kept while the broker is unreachable, by default (config `eventOutboxLimit`). */
export const DEFAULT_OUTBOX_LIMIT = 10_000;
/** ms the outbox waits after a reconnect: the longest reconnect back-off (util/redis.ts, transport/amqp/session.ts). */
const RESEND_DELAY = 5000;

export interface EventDispatcherOptions {
  /** The sender's node name (`celeriac@host`). */
  hostname: string;
  /** The Lamport clock events carry and advance (a worker shares its control clock). */
  clock: LamportClock;
  /** Groups sent; every group when left out or empty (Celery's `groups=None`). */
  groups?: Iterable<string>;
  /** Groups whose events are batched under '<group>.multi' (a worker buffers 'task'). */
  bufferGroups?: Iterable<string>;
  /** A buffer this full is published at once (Celery's buffer_limit, 24). */
  bufferLimit?: number;
  /** ms a buffered event waits at most before its batch is published (default 100). */
  flushInterval?: number;
  /** Off: `send` does nothing (Celery's enabled=False). */
  enabled?: boolean;
  /** The exchange name (Celery's event_exchange, default 'celeryev'). */
  exchange?: string;
  pid?: number;
  now?: () => number;
  /** Hours west of UTC (default: this machine's, as Celery's utcoffset()). */
  utcoffset?: () => number;
  onError?: (error: Error) => void;
  /** Most events kept while the broker is unreachable (default 10,000); beyond it the oldest are dropped. */
  outboxLimit?: number;
  /**
   * ms to wait after the broker is back before sending what waited (default 5000, the longest reconnect
   * back-off of celeriac's connections): monitors reconnecting at the same time subscribe again first.
   */
  resendDelay?: number;
  /** `count` events were dropped from a full outbox (reported once it drains, and at close). */
  onDropped?: (count: number) => void;
}

export class EventDispatcher {
  readonly hostname: string;
  /** The groups sent (empty = all). Mutable: `enable_events` adds 'task', `disable_events` removes it. */
  readonly groups: Set<string>;
  enabled: boolean;
  private readonly clock: LamportClock;
  private readonly bufferGroups: Set<string>;
  private readonly buffers = new Map<string, AnyEvent[]>();
  private readonly bufferLimit: number;
  private readonly flushInterval: number;
  private readonly pid: number;
  private readonly now: () => number;
  private readonly utcoffset: () => number;
  private readonly exchangeName: string;
  private readonly onError: (error: Error) => void;
  private ready: Promise<Transport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly outbox: EventOutbox;
  private closed = false;

  constructor(
    private readonly connection: () => Promise<Transport>,
    options: EventDispatcherOptions,
  ) {
    this.hostname = options.hostname;
    this.clock = options.clock;
    this.groups = new Set(options.groups ?? []);
    this.bufferGroups = new Set(options.bufferGroups ?? []);
    this.bufferLimit = options.bufferLimit ?? 24;
    this.flushInterval = options.flushInterval ?? 100;
    this.enabled = options.enabled ?? true;
    this.exchangeName = options.exchange ?? EVENT_EXCHANGE;
    this.pid = options.pid ?? process.pid;
    this.now = options.now ?? Date.now;
    this.utcoffset = options.utcoffset ?? (() => utcOffsetHours(new Date()));
    this.onError = options.onError ?? (() => undefined);
    this.outbox = new EventOutbox(() => this.transport(), {
      exchange: this.exchangeName,
      limit: options.outboxLimit ?? DEFAULT_OUTBOX_LIMIT,
      resendDelay: options.resendDelay ?? RESEND_DELAY,
      onError: (e) => this.onError(e),
      onDropped: options.onDropped ?? (() => undefined),
    });
  }

  /** Events dropped because the outbox was full (the broker was unreachable for long), since this dispatcher was made. */
  get dropped(): number {
    return this.outbox.dropped;
  }

  /** Events waiting to be published (the broker is unreachable, or a publish is under way). */
  get waiting(): number {
    return this.outbox.size;
  }

  /** Whether an event of `group` would be sent now. */
  sends(group: string): boolean {
    return this.enabled && !this.closed && (this.groups.size === 0 || this.groups.has(group));
  }

  /** Declares the event exchange (once); resolves with the transport. */
  private transport(): Promise<Transport> {
    this.ready ??= (async () => {
      const transport = await this.connection();
      await transport.declareExchange(eventExchange(transport.capabilities, this.exchangeName));
      return transport;
    })();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  /** Stamps an event as this sender would send it now (advances the clock). */
  stamp<T extends string>(type: T, fields: FieldsOf<T>): AnyEvent {
    return buildEvent(type as string, fields as Record<string, unknown>, { hostname: this.hostname, pid: this.pid, clock: this.clock.forward(), now: this.now(), utcoffset: this.utcoffset() });
  }

  /**
   * Sends an event of `type` if its group is on: at once, or into its group's buffer. Returns whether it
   * was taken. Never throws for a broker failure (see `onError`).
   */
  send<T extends string>(type: T, fields: FieldsOf<T>): boolean {
    const group = eventGroup(type);
    if (!this.sends(group)) return false;
    const event = this.stamp(type, fields);
    if (!this.bufferGroups.has(group)) {
      this.publish(event, eventRoutingKey(type));
      return true;
    }
    let buffer = this.buffers.get(group);
    if (!buffer) this.buffers.set(group, (buffer = []));
    buffer.push(event);
    if (buffer.length >= this.bufferLimit) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushInterval);
    return true;
  }

  /** Publishes an already stamped event or batch through the outbox (in order with everything sent before). */
  private publish(body: AnyEvent | AnyEvent[], routingKey: string): void {
    this.outbox.add(buildEventMessage(body, this.hostname), routingKey);
  }

  /**
   * Publishes every buffered batch now; resolves once everything sent so far is published, or is waiting in
   * the outbox for the broker to come back.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [group, events] of this.buffers) {
      if (events.length === 0) continue;
      this.buffers.set(group, []);
      this.publish(events, batchRoutingKey(group));
    }
    return this.outbox.drain();
  }

  /** Flushes the buffers, waits for every publish, and sends nothing more (what still waits is reported dropped). */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.outbox.close();
  }
}
