/**
 * The exchanges, queues and bindings of oslo.messaging's rabbit driver, as data (pure), so a Python oslo peer
 * and celeriac declare them identically on RabbitMQ (no PRECONDITION_FAILED in either order):
 *
 *   what                      name                       type / flags (oslo defaults)                   bound with
 *   control exchange          <exchange> ('openstack')   topic, durable false, auto_delete false
 *   topic queue (shared)      <topic>                    durable false, auto_delete false, no args     <topic>
 *   server queue              <topic>.<server>           durable false, auto_delete false, no args     <topic>.<server>
 *   fanout exchange           <topic>_fanout             fanout, durable false, auto_delete true
 *   fanout queue (per server) <topic>_fanout_<hex>       durable false, auto_delete false, x-expires   <topic>
 *   reply queue (per caller)  reply_<hex>                durable false, auto_delete false, x-expires   (default exchange)
 *
 * `durable` / `autoDelete` follow oslo's amqp_durable_queues / amqp_auto_delete (both false by default) and
 * apply to the control exchange and the topic and server queues; x-expires is rabbit_transient_queues_ttl
 * (1800 s by default). Requests go to <exchange> with routing key <topic> or <topic>.<server>, fanout casts to
 * <topic>_fanout, replies to the default exchange with the reply queue's name as routing key.
 */
import type { Binding, ExchangeDeclaration, QueueDeclaration } from '../../transport/types.js';
import type { RpcAddress } from '../types.js';

export interface TopologyOptions {
  /** oslo's control_exchange. */
  exchange: string;
  /** amqp_durable_queues. */
  durable: boolean;
  /** amqp_auto_delete. */
  autoDelete: boolean;
  /** rabbit_transient_queues_ttl in ms (x-expires of fanout and reply queues); 0 = none. */
  transientTtl: number;
}

export interface Topology {
  exchanges: ExchangeDeclaration[];
  queues: QueueDeclaration[];
  bindings: Binding[];
}

export const serverQueue = (topic: string, server: string): string => `${topic}.${server}`;
export const fanoutExchange = (topic: string): string => `${topic}_fanout`;
export const fanoutQueue = (topic: string, unique: string): string => `${topic}_fanout_${unique}`;
export const replyQueueName = (unique: string): string => `reply_${unique}`;

export function controlExchange(name: string, o: TopologyOptions): ExchangeDeclaration {
  return { name, type: 'topic', durable: o.durable, autoDelete: o.autoDelete };
}

export function fanoutExchangeDeclaration(topic: string): ExchangeDeclaration {
  return { name: fanoutExchange(topic), type: 'fanout', durable: false, autoDelete: true };
}

function transientQueue(name: string, o: TopologyOptions): QueueDeclaration {
  return { name, durable: false, autoDelete: false, ...(o.transientTtl > 0 ? { expires: o.transientTtl } : {}) };
}

export function replyQueueDeclaration(name: string, o: TopologyOptions): QueueDeclaration {
  return transientQueue(name, o);
}

/** What a server of `topic` named `server` declares; `unique` names its own fanout queue. */
export function listenerTopology(exchange: string, topic: string, server: string, unique: string, o: TopologyOptions): Topology {
  const shared = (name: string): QueueDeclaration => ({ name, durable: o.durable, autoDelete: o.autoDelete });
  const own = serverQueue(topic, server);
  const fanout = fanoutQueue(topic, unique);
  return {
    exchanges: [controlExchange(exchange, o), fanoutExchangeDeclaration(topic)],
    queues: [shared(topic), shared(own), transientQueue(fanout, o)],
    bindings: [
      { queue: topic, exchange, routingKey: topic },
      { queue: own, exchange, routingKey: own },
      // oslo binds with the topic as key; the key is ignored by a fanout exchange, and brokers whose fanout
      // filters by key (capabilities.fanoutPatterns) match it because fanout casts are published with it.
      { queue: fanout, exchange: fanoutExchange(topic), routingKey: topic },
    ],
  };
}

/** Where a request for `address` is published (a fanout cast ignores `server`). */
export function requestRoute(address: RpcAddress, defaultExchange: string): { exchange: string; routingKey: string; fanout: boolean } {
  if (address.fanout) return { exchange: fanoutExchange(address.topic), routingKey: address.topic, fanout: true };
  const routingKey = address.server ? serverQueue(address.topic, address.server) : address.topic;
  return { exchange: address.exchange ?? defaultExchange, routingKey, fanout: false };
}
