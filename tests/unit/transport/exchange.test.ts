/** The virtual exchange router: AMQP direct, topic and fanout semantics. */
import { describe, expect, it } from 'vitest';
import { route, topicMatches } from '../../../src/transport/virtual/exchange.js';
import type { Binding } from '../../../src/transport/types.js';

describe('topicMatches', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.b.c', 'a.b', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.c', false],
    ['a.*.c', 'a.b.x.c', false],
    ['*', 'a', true],
    ['*', 'a.b', false],
    ['*', '', false],
    ['*.*', 'a.b', true],
    ['a.#', 'a', true],
    ['a.#', 'a.b', true],
    ['a.#', 'a.b.c', true],
    ['a.#', 'ab', false],
    ['a.#', 'b.a', false],
    ['#', '', true],
    ['#', 'anything.at.all', true],
    ['#.c', 'c', true],
    ['#.c', 'a.b.c', true],
    ['#.c', 'a.bc', false],
    ['a.#.c', 'a.c', true],
    ['a.#.c', 'a.b.c', true],
    ['a.#.c', 'a.b.d.c', true],
    ['a.#.c', 'a.bc', false],
    ['a.#.c', 'ab.c', false],
    ['*.#', 'a', true],
    ['*.#', 'a.b.c', true],
    ['#.*', 'a', true],
    ['#.a.#', 'x.a.y', true],
    ['#.a.#', 'a', true],
    ['#.a.#', 'xa', false],
    ['task.+', 'task.+', true], // regex characters are literal
    ['task.+', 'task.x', false],
    ['a(b).c', 'a(b).c', true],
    ['celery.pidbox', 'celeryXpidbox', false],
  ])("'%s' vs '%s' -> %s", (pattern, key, want) => {
    expect(topicMatches(pattern, key)).toBe(want);
  });
});

describe('route', () => {
  const bindings: Binding[] = [
    { exchange: 'x', queue: 'q1', routingKey: 'k1' },
    { exchange: 'x', queue: 'q2', routingKey: 'k2' },
    { exchange: 'x', queue: 'q1', routingKey: 'k*' },
    { exchange: 'x', queue: 'q3', routingKey: '#' },
  ];

  it('direct: exact key only, no patterns', () => {
    expect(route('direct', bindings, 'k1')).toEqual(['q1']);
    expect(route('direct', bindings, 'k*')).toEqual(['q1']);
    expect(route('direct', bindings, 'k3')).toEqual([]);
  });

  it('topic: patterns, each queue once, binding order kept', () => {
    expect(route('topic', bindings, 'k1')).toEqual(['q1', 'q3']);
    expect(route('topic', bindings, 'k2')).toEqual(['q2', 'q3']);
  });

  it('fanout: every bound queue once, whatever the key', () => {
    expect(route('fanout', bindings, 'ignored')).toEqual(['q1', 'q2', 'q3']);
    expect(route('fanout', [], 'x')).toEqual([]);
  });
});
