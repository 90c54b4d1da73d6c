/** Conformance cases about routing: round trip, the default, direct, topic and fanout exchanges, publishMany. */
import assert from 'node:assert/strict';
import { TransportError } from '../errors.js';
import type { Delivery } from './types.js';
import { message, text, type AddCase } from './conformance-harness.js';

export function routingCases(add: AddCase): void {
  add('publish/consume round trip keeps body, content type, headers and properties', async (f) => {
    const q = await f.queue('rt');
    const body = Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x7b, 0x22]);
    const headers = { lang: 'js', task: 'x.y', nested: { list: [1, 'two', null], flag: true }, n: 1.5 };
    const properties = { correlation_id: 'corr-1', reply_to: 'reply.q', delivery_mode: 2, priority: 3 };
    await f.publish(q, body, { contentType: 'application/x-msgpack', contentEncoding: 'binary', headers, properties });
    const c = await f.consumer([q], 10);
    const [d] = (await c.waitFor(1)) as [Delivery];
    assert.deepEqual([...d.message.body], [...body]);
    assert.equal(d.message.contentType, 'application/x-msgpack');
    assert.equal(d.message.contentEncoding, 'binary');
    assert.deepEqual(d.message.headers, headers);
    assert.equal(d.message.properties.correlation_id, 'corr-1');
    assert.equal(d.message.properties.reply_to, 'reply.q');
    assert.equal(d.message.properties.delivery_mode, 2);
    assert.equal(d.message.properties.priority, 3);
    assert.equal(d.queue, q);
    assert.equal(d.exchange, '');
    assert.equal(d.routingKey, q);
    assert.equal(d.redelivered, false);
    assert.ok(typeof d.deliveryTag === 'string' && d.deliveryTag.length > 0, 'a delivery has a tag');
    await d.ack();
  });

  add("default exchange '' routes to the queue named by the routing key, and only there", async (f) => {
    const a = await f.queue('a');
    const b = await f.queue('b');
    await f.publish(a, 'to-a');
    const ca = await f.consumer([a], 10, true);
    const cb = await f.consumer([b], 10, true);
    assert.equal(text((await ca.waitFor(1))[0] as Delivery), 'to-a');
    await cb.staysAt(0, 'queue b must not receive a message routed to a');
  });

  add('direct exchange routes by exact routing key', async (f) => {
    const ex = f.name('direct');
    await f.t.declareExchange({ name: ex, type: 'direct' });
    const q1 = await f.queue('d1');
    const q2 = await f.queue('d2');
    await f.t.bindQueue({ queue: q1, exchange: ex, routingKey: 'k1' });
    await f.t.bindQueue({ queue: q1, exchange: ex, routingKey: 'k1b' });
    await f.t.bindQueue({ queue: q2, exchange: ex, routingKey: 'k2' });
    for (const [key, body] of [['k1', 'one'], ['k2', 'two'], ['k1b', 'one-b']] as const) {
      await f.t.publish(message(body), { exchange: ex, routingKey: key });
    }
    assert.equal((await f.t.queueInfo(q1)).messages, 2);
    assert.equal((await f.t.queueInfo(q2)).messages, 1);
    const c = await f.consumer([q1], 10, true);
    const got = await c.waitFor(2);
    assert.deepEqual(got.map(text), ['one', 'one-b']);
    assert.deepEqual(got.map((d) => [d.exchange, d.routingKey]), [[ex, 'k1'], [ex, 'k1b']]);
  });

  add('topic exchange matches * (one word) and # (zero or more words)', async (f) => {
    const ex = f.name('topic');
    await f.t.declareExchange({ name: ex, type: 'topic' });
    const patterns = { star: 'task.*.done', hash: 'task.#', tail: '#.failed', all: '#' };
    const queues: Record<string, string> = {};
    for (const [k, pattern] of Object.entries(patterns)) {
      queues[k] = await f.queue(k);
      await f.t.bindQueue({ queue: queues[k] as string, exchange: ex, routingKey: pattern });
    }
    for (const key of ['task.a.done', 'task', 'task.a.b.done', 'worker.failed', 'task.x.failed', 'other']) {
      await f.t.publish(message(key), { exchange: ex, routingKey: key });
    }
    const expected: Record<string, string[]> = {
      star: ['task.a.done'],
      hash: ['task.a.done', 'task', 'task.a.b.done', 'task.x.failed'],
      tail: ['worker.failed', 'task.x.failed'],
      all: ['task.a.done', 'task', 'task.a.b.done', 'worker.failed', 'task.x.failed', 'other'],
    };
    for (const [k, keys] of Object.entries(expected)) {
      const c = await f.consumer([queues[k] as string], 0, true);
      const got = await c.waitFor(keys.length, `messages on the '${k}' binding`);
      assert.deepEqual(got.map(text), keys, `binding '${patterns[k as keyof typeof patterns]}'`);
      await c.staysAt(keys.length, `binding '${patterns[k as keyof typeof patterns]}' got extra messages`);
    }
  }, { needs: (c) => (c.topic ? undefined : 'no topic exchanges') });

  add('fanout exchange copies to every bound queue; with no queue bound the message is dropped', async (f) => {
    const ex = f.name('fanout');
    await f.t.declareExchange({ name: ex, type: 'fanout' });
    await f.t.publish(message('nobody'), { exchange: ex, routingKey: 'ignored' });
    const q1 = await f.queue('f1');
    const q2 = await f.queue('f2');
    await f.t.bindQueue({ queue: q1, exchange: ex, routingKey: '' });
    await f.t.bindQueue({ queue: q2, exchange: ex, routingKey: '' });
    await f.t.publish(message('all'), { exchange: ex, routingKey: 'any.key' });
    const c1 = await f.consumer([q1], 10, true);
    const c2 = await f.consumer([q2], 10, true);
    assert.deepEqual((await c1.waitFor(1)).map(text), ['all']);
    assert.deepEqual((await c2.waitFor(1)).map(text), ['all']);
    await c1.staysAt(1, 'the message published before any binding must be dropped');
    assert.notEqual(c1.deliveries[0]?.deliveryTag, c2.deliveries[0]?.deliveryTag, 'each copy has its own tag');
  }, { needs: (c) => (c.fanout ? undefined : 'no fanout exchanges') });

  add('publishing to an undeclared exchange or with an unroutable key throws TransportError', async (f) => {
    await assert.rejects(f.t.publish(message('x'), { exchange: f.name('missing'), routingKey: 'k' }), TransportError);
    const ex = f.name('direct');
    await f.t.declareExchange({ name: ex, type: 'direct' });
    const q = await f.queue('bound');
    await f.t.bindQueue({ queue: q, exchange: ex, routingKey: 'known' });
    await assert.rejects(f.t.publish(message('x'), { exchange: ex, routingKey: 'unknown' }), TransportError);
    assert.equal((await f.t.queueInfo(q)).messages, 0);
  });

  add('deleteExchange removes the exchange and its bindings; the queue keeps its messages', async (f) => {
    const ex = f.name('deleted');
    await f.t.declareExchange({ name: ex, type: 'direct' });
    const q = await f.queue('was-bound');
    await f.t.bindQueue({ queue: q, exchange: ex, routingKey: 'k' });
    await f.t.publish(message('before'), { exchange: ex, routingKey: 'k' });
    await f.t.deleteExchange?.(ex);
    await assert.rejects(f.t.publish(message('after'), { exchange: ex, routingKey: 'k' }), TransportError, 'publishing to a deleted exchange fails');
    await f.t.deleteExchange?.(ex); // already gone: not an error
    await f.t.declareExchange({ name: ex, type: 'direct' });
    await assert.rejects(f.t.publish(message('unbound'), { exchange: ex, routingKey: 'k' }), TransportError, 'the old binding went with the exchange');
    assert.equal((await f.t.queueInfo(q)).messages, 1);
    const c = await f.consumer([q], 10, true);
    assert.deepEqual((await c.waitFor(1)).map(text), ['before']);
  }, { optional: 'deleteExchange' });

  add("unroutable: 'drop' drops a message no queue is bound for, and still delivers a routable one", async (f) => {
    const ex = f.name('drop-topic');
    await f.t.declareExchange({ name: ex, type: 'topic' });
    await f.t.publish(message('nobody'), { exchange: ex, routingKey: 'a.b', unroutable: 'drop' });
    const q = await f.queue('drop-bound');
    await f.t.bindQueue({ queue: q, exchange: ex, routingKey: 'a.#' });
    await f.t.publish(message('dropped'), { exchange: ex, routingKey: 'z.b', unroutable: 'drop' });
    await f.t.publish(message('kept'), { exchange: ex, routingKey: 'a.b', unroutable: 'drop' });
    const c = await f.consumer([q], 10, true);
    assert.deepEqual((await c.waitFor(1)).map(text), ['kept']);
    await c.staysAt(1, 'the unroutable messages must be dropped');
  }, { needs: (c) => (c.topic ? undefined : 'no topic exchanges') });


  add('publishMany delivers every message, in order per queue, through any exchange', async (f) => {
    const q1 = await f.queue('many1');
    const q2 = await f.queue('many2');
    const ex = f.name('many-direct');
    await f.t.declareExchange({ name: ex, type: 'direct' });
    await f.t.bindQueue({ queue: q2, exchange: ex, routingKey: 'rk' });
    await f.t.publishMany([
      { exchange: '', routingKey: q1, message: message('a1') },
      { exchange: ex, routingKey: 'rk', message: message('b1') },
      { exchange: '', routingKey: q1, message: message('a2') },
      { exchange: '', routingKey: q1, message: message('a3') },
      { exchange: ex, routingKey: 'rk', message: message('b2') },
    ]);
    assert.equal((await f.t.queueInfo(q1)).messages, 3);
    assert.equal((await f.t.queueInfo(q2)).messages, 2);
    const c = await f.consumer([q1], 0, true);
    assert.deepEqual((await c.waitFor(3)).map(text), ['a1', 'a2', 'a3']);
    await f.t.publishMany([]);
  });

  add('one consumer reads several queues', async (f) => {
    const q1 = await f.queue('multi1');
    const q2 = await f.queue('multi2');
    await f.publish(q1, 'from-1');
    await f.publish(q2, 'from-2');
    const c = await f.consumer([q1, q2], 10, true);
    assert.deepEqual([...c.consumer.queues].sort(), [q1, q2].sort());
    const got = await c.waitFor(2);
    const byQueue = Object.fromEntries(got.map((d) => [d.queue, text(d)]));
    assert.deepEqual(byQueue, { [q1]: 'from-1', [q2]: 'from-2' });
    await f.publish(q2, 'later-2');
    assert.equal(text((await c.waitFor(3))[2] as Delivery), 'later-2');
  });

}
