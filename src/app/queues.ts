/**
 * The broker topology of a queue from config (Celery's task_queues and task_queue_max_priority), and where
 * a task for it is published: as Celery, to the default exchange for queues on direct exchanges, else to
 * the queue's own exchange with its binding key.
 */
import type { Config } from '../config/options.js';
import type { ExchangeDeclaration, QueueDeclaration } from '../transport/types.js';

export interface QueueTopology {
  queue: QueueDeclaration;
  exchange: ExchangeDeclaration;
  routingKey: string;
}

type QueueConf = Pick<Config, 'queues' | 'queueMaxPriority'>;

/** What to declare for queue `name`: the queue, its exchange (direct, named after it, unless configured) and the binding key. */
export function queueTopology(conf: QueueConf, name: string): QueueTopology {
  const spec = conf.queues.find((q) => q.name === name);
  const ex = spec?.exchange;
  const exchange: ExchangeDeclaration =
    ex === undefined ? { name, type: 'direct', durable: true } : typeof ex === 'string' ? { name: ex, type: 'direct', durable: true } : { name: ex.name, type: ex.type, durable: true };
  const maxPriority = spec?.maxPriority ?? (conf.queueMaxPriority || undefined);
  return {
    queue: { name, durable: true, ...(maxPriority ? { maxPriority } : {}) },
    exchange,
    routingKey: spec?.routingKey ?? name,
  };
}

/** The type of a configured exchange (any queue's), 'direct' when none is configured. */
export function exchangeType(conf: QueueConf, exchange: string): ExchangeDeclaration['type'] {
  for (const q of conf.queues) if (typeof q.exchange === 'object' && q.exchange.name === exchange) return q.exchange.type;
  return 'direct';
}

/** Where a task for a configured queue on a topic or fanout exchange is published; undefined: default exchange. */
export function publishTarget(conf: QueueConf, queue: string): { exchange: string; routingKey: string } | undefined {
  const spec = conf.queues.find((q) => q.name === queue);
  if (!spec || typeof spec.exchange !== 'object' || spec.exchange.type === 'direct') return undefined;
  return { exchange: spec.exchange.name, routingKey: spec.routingKey ?? queue };
}
