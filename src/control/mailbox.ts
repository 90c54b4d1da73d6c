/**
 * The mailbox client (kombu's `Mailbox` for callers): broadcasts a command on the `celery.pidbox` fanout
 * (or unicasts it with a destination or a pattern) and collects `{ hostname: reply }` replies from its own
 * reply queue, for up to `timeout` ms or until `limit` replies came. Replies are matched by ticket: a late
 * reply to an earlier call is dropped, never handed to the next one.
 */
import { ControlError, ProtocolError } from '../errors.js';
import { buildPidboxRequest, parsePidboxReply, pidboxNames, PIDBOX_MESSAGE_TTL_MS, PIDBOX_QUEUE_EXPIRES_MS, type PidboxNames, type PidboxSerializer } from '../protocol/pidbox.js';
import type { Consumer, Delivery, Transport } from '../transport/types.js';
import { uuid, type IdFactory } from '../util/ids.js';
import type { LamportClock } from '../util/lamport.js';

export type Reply = Record<string, unknown>;

export interface BroadcastOptions {
  /** Node names to ask (`['w1@host']`); all nodes when left out. */
  destination?: string | readonly string[];
  /** Node-name pattern, glob by default (`'w*@host'`). */
  pattern?: string;
  matcher?: 'glob' | 'pcre';
  /** ms to wait for replies (default 1000). */
  timeout?: number;
  /** Stop waiting after this many replies (default: the number of destinations, when given). */
  limit?: number;
  /** Wait for replies (default true); false just sends. */
  reply?: boolean;
  /** Called with each reply as it arrives. */
  onReply?: (reply: Reply) => void;
}

export interface MailboxOptions {
  /** Celery's control_exchange (default 'celery'). */
  namespace?: string;
  clock: LamportClock;
  ids?: IdFactory;
  now?: () => number;
  /** Signed requests and replies (message signing on); plain JSON when left out. */
  serializer?: PidboxSerializer;
}

interface Pending {
  replies: Reply[];
  limit: number | undefined;
  onReply: ((reply: Reply) => void) | undefined;
  done: () => void;
}

export class Mailbox {
  readonly names: PidboxNames;
  /** This client's reply routing key (kombu's oid). */
  readonly oid: string;
  private readonly clock: LamportClock;
  private readonly ids: IdFactory;
  private readonly now: () => number;
  private readonly serializer: PidboxSerializer | undefined;
  private readonly pending = new Map<string, Pending>();
  private ready: Promise<{ transport: Transport; consumer: Consumer | undefined }> | undefined;
  private closed = false;
  /** Replies that came for no waiting call (late or foreign), for diagnostics. */
  dropped = 0;

  constructor(
    private readonly connection: () => Promise<Transport>,
    options: MailboxOptions,
  ) {
    this.names = pidboxNames(options.namespace);
    this.clock = options.clock;
    this.ids = options.ids ?? uuid;
    this.now = options.now ?? Date.now;
    this.serializer = options.serializer;
    this.oid = this.ids();
  }

