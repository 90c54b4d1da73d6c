/**
 * The mailbox node (kombu's `Node`): a worker's queue `<hostname>.celery.pidbox` bound to the
 * `celery.pidbox` fanout. It runs each command addressed to it (all, its name in `destination`, or a
 * matching `pattern`) through the registry, one at a time, and replies `{ hostname: reply }` to the
 * caller's reply queue. Unknown, refused and failing commands get an `{ error }` reply; nothing crashes.
 */
import { ProtocolError, TransportError } from '../errors.js';
import { buildPidboxReply, parsePidboxRequest, pidboxNames, PIDBOX_MESSAGE_TTL_MS, PIDBOX_QUEUE_EXPIRES_MS, type PidboxNames, type PidboxRequest, type PidboxSerializer } from '../protocol/pidbox.js';
import type { Consumer, Delivery, Transport } from '../transport/types.js';
import { globToRegExp } from '../util/glob.js';
import type { LamportClock } from '../util/lamport.js';
import type { CommandRegistry } from './registry.js';
import type { ControlTarget } from './types.js';

/** The logging the node needs (pino's methods fit). */
export interface ControlLogger {
  debug(msg: string, ...args: unknown[]): void;
  info(msg: string, ...args: unknown[]): void;
  warn(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
}

export interface MailboxNodeOptions {
  target: ControlTarget;
  registry: CommandRegistry;
  clock: LamportClock;
  logger: ControlLogger;
  namespace?: string;
  /** Only these commands run (Celery's worker control allow-list); every command when left out. */
  allow?: readonly string[];
  /** Largest request body in bytes (0 = no limit; the transport enforces its own limit too). */
  maxMessageSize?: number;
  /** Signed requests and replies (message signing on: unsigned requests are dead-lettered); plain JSON when left out. */
  serializer?: PidboxSerializer;
  now?: () => number;
}

/** Whether a request is addressed to `hostname` (kombu: destination and pattern must both match when given). */
export function addressedTo(request: PidboxRequest, hostname: string): boolean {
  if (request.destination && request.destination.length && !request.destination.includes(hostname)) return false;
  if (request.pattern) {
    let re: RegExp;
    try {
      re = request.matcher === 'pcre' ? new RegExp(request.pattern) : globToRegExp(request.pattern);
    } catch {
      return false;
    }
    if (!re.test(hostname)) return false;
  }
  return true;
}

export class MailboxNode {
  readonly names: PidboxNames;
  readonly queue: string;
  private consumer: Consumer | undefined;
  private transport: Transport | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly replyExchanges = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly options: MailboxNodeOptions) {
    this.names = pidboxNames(options.namespace);
    this.queue = this.names.nodeQueue(options.target.hostname);
    this.now = options.now ?? Date.now;
  }

  async start(transport: Transport): Promise<void> {
    this.transport = transport;
    await transport.declareExchange({ name: this.names.exchange, type: 'fanout', durable: false, autoDelete: false });
    // A queue left by an earlier run of this node name holds stale commands: start empty, as Celery's auto-delete queue does.
    await transport.deleteQueue(this.queue).catch(() => undefined);
    await transport.declareQueue({ name: this.queue, durable: false, autoDelete: true, expires: PIDBOX_QUEUE_EXPIRES_MS, messageTtl: PIDBOX_MESSAGE_TTL_MS });
    await transport.bindQueue({ queue: this.queue, exchange: this.names.exchange, routingKey: '' });
    this.consumer = transport.createConsumer({
      prefetch: 0,
      onMessage: (d) => {
        this.chain = this.chain.then(() => this.handle(d)).catch((err: unknown) => this.options.logger.error('pidbox: %s', err instanceof Error ? err.message : String(err)));
      },
      onError: (e) => this.options.logger.warn('pidbox consumer: %s', e.message),
    });
    await this.consumer.consume(this.queue);
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.close();
    await this.chain;
    await this.transport?.deleteQueue(this.queue).catch(() => undefined);
  }

  private async handle(delivery: Delivery): Promise<void> {
    const { logger, target } = this.options;
    let parsed;
    try {
      parsed = parsePidboxRequest(delivery.message, this.options.maxMessageSize, this.options.serializer);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      logger.error('pidbox: malformed control message dead-lettered: %s', err.message);
      // Not awaited: a flood of malformed requests must not hold up the commands behind them.
      delivery.reject({ requeue: false, reason: `malformed control message: ${err.message}` }).catch((e: unknown) => logger.error('pidbox: could not dead-letter a malformed message: %s', e instanceof Error ? e.message : String(e)));
      return;
    }
    await delivery.ack();
    const { request, expires } = parsed;
    if (!addressedTo(request, target.hostname)) return;
    this.options.clock.adjust(parsed.clock);
    if (expires && this.now() / 1000 > expires) {
      logger.debug('pidbox: %s expired before it arrived, not run', request.method);
      return;
    }
    const reply = await this.dispatch(request.method, request.arguments);
    if (request.reply_to && request.ticket) await this.reply(request.reply_to, request.ticket, reply);
  }

  /** Runs one command; the reply, or `{ error }` saying why it did not run. */
  async dispatch(method: string, args: Record<string, unknown>): Promise<unknown> {
    const { registry, target, allow, logger, clock } = this.options;
    const def = registry.get(method);
    if (!def) {
      logger.warn('pidbox: unknown control command %s', method);
      return { error: `unknown command '${method}': this worker has no such control command (see celeriac inspect --help)` };
    }
    if (allow && !allow.includes(def.name) && !def.aliases.some((a) => allow.includes(a))) {
      logger.warn('pidbox: control command %s refused (not in controlAllow)', method);
      return { error: `command '${method}' is not allowed on ${target.hostname} (not in its controlAllow list)` };
    }
    try {
      return await def.handler(target, args, { hostname: target.hostname, clock });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      logger.error('pidbox: control command %s failed: %s', method, message);
      return { error: `${method}: ${message}` };
    }
  }

  private async reply(to: { exchange: string; routing_key: string }, ticket: string, reply: unknown): Promise<void> {
    const transport = this.transport;
    if (!transport) return;
    if (!this.replyExchanges.has(to.exchange)) {
      await transport.declareExchange({ name: to.exchange, type: 'direct', durable: false, autoDelete: false });
      this.replyExchanges.add(to.exchange);
    }
    const message = buildPidboxReply(this.options.target.hostname, reply, { ticket, clock: this.options.clock.forward() }, this.options.serializer);
    try {
      await transport.publish(message, { exchange: to.exchange, routingKey: to.routing_key });
    } catch (err) {
      // The caller gave up and its reply queue is gone: nothing to do.
      if (err instanceof TransportError && !err.retryable) this.options.logger.debug('pidbox: reply not delivered: %s', err.message);
      else this.options.logger.warn('pidbox: reply not delivered: %s', err instanceof Error ? err.message : String(err));
    }
  }
}
