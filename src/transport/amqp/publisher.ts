/**
 * Publishing with publisher confirms: a publish resolves once RabbitMQ has taken responsibility for the
 * message, and rejects when it could not be routed (mandatory + basic.return), the exchange is missing, or
 * the connection died before the confirm (then it is sent again once reconnected).
 */
import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import type { OutgoingMessage } from '../types.js';
import { TransportError } from '../../errors.js';
import { publishOptions } from './message.js';
import { replyCode } from './url.js';

interface Pending {
  exchange: string;
  routingKey: string;
  returned: boolean;
}

export interface PublisherHost {
  connection(): Promise<ChannelModel>;
  /** Whether to ask for basic.return (everything but the default exchange, fanout exchanges and `unroutable: 'drop'`). */
  mandatory(out: OutgoingMessage): boolean;
  /** Error for a failed publish, naming what to do. */
  wrap(what: string, error: unknown): TransportError;
}

export class Publisher {
  private channel: Promise<ConfirmChannel> | undefined;
  private pending: Pending[] = [];
  private lastError: unknown;

  constructor(private readonly host: PublisherHost) {}

  private open(): Promise<ConfirmChannel> {
    this.channel ??= (async () => {
      const connection = await this.host.connection();
      const ch = await connection.createConfirmChannel();
      ch.on('error', (err: Error) => (this.lastError = err));
      ch.on('close', () => {
        if (this.channel) this.channel = undefined;
        this.pending = [];
      });
      ch.on('return', (msg: Message) => {
        const hit = this.pending.find((p) => !p.returned && p.exchange === msg.fields.exchange && p.routingKey === msg.fields.routingKey);
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
    this.pending = [];
  }

  private async once(out: OutgoingMessage, ch: ConfirmChannel): Promise<void> {
    const entry: Pending = { exchange: out.exchange, routingKey: out.routingKey, returned: false };
    const mandatory = this.host.mandatory(out);
    if (mandatory) this.pending.push(entry);
    const pending = this.pending;
    await new Promise<void>((resolve, reject) => {
      const done = (err: unknown): void => {
        const i = pending.indexOf(entry);
        if (i >= 0) pending.splice(i, 1);
        if (err) {
          // The channel's close reason arrives as an 'error' event around the same tick as the callback.
          setImmediate(() => reject(this.lastError ?? err));
          return;
        }
        if (entry.returned) {
          reject(new TransportError(`no queue is bound to exchange '${out.exchange}' with routing key '${out.routingKey}': the message would be lost. Declare and bind the queue first.`));
          return;
        }
        resolve();
      };
      try {
        ch.publish(out.exchange, out.routingKey, out.message.body, publishOptions(out.message, mandatory), done);
      } catch (error) {
        done(error);
      }
    });
  }

  /** Publishes and waits for every confirm; a message whose confirm was lost with the connection is sent again. */
  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      this.lastError = undefined;
      const ch = await this.open();
      const results = await Promise.allSettled(messages.map((m) => this.once(m, ch)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) return;
      const error: unknown = failed.reason;
      if (error instanceof TransportError) throw error;
      const code = replyCode(error);
      // A channel-level refusal (404 no exchange, 403, 406) is final; a lost connection is retried.
      if (code !== undefined && code !== 320 && code !== 541) {
        const what = `publish to exchange '${messages[0]?.exchange ?? ''}'`;
        throw this.host.wrap(what, error);
      }
      if (attempt >= 5) throw this.host.wrap('publish', error);
      // Only the unconfirmed messages are sent again (at-least-once: a confirm lost in flight may duplicate one).
      const retry = results.map((r, i) => (r.status === 'rejected' ? messages[i] : undefined)).filter((m): m is OutgoingMessage => m !== undefined);
      messages = retry;
    }
  }

  async close(): Promise<void> {
    const ch = this.channel;
    this.channel = undefined;
    await ch?.then((c) => c.close()).catch(() => undefined);
  }
}
