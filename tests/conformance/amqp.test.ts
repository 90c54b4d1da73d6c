/** The shared Transport contract suite on amqp:// (the real RabbitMQ), in a vhost of its own made with rabbitmqctl. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transportConformance } from '../../src/transport/conformance.js';
import { createTransport } from '../../src/transport/amqp/index.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';

let vhost: Vhost | undefined;
beforeAll(async () => {
  vhost = await createVhost();
}, 120_000);
afterAll(() => vhost?.remove(), 120_000);

const cases = transportConformance(() => createTransport(vhost?.url ?? 'amqp://127.0.0.1//', {}), { timeout: 10_000 });

describe('transport conformance: amqp://', () => {
  it('runs the whole shared suite, skipping only what the capabilities rule out', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(cases.filter((c) => c.skip && !/^no |the harness cannot|do not share a store/i.test(c.skip))).toEqual([]);
  });
  for (const c of cases) (c.skip ? it.skip : it)(c.name, c.run, 30_000);
});
