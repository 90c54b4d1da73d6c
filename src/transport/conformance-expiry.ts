/** Conformance cases about queue lifetime: `expires` (AMQP x-expires) and deleting queues with their bindings. */
import assert from 'node:assert/strict';
import { delay, message, type AddCase } from './conformance-harness.js';

/** Polls `check` every 50 ms until it holds; fails after `timeout` ms. */
async function eventually(check: () => Promise<boolean>, timeout: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} within ${timeout} ms`);
    await delay(50);
  }
}

export function expiryCases(add: AddCase): void {
  add('a queue declared with expires is deleted once unused, with its messages and bindings; a consumed one stays', async (f) => {
    const ex = f.name('expiry-fanout');
    const idle = f.name('expiry-idle');
    const busy = f.name('expiry-busy');
    await f.t.declareExchange({ name: ex, type: 'fanout', durable: false });
    for (const q of [idle, busy]) {
      await f.t.declareQueue({ name: q, durable: false, autoDelete: true, expires: 400 });
      await f.t.bindQueue({ queue: q, exchange: ex, routingKey: '' });
    }
    const c = await f.consumer([busy], 0, true);
    await f.t.publish(message('held'), { exchange: '', routingKey: idle });
    await eventually(async () => !(await f.t.listQueues()).some((q) => q.name === idle), f.limits.timeout, `queue ${idle} (expires 400 ms, no consumer) was not deleted`);
    // Well past its period, the consumed queue still gets what the exchange broadcasts.
    await delay(800);
    await f.t.publish(message('to all'), { exchange: ex, routingKey: '' });
    const [d] = await c.waitFor(1, 'broadcast to the consumed queue');
    assert.equal(d?.message.body.toString(), 'to all');
    assert.equal(d?.queue, busy);
    await f.t.deleteQueue(busy);
  });

  add('deleteQueue removes the queue from the exchanges it was bound to', async (f) => {
    const ex = f.name('del-direct');
    const q = await f.queue('del-q');
    await f.t.declareExchange({ name: ex, type: 'fanout', durable: false });
    await f.t.bindQueue({ queue: q, exchange: ex, routingKey: '' });
    await f.t.deleteQueue(q);
    await f.t.publish(message('nobody'), { exchange: ex, routingKey: '' });
    await delay(f.limits.quiet);
    const left = (await f.t.listQueues()).find((x) => x.name === q);
    assert.ok(!left || left.messages === 0, 'a deleted queue must not receive fanout copies');
  });
}
