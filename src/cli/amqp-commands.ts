/**
 * The commands of `celeriac amqp` (Celery's AMQP admin shell) over any `Transport`: exchange.declare,
 * exchange.delete, queue.declare, queue.delete, queue.bind, queue.purge, basic.publish, basic.get, basic.ack.
 * Arguments are positional as in Celery's shell; yes/no flags read as click does (yes, true, 1, on...).
 * basic.get is a consumer with prefetch 1 that cancels its queue after the first delivery.
 */
import type { Consumer, Delivery, ExchangeDeclaration, RawMessage, Transport } from '../index.js';
import { UsageError } from './usage.js';

interface Spec {
  usage: string;
  help: string;
  min: number;
  run(s: AmqpSession, a: string[]): Promise<void>;
}

const TRUE = ['y', 'yes', 't', 'true', 'on', '1'];
const FALSE = ['n', 'no', 'f', 'false', 'off', '0'];

/** Longest wait for the delivery of a message queueInfo reported ready (another consumer may take it first). */
const GET_WAIT_MS = 2000;

function flag(value: string | undefined, name: string): boolean {
  if (value === undefined) return false;
  if (TRUE.includes(value.toLowerCase())) return true;
  if (FALSE.includes(value.toLowerCase())) return false;
  throw new UsageError(`${name} expects yes or no; got ${JSON.stringify(value)}`);
}

function refuse(value: string | undefined, name: string, why: string): void {
  if (flag(value, name)) throw new UsageError(`${name}=yes is not supported: ${why}`);
}

