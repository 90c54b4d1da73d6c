/**
 * The producer: turns a task call into a protocol v2 message, routes it, declares its queue once per
 * transport (Celery's automatic queues), and publishes it.
 */
import { hostname } from 'node:os';
import type { Config } from '../config/options.js';
import type { Codec } from '../protocol/codecs.js';
import { buildTaskMessage } from '../protocol/task-message.js';
import type { RawMessage } from '../protocol/message.js';
import type { OutgoingMessage, Transport } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import type { IdFactory } from '../util/ids.js';
import { exchangeType, queueTopology } from './queues.js';
import type { Route, Router } from './routes.js';
import type { ApplyOptions, TaskOptions } from './task.js';

export interface ProducerDeps {
  conf: Config;
  router: Router;
  codec: Codec;
  clock: Clock;
  ids: IdFactory;
  /** reply_to of every message (the app's oid, as Celery sets it). */
  replyTo?: string;
  connection(): Promise<Transport>;
  /** Called after each task message is published (the app's task-sent events). */
  onSent?(prepared: PreparedTask): void;
}

export interface PreparedTask {
  id: string;
  route: Route;
  message: RawMessage;
}

export class Producer {
  /** `gen<pid>@<host>`, as Celery names the sender. */
  readonly origin = `gen${process.pid}@${hostname()}`;
  private readonly declared = new Map<string, Promise<void>>();

  constructor(private readonly deps: ProducerDeps) {}

  /**
   * Declares a route's queue the way Celery does: the queue, plus a direct exchange named after it and
   * bound with its name (so kombu can route to it by exchange too), or the exchange and key `queues`
   * configures for it; and the route's own exchange and binding when it names one.
   */
  declareRoute(transport: Transport, route: Route): Promise<void> {
    const key = `${route.exchange}\u0000${route.queue}\u0000${route.routingKey}`;
    let done = this.declared.get(key);
    if (!done) {
      done = (async () => {
        const own = queueTopology(this.deps.conf, route.queue);
        await transport.declareQueue(own.queue);
        await transport.declareExchange(own.exchange);
        await transport.bindQueue({ queue: route.queue, exchange: own.exchange.name, routingKey: own.routingKey });
        if (route.exchange !== '' && (route.exchange !== own.exchange.name || route.routingKey !== own.routingKey)) {
          await transport.declareExchange({ name: route.exchange, type: exchangeType(this.deps.conf, route.exchange), durable: true });
          await transport.bindQueue({ queue: route.queue, exchange: route.exchange, routingKey: route.routingKey });
        }
      })();
      done.catch(() => this.declared.delete(key));
      this.declared.set(key, done);
    }
    return done;
  }

  prepare(name: string, args: readonly unknown[], options: ApplyOptions, defaults: TaskOptions): PreparedTask {
    const { conf, router, codec, clock, ids } = this.deps;
    const id = options.taskId ?? ids();
    const route = router.route(name, { queue: options.queue ?? (options.exchange === undefined ? defaults.queue : undefined), exchange: options.exchange, routingKey: options.routingKey });
    const now = clock.now();
    const expires = options.expires;
    const message = buildTaskMessage(
      {
        id,
        name,
        args,
        kwargs: options.kwargs ?? {},
        now,
        countdown: options.countdown,
        eta: options.eta,
        expires,
        retries: options.retries,
        timeLimit: options.timeLimit ?? defaults.timeLimit,
        softTimeLimit: options.softTimeLimit ?? defaults.softTimeLimit,
        rootId: options.rootId,
        parentId: options.parentId,
        groupId: options.groupId,
        groupIndex: options.groupIndex,
        shadow: options.shadow,
        origin: this.origin,
        replyTo: this.deps.replyTo,
        ignoreResult: options.ignoreResult ?? defaults.ignoreResult ?? conf.taskIgnoreResult,
        priority: options.priority ?? route.priority ?? defaults.priority,
        headers: options.headers,
        callbacks: options.embed?.callbacks,
        errbacks: options.embed?.errbacks,
        chain: options.embed?.chain,
        chord: options.embed?.chord,
      },
      codec,
    );
    return { id, route, message };
  }

  async send(prepared: PreparedTask): Promise<void> {
    const transport = await this.deps.connection();
    await this.declareRoute(transport, prepared.route);
    await transport.publish(prepared.message, { exchange: prepared.route.exchange, routingKey: prepared.route.routingKey });
    this.deps.onSent?.(prepared);
  }

  /** Publishes many prepared tasks in as few broker round trips as the transport allows. */
  async sendMany(prepared: readonly PreparedTask[]): Promise<void> {
    const transport = await this.deps.connection();
    // Each distinct route declared once; a batch usually has one, so a route equal to the previous one is skipped without a key.
    const routes = new Map<string, Route>();
    let last: Route | undefined;
    for (const { route } of prepared) {
      if (last && route.exchange === last.exchange && route.queue === last.queue && route.routingKey === last.routingKey) continue;
      routes.set(`${route.exchange}|${route.queue}|${route.routingKey}`, route);
      last = route;
    }
    await Promise.all([...routes.values()].map((r) => this.declareRoute(transport, r)));
    const out: OutgoingMessage[] = prepared.map((p) => ({ message: p.message, exchange: p.route.exchange, routingKey: p.route.routingKey }));
    await transport.publishMany(out);
    if (this.deps.onSent) for (const p of prepared) this.deps.onSent(p);
  }
}
