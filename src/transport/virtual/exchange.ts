/**
 * Exchange routing for brokers that have no exchanges of their own (memory, SQLite, Redis): given an
 * exchange's type and its bindings, which queues get a message. Pure; written once for every such broker.
 *
 *   direct  routing key equals the binding key
 *   topic   binding key of words split by '.', '*' matches one word, '#' matches zero or more
 *   fanout  every bound queue, routing key ignored
 *   ''      (the default exchange) the queue named by the routing key
 */
import type { Binding, ExchangeType } from '../types.js';

export function topicMatches(pattern: string, routingKey: string): boolean {
  const words = pattern.split('.').map((w) => (w === '*' ? '[^.]+' : w === '#' ? '#' : w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  let src = words.join('\\.');
  // '#' may match zero words, so it swallows one adjacent dot.
  src = src.replace(/\\\.#/g, '(?:\\.[^]*)?').replace(/#\\\./g, '(?:[^]*\\.)?').replace(/#/g, '[^]*');
  return new RegExp(`^${src}$`).test(routingKey);
}

/** Queues a message reaches; duplicates removed, binding order kept. */
export function route(type: ExchangeType, bindings: readonly Binding[], routingKey: string): string[] {
  const out = new Set<string>();
  for (const b of bindings) {
    if (type === 'fanout' || (type === 'direct' && b.routingKey === routingKey) || (type === 'topic' && topicMatches(b.routingKey, routingKey))) {
      out.add(b.queue);
    }
  }
  return [...out];
}