function named(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${what} cannot be empty ('' is the default exchange, which always exists)`);
  return value;
}

/** A message as basic.get prints it (Celery's body / properties / delivery_info). */
export function dumpMessage(d: Delivery, tag: number): Record<string, unknown> {
  const { body, contentType, contentEncoding, headers, properties } = d.message;
  const text = body.toString('utf8');
  const textual = !text.includes('\uFFFD');
  return {
    body: textual ? text : body.toString('base64'),
    ...(textual ? {} : { body_encoding: 'base64' }),
    properties: { content_type: contentType, content_encoding: contentEncoding, application_headers: headers, ...properties },
    delivery_info: { delivery_tag: tag, exchange: d.exchange, routing_key: d.routingKey, redelivered: d.redelivered, queue: d.queue },
  };
}

/** A message from a string typed in the shell: JSON when it parses as JSON, plain text otherwise. */
export function typedMessage(text: string): RawMessage {
  let json = false;
  try {
    JSON.parse(text);
    json = true;
  } catch {
    // plain text
  }
  return { body: Buffer.from(text, 'utf8'), contentType: json ? 'application/json' : 'text/plain', contentEncoding: 'utf-8', headers: {}, properties: { delivery_mode: 2 } };
}

const COMMANDS: Record<string, Spec> = {
  'exchange.declare': {
    usage: 'exchange.declare EXCHANGE TYPE [passive] [durable] [auto_delete]',
    help: 'declare an exchange of TYPE direct, topic or fanout',
    min: 2,
    async run(s, [name, type, passive, durable, autoDelete]) {
      if (type !== 'direct' && type !== 'topic' && type !== 'fanout') throw new UsageError(`exchange.declare: TYPE must be direct, topic or fanout; got ${JSON.stringify(type)}`);
      refuse(passive, 'passive', 'not every broker can check an exchange without declaring it');
      const e: ExchangeDeclaration = { name: named(name, 'EXCHANGE'), type, durable: flag(durable, 'durable'), autoDelete: flag(autoDelete, 'auto_delete') };
      await s.transport.declareExchange(e);
      s.ok();
    },
  },
  'exchange.delete': {
    usage: 'exchange.delete EXCHANGE [if_unused]',
    help: 'delete an exchange and its bindings (the queues stay)',
    min: 1,
    async run(s, [name, ifUnused]) {
      refuse(ifUnused, 'if_unused', 'not every broker can tell whether an exchange is in use');
      if (!s.transport.deleteExchange) throw new UsageError(`the ${s.transport.capabilities.name} broker plug-in cannot delete exchanges (it has no deleteExchange)`);
      await s.transport.deleteExchange(named(name, 'EXCHANGE'));
      s.ok();
    },
  },
  'queue.declare': {
    usage: 'queue.declare QUEUE [passive] [durable] [auto_delete]',
    help: 'declare a queue (passive: only report it) and print its message counts',
    min: 1,
    async run(s, [queue, passive, durable, autoDelete]) {
      const name = named(queue, 'QUEUE');
      if (!flag(passive, 'passive')) await s.transport.declareQueue({ name, durable: flag(durable, 'durable'), autoDelete: flag(autoDelete, 'auto_delete') });
      const info = await s.transport.queueInfo(name);
      s.say(`queue:${name} messages:${info.messages} unacked:${info.unacked}`);
      s.ok();
    },
  },
  'queue.delete': {
    usage: 'queue.delete QUEUE [if_unused] [if_empty]',
    help: 'delete a queue and its messages (if_empty: only when it holds none)',
    min: 1,
    async run(s, [queue, ifUnused, ifEmpty]) {
      const name = named(queue, 'QUEUE');
      refuse(ifUnused, 'if_unused', 'not every broker can count the consumers of a queue');
      const info = await s.transport.queueInfo(name);
      if (flag(ifEmpty, 'if_empty') && info.messages + info.unacked > 0) throw new UsageError(`queue ${name} is not empty (${info.messages} ready, ${info.unacked} unacked): not deleted`);
      await s.transport.deleteQueue(name);
      s.say(`${info.messages} messages deleted.`);
      s.ok();
    },
  },
  'queue.bind': {
    usage: 'queue.bind QUEUE EXCHANGE [ROUTING_KEY]',
    help: "bind a queue to an exchange (routing key '' by default)",
    min: 2,
    async run(s, [queue, exchange, routingKey = '']) {
      await s.transport.bindQueue({ queue: named(queue, 'QUEUE'), exchange: named(exchange, 'EXCHANGE'), routingKey });
      s.ok();
    },
  },
  'queue.purge': {
    usage: 'queue.purge QUEUE',
    help: 'delete every ready message of a queue',
    min: 1,
    async run(s, [queue]) {
      s.say(`${await s.transport.purge(named(queue, 'QUEUE'))} messages deleted.`);
      s.ok();
    },
  },
  'basic.publish': {
    usage: 'basic.publish MESSAGE EXCHANGE ROUTING_KEY [mandatory] [immediate]',
    help: "publish MESSAGE (JSON if it parses, else text) to EXCHANGE ('' is the default exchange: ROUTING_KEY names the queue)",
    min: 3,
    async run(s, [message = '', exchange = '', routingKey = '', mandatory, immediate]) {
      refuse(immediate, 'immediate', 'RabbitMQ 3 dropped it, and no other broker has it');
      // Unroutable messages are an error unless mandatory=no is given (then dropped, as AMQP does).
      const unroutable = mandatory !== undefined && !flag(mandatory, 'mandatory') ? 'drop' : 'error';
      await s.transport.publish(typedMessage(message), { exchange, routingKey, unroutable });
      s.ok();
    },
  },
  'basic.get': {
    usage: 'basic.get QUEUE [no_ack]',
    help: 'take one message and print it; held (unacked) until basic.ack TAG, or back to the queue when the shell ends; no_ack=yes takes it for good',
    min: 1,
    async run(s, [queue, noAck]) {
      const ack = flag(noAck, 'no_ack');
      const got = await s.get(named(queue, 'QUEUE'), ack);
      if (!got) s.say('No messages in queue. basic.publish something.');
      else s.say(JSON.stringify(dumpMessage(got.delivery, got.tag), null, 2));
      s.ok();
    },
  },
  'basic.ack': {
    usage: 'basic.ack DELIVERY_TAG',
    help: 'ack a message basic.get took: it is removed from the broker',
    min: 1,
    async run(s, [tag]) {
      await s.ack(Number(tag));
      s.ok();
    },
  },
};

export const AMQP_COMMANDS: readonly [string, string, string][] = Object.entries(COMMANDS).map(([name, spec]) => [name, spec.usage, spec.help]);

/** One shell session on a transport: runs commands, holds the deliveries basic.get took until acked. */
export class AmqpSession {
  private lastTag = 0;
  private readonly held = new Map<number, { delivery: Delivery; consumer: Consumer }>();

  constructor(readonly transport: Transport, readonly say: (line: string) => void) {}

  ok(): void {
    this.say('ok.');
  }

  /** Runs one command line (already split into words). Throws UsageError for bad input, broker errors as they come. */
  async run(words: readonly string[]): Promise<void> {
    const [name = '', ...args] = words;
    const spec = COMMANDS[name];
    if (!spec) throw new UsageError(`no command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')} (help lists them)`);
    const max = spec.usage.split(' ').length - 1;
    if (args.length < spec.min || args.length > max) throw new UsageError(`usage: ${spec.usage}`);
    await spec.run(this, args);
  }

  /** Held deliveries' tags (basic.get without no_ack, not acked yet). */
  get unacked(): number[] {
    return [...this.held.keys()];
  }

  async get(queue: string, ack: boolean): Promise<{ delivery: Delivery; tag: number } | undefined> {
    if ((await this.transport.queueInfo(queue)).messages === 0) return undefined;
    let first: ((d: Delivery) => void) | undefined;
    const arrived = new Promise<Delivery>((resolve) => (first = resolve));
    const consumer = this.transport.createConsumer({
      prefetch: 1,
      onMessage: (d) => {
        if (first) {
          first(d);
          first = undefined;
        } else void d.reject({ requeue: true });
      },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.consume(queue);
      const delivery = await Promise.race([arrived, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), GET_WAIT_MS)))]);
      await consumer.cancel(queue);
      if (!delivery) {
        await consumer.close();
        return undefined;
      }
      if (ack) {
        await delivery.ack();
        await consumer.close();
        return { delivery, tag: ++this.lastTag };
      }
      const tag = ++this.lastTag;
      this.held.set(tag, { delivery, consumer });
      return { delivery, tag };
    } catch (err) {
      await consumer.close().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async ack(tag: number): Promise<void> {
    const h = this.held.get(tag);
    if (!h) {
      const tags = this.unacked;
      throw new UsageError(`no unacked delivery ${tag} in this shell${tags.length ? ` (unacked: ${tags.join(', ')})` : ': basic.get QUEUE takes one'}`);
    }
    await h.delivery.ack();
    this.held.delete(tag);
    await h.consumer.close();
  }

  /** Hands every unacked delivery back to its queue. */
  async close(): Promise<void> {
    await Promise.all([...this.held.values()].map((h) => h.consumer.close().catch(() => undefined)));
    this.held.clear();
  }
}
