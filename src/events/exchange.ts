/**
 * The `celeryev` exchange as Celery declares it: topic and durable; fanout on a broker whose fanout filters
 * by routing-key pattern and stores nothing (capabilities.fanoutPatterns: kombu's Redis), as Celery does on
 * Redis. Decided from capability data, never from the broker's name.
 */
import { ConfigError } from '../errors.js';
import { EVENT_EXCHANGE } from '../protocol/events.js';
import type { ExchangeDeclaration, TransportCapabilities } from '../transport/types.js';

/** Whether this broker can carry events at all (a topic or a fanout exchange). */
export function eventsSupported(capabilities: TransportCapabilities): boolean {
  return capabilities.topic || capabilities.fanout;
}

export function eventExchange(capabilities: TransportCapabilities, name = EVENT_EXCHANGE): ExchangeDeclaration {
  if (!eventsSupported(capabilities)) {
    throw new ConfigError(`events need a topic or fanout exchange, which the ${capabilities.name} transport lacks: use memory, sqlite, redis or amqp`);
  }
  const type = capabilities.fanoutPatterns || !capabilities.topic ? 'fanout' : 'topic';
  return { name, type, durable: true, autoDelete: false };
}
