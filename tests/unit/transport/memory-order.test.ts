import { describe, expect, it } from 'vitest';
import { Collector, Fixture } from '../../../src/transport/conformance-harness.js';
import { createTransport } from '../../../src/transport/memory/index.js';

const limits = { timeout: 2000, quiet: 50 };

describe('memory:// delivery order', () => {
  it('a requeued message goes back before the messages that arrived after it, within its priority', async () => {
    const f = new Fixture(createTransport('memory://', {}), limits);
    try {
      const q = await f.queue('order', 9);
      for (let i = 0; i < 6; i++) await f.publish(q, `m${i}`);
      await f.publish(q, 'urgent', { properties: { priority: 9 } });
      const first = await f.consumer([q], 3);
      const held = await first.waitFor(3);
      expect(held.map((d) => d.message.body.toString())).toEqual(['urgent', 'm0', 'm1']);
      await first.consumer.close(); // hands all three back
      const second: Collector = await f.consumer([q], 0, true);
      const all = await second.waitFor(7);
      expect(all.map((d) => d.message.body.toString())).toEqual(['urgent', 'm0', 'm1', 'm2', 'm3', 'm4', 'm5']);
      expect(all.slice(0, 3).every((d) => d.redelivered)).toBe(true);
    } finally {
      await f.cleanup();
    }
  });

  it('requeues into a long queue without walking it (20,000 queued, 2,000 requeued stay in order)', async () => {
    const f = new Fixture(createTransport('memory://', {}), { timeout: 10_000, quiet: 50 });
    try {
      const q = await f.queue('long');
      for (let i = 0; i < 22_000; i++) await f.publish(q, String(i));
      const first = await f.consumer([q], 2000);
      await first.waitFor(2000);
      await first.consumer.cancel(q);
      await Promise.all(first.deliveries.map((d) => d.reject({ requeue: true })));
      const second = await f.consumer([q], 0, true);
      const all = await second.waitFor(22_000);
      expect(all.map((d) => Number(d.message.body.toString()))).toEqual(Array.from({ length: 22_000 }, (_, i) => i));
    } finally {
      await f.cleanup();
    }
  });
});
