/**
 * Publishing with publisher confirms: a publish resolves once RabbitMQ has taken responsibility for the
 * message, and rejects when it could not be routed (mandatory + basic.return), the exchange is missing, or
 * the connection died before the confirm (then it is sent again once reconnected). A batch goes out back
 * to back and shares RabbitMQ's multiple=true acks: nothing waits for one confirm before the next publish.
 */
import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import type { OutgoingMessage } from '../types.js';
import { TransportError } from '../../errors.js';
import { publishOptions } from './message.js';
import { replyCode } from './url.js';

interface Pending {
  /** The list of its exchange and routing key it is kept in, until confirmed. */
  list: Pending[];
  returned: boolean;
}

/** What became of one message of a batch: undefined = confirmed. */
type Outcome = unknown;

export interface PublisherHost {
  connection(): Promise<ChannelModel>;
  /** Whether to ask for basic.return (everything but the default exchange, fanout exchanges and `unroutable: 'drop'`). */
  mandatory(out: OutgoingMessage): boolean;
  /** Error for a failed publish, naming what to do. */
  wrap(what: string, error: unknown): TransportError;
}

const routeKey = (exchange: string, routingKey: string): string => `${exchange}\u0000${routingKey}`;

export class Publisher {
  private channel: Promise<ConfirmChannel> | undefined;
  /**
   * Mandatory messages awaiting their confirm, per exchange and routing key in publish order. RabbitMQ sends
   * basic.return before the confirm of the same message, so a return marks the oldest unreturned one.
   */
  private pending = new Map<string, Pending[]>();
  private lastError: unknown;

  constructor(private readonly host: PublisherHost) {}

  private open(): Promise<ConfirmChannel> {
    this.channel ??= (async () => {
      const connection = await this.host.connection();
      const ch = await connection.createConfirmChannel();
      ch.on('error', (err: Error) => (this.lastError = err));
      ch.on('close', () => {
        if (this.channel) this.channel = undefined;
        this.pending = new Map();
      });
      ch.on('return', (msg: Message) => {
        const hit = this.pending.get(routeKey(msg.fields.exchange, msg.fields.routingKey))?.find((p) => !p.returned);
        if (hit) hit.returned = true;
      });
      return ch;
    })();
    this.channel.catch(() => (this.channel = undefined));
    return this.channel;
  }

  /** Forgets the channel (the connection it lived on is gone). */
  reset(): void {
    this.channel = undefined;
    this.pending = new Map();
  }

  private track(out: OutgoingMessage): Pending {
    const key = routeKey(out.exchange, out.routingKey);
    let list = this.pending.get(key);
    if (!list) this.pending.set(key, (list = []));
    const entry: Pending = { list, returned: false };
    list.push(entry);
    return entry;
  }

  private untrack(entry: Pending, out: OutgoingMessage): void {
    const { list } = entry;
    // Confirms come in publish order, so the entry is almost always the first.
    const i = list[0] === entry ? 0 : list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    const key = routeKey(out.exchange, out.routingKey);
    if (list.length === 0 && this.pending.get(key) === list) this.pending.delete(key);
  }

  /**
   * Publishes every message back to back, without waiting for any confirm, and resolves once each has its
   * outcome: RabbitMQ confirms a run of them with one basic.ack (multiple=true), which amqplib hands to each
   * message's callback. Never rejects.
   */
  private sendAll(messages: readonly OutgoingMessage[], ch: ConfirmChannel): Promise<Outcome[]> {
    return new Promise((resolve) => {
      const outcomes: Outcome[] = new Array<Outcome>(messages.length).fill(undefined);
      let left = messages.length;
      let failed = false;
      const finish = (): void => {
        if (--left > 0) return;
        // A channel's close reason arrives as an 'error' event around the same tick as the failed callbacks.
        if (failed) setImmediate(() => resolve(outcomes.map((o) => (o === undefined || o instanceof TransportError ? o : (this.lastError ?? o)))));
        else resolve(outcomes);
      };
      messages.forEach((out, i) => {
        const mandatory = this.host.mandatory(out);
        const entry = mandatory ? this.track(out) : undefined;
        let settled = false;
        const done = (err: unknown): void => {
          if (settled) return;
          settled = true;
          if (entry) this.untrack(entry, out);
          if (err) {
            failed = true;
            outcomes[i] = err;
          } else if (entry?.returned) {
            outcomes[i] = new TransportError(`no queue is bound to exchange '${out.exchange}' with routing key '${out.routingKey}': the message would be lost. Declare and bind the queue first.`);
          }
          finish();
        };
        try {
          ch.publish(out.exchange, out.routingKey, out.message.body, publishOptions(out.message, mandatory), done);
        } catch (error) {
          done(error ?? new Error('publish failed'));
        }
      });
    });
  }

  /** Publishes and waits for every confirm; a message whose confirm was lost with the connection is sent again. */
  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      this.lastError = undefined;
      const ch = await this.open();
      const outcomes = await this.sendAll(messages, ch);
      const error = outcomes.find((o) => o !== undefined);
      if (error === undefined) return;
      if (error instanceof TransportError) throw error;
      const code = replyCode(error);
      // A channel-level refusal (404 no exchange, 403, 406) is final; a lost connection is retried.
      if (code !== undefined && code !== 320 && code !== 541) {
        const what = `publish to exchange '${messages[0]?.exchange ?? ''}'`;
        throw this.host.wrap(what, error);
      }
      if (attempt >= 5) throw this.host.wrap('publish', error);
      // Only the unconfirmed messages are sent again (at-least-once: a confirm lost in flight may duplicate one).
      messages = messages.filter((_, i) => outcomes[i] !== undefined);
    }
  }

  async close(): Promise<void> {
    const ch = this.channel;
    this.channel = undefined;
    await ch?.then((c) => c.close()).catch(() => undefined);
  }
}