  /** Declares the exchanges and, when replies are wanted, this client's reply queue (once). */
  private setup(withReplies: boolean): Promise<{ transport: Transport; consumer: Consumer | undefined }> {
    const make = async (): Promise<{ transport: Transport; consumer: Consumer | undefined }> => {
      const transport = await this.connection();
      if (!transport.capabilities.fanout) {
        throw new ControlError(`remote control needs fanout exchanges, which the ${transport.capabilities.name} transport lacks: use a broker with fanout (memory, sqlite, redis, amqp)`);
      }
      await transport.declareExchange({ name: this.names.exchange, type: 'fanout', durable: false, autoDelete: false });
      if (!withReplies) return { transport, consumer: undefined };
      await transport.declareExchange({ name: this.names.replyExchange, type: 'direct', durable: false, autoDelete: false });
      const queue = this.names.replyQueue(this.oid);
      await transport.declareQueue({ name: queue, durable: false, autoDelete: true, expires: PIDBOX_QUEUE_EXPIRES_MS, messageTtl: PIDBOX_MESSAGE_TTL_MS });
      await transport.bindQueue({ queue, exchange: this.names.replyExchange, routingKey: this.oid });
      const consumer = transport.createConsumer({ prefetch: 0, onMessage: (d) => this.onReply(d) });
      await consumer.consume(queue);
      return { transport, consumer };
    };
    if (!withReplies) return this.ready ?? make();
    this.ready ??= make();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  private onReply(delivery: Delivery): void {
    void delivery.ack().catch(() => undefined);
    let parsed;
    try {
      parsed = parsePidboxReply(delivery.message, this.serializer);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.dropped++;
      return;
    }
    this.clock.adjust(parsed.clock);
    const pending = parsed.ticket === undefined ? undefined : this.pending.get(parsed.ticket);
    if (!pending) {
      this.dropped++;
      return;
    }
    pending.replies.push(parsed.replies);
    pending.onReply?.(parsed.replies);
    if (pending.limit !== undefined && pending.replies.length >= pending.limit) pending.done();
  }

  /**
   * Sends `method` with `args`; resolves with the replies (`[{ 'w1@host': reply }, ...]`), or `[]` when
   * `reply` is false.
   */
  async broadcast(method: string, args: Record<string, unknown> = {}, options: BroadcastOptions = {}): Promise<Reply[]> {
    if (this.closed) throw new ControlError('this mailbox is closed: make a new app.control client');
    const wantReply = options.reply ?? true;
    const timeout = options.timeout ?? 1000;
    if (!(timeout >= 0) || !Number.isFinite(timeout)) throw new ControlError(`timeout must be a number of ms >= 0, got ${String(options.timeout)}`);
    const destination = options.destination === undefined ? null : typeof options.destination === 'string' ? [options.destination] : [...options.destination];
    if (options.matcher && options.matcher !== 'glob' && options.matcher !== 'pcre') throw new ControlError(`matcher must be 'glob' or 'pcre', got '${String(options.matcher)}'`);
    const { transport } = await this.setup(wantReply);
    const ticket = wantReply ? this.ids() : undefined;
    const message = buildPidboxRequest(
      {
        method,
        arguments: args,
        destination: destination && destination.length ? destination : null,
        pattern: options.pattern ?? null,
        matcher: options.pattern ? (options.matcher ?? 'glob') : (options.matcher ?? null),
        ...(ticket ? { ticket, reply_to: { exchange: this.names.replyExchange, routing_key: this.oid } } : {}),
      },
      { clock: this.clock.forward(), expires: wantReply ? (this.now() + timeout) / 1000 : 0 },
      this.serializer,
    );
    if (!ticket) {
      await transport.publish(message, { exchange: this.names.exchange, routingKey: '' });
      return [];
    }
    const limit = options.limit ?? (destination && destination.length ? destination.length : undefined);
    return new Promise<Reply[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const pending: Pending = {
        replies: [],
        limit,
        onReply: options.onReply,
        done: () => {
          clearTimeout(timer);
          this.pending.delete(ticket);
          resolve(pending.replies);
        },
      };
      this.pending.set(ticket, pending);
      transport.publish(message, { exchange: this.names.exchange, routingKey: '' }).then(
        () => {
          if (!this.pending.has(ticket)) return;
          if (limit !== undefined && limit <= 0) return pending.done();
          timer = setTimeout(pending.done, timeout);
        },
        (err: unknown) => {
          this.pending.delete(ticket);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  /** Stops listening and deletes the reply queue; calls still waiting resolve with what they have. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.pending.values()]) p.done();
    const ready = this.ready;
    this.ready = undefined;
    if (!ready) return;
    const { transport, consumer } = await ready.catch(() => ({ transport: undefined, consumer: undefined }));
    await consumer?.close();
    await transport?.deleteQueue(this.names.replyQueue(this.oid)).catch(() => undefined);
  }
}
