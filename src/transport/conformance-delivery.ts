/** Conformance cases about delivery: prefetch, ack, reject, dead letters, hand-back, priorities, counts. */
import assert from 'node:assert/strict';
import type { Delivery, Transport } from './types.js';
import { counts, delay, message, text, type AddCase } from './conformance-harness.js';

type Inject = (transport: Transport, queue: string, envelope: string) => Promise<void> | void;

export function deliveryCases(add: AddCase, inject: Inject | undefined): void {
  add('prefetch window: only `prefetch` unsettled deliveries; an ack lets the next one in', async (f) => {
    const q = await f.queue('pf');
    for (let i = 0; i < 5; i++) await f.publish(q, `m${i}`);
    const c = await f.consumer([q], 2);
    await c.waitFor(2);
    await c.staysAt(2, 'prefetch 2 with no acks must hold at 2 deliveries');
    await (c.deliveries[0] as Delivery).ack();
    await c.waitFor(3);
    await c.staysAt(3, 'one ack frees exactly one slot');
    assert.deepEqual(c.deliveries.map(text), ['m0', 'm1', 'm2']);
  });

  add('a consumer holding unsettled messages still fills each free slot of its window', async (f) => {
    const q = await f.queue('fill');
    const c = await f.consumer([q], 3);
    for (const [i, body] of ['a', 'b', 'c'].entries()) {
      await f.publish(q, body);
      await c.waitFor(i + 1, `delivery ${i + 1} of 3 while holding ${i} unsettled (prefetch 3)`);
    }
    assert.deepEqual(c.deliveries.map(text), ['a', 'b', 'c']);
  });

  add('ack removes the message for good', async (f) => {
    const q = await f.queue('ack');
    await f.publish(q, 'once');
    const c = await f.consumer([q], 1);
    const [d] = (await c.waitFor(1)) as [Delivery];
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 0, unacked: 1 });
    await d.ack();
    await c.consumer.close();
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 0, unacked: 0 });
    const again = await f.consumer([q], 1);
    await again.staysAt(0, 'an acked message must not come back');
  });

  add('acks are written while the consumer stays open, with more to claim and with nothing left', async (f) => {
    const q = await f.queue('ackopen');
    for (let i = 0; i < 3; i++) await f.publish(q, `k${i}`);
    const c = await f.consumer([q], 2);
    const [d0, d1] = (await c.waitFor(2)) as [Delivery, Delivery];
    await d0.ack();
    const d2 = (await c.waitFor(3))[2] as Delivery;
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 0, unacked: 2 }, 'an ack that freed a slot is written with or before the next claim');
    await d1.ack();
    await d2.ack();
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 0, unacked: 0 }, 'acks are written though nothing is left to claim');
    await c.staysAt(3, 'acked messages must not come back');
  });

  add('reject with requeue: delivered again, marked redelivered', async (f) => {
    const q = await f.queue('rq');
    await f.publish(q, 'again');
    const c = await f.consumer([q], 1);
    const [first] = (await c.waitFor(1)) as [Delivery];
    assert.equal(first.redelivered, false);
    await first.reject({ requeue: true });
    const second = (await c.waitFor(2))[1] as Delivery;
    assert.equal(text(second), 'again');
    assert.equal(second.redelivered, true);
    await second.ack();
  });

  add('reject without requeue dead-letters the message with its reason', async (f) => {
    const q = await f.queue('dl');
    await f.publish(q, 'poison', { headers: { id: 'dl-1' } });
    const c = await f.consumer([q], 1);
    const [d] = (await c.waitFor(1)) as [Delivery];
    await d.reject({ requeue: false, reason: 'cannot decode: test' });
    await c.staysAt(1, 'a dead-lettered message is not delivered again');
    const dead = (await f.t.deadLetters(1000)).find((x) => x.id === d.deliveryTag);
    assert.ok(dead, 'the rejected message is listed by deadLetters()');
    assert.equal(dead.queue, q);
    assert.equal(dead.reason, 'cannot decode: test');
    assert.equal(dead.message.body.toString(), 'poison');
    assert.deepEqual(dead.message.headers, { id: 'dl-1' });
    assert.ok(Math.abs(dead.at - Date.now()) < 60_000, 'dead letter time is ms since the epoch');
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 0, unacked: 0 });
  }, { needs: (c) => (c.deadLetter ? undefined : 'no dead-letter store') });

  add('consumer.close() hands unsettled deliveries back; another consumer gets them, redelivered', async (f) => {
    const q = await f.queue('close');
    for (let i = 0; i < 3; i++) await f.publish(q, `h${i}`);
    const a = await f.consumer([q], 3);
    const held = await a.waitFor(3);
    const b = await f.consumer([q], 10);
    await b.staysAt(0, 'messages held by a live consumer are invisible to others');
    await a.consumer.close();
    const got = await b.waitFor(3);
    assert.deepEqual(got.map(text).sort(), ['h0', 'h1', 'h2']);
    assert.ok(got.every((d) => d.redelivered), 'handed-back messages come back redelivered');
    await (held[0] as Delivery).ack(); // settling a handed-back delivery is a no-op
    for (const d of got) await d.ack();
    await b.staysAt(3, 'nothing is delivered twice');
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 0, unacked: 0 });
  });

  add('two consumers on one queue never get the same message (500 messages)', async (f) => {
    const q = await f.queue('race');
    const a = await f.consumer([q], 10, true);
    const b = await f.consumer([q], 10, true);
    const total = 500;
    for (let i = 0; i < total; i += 50) {
      await f.t.publishMany(Array.from({ length: 50 }, (_, j) => ({ exchange: '', routingKey: q, message: message(String(i + j)) })));
    }
    const deadline = Date.now() + f.limits.timeout * 2;
    while (a.deliveries.length + b.deliveries.length < total && Date.now() < deadline) await delay(20);
    await delay(f.limits.quiet);
    const seen = [...a.deliveries, ...b.deliveries].map(text);
    assert.equal(seen.length, total, `expected ${total} deliveries in all, got ${seen.length}`);
    assert.equal(new Set(seen).size, total, 'a message was delivered twice');
    assert.equal((await f.t.queueInfo(q)).messages, 0);
  });

  add('priorities follow capabilities.priority', async (f) => {
    const order = f.t.capabilities.priority;
    const q = await f.queue('prio', 9);
    for (const [p, name] of [[0, 'p0a'], [9, 'p9a'], [5, 'p5'], [0, 'p0b'], [9, 'p9b']] as const) {
      await f.publish(q, name, { properties: { priority: p } });
    }
    const got: string[] = [];
    const c = await f.consumer([q], 1);
    for (let i = 1; i <= 5; i++) {
      const d = (await c.waitFor(i))[i - 1] as Delivery;
      got.push(text(d));
      await d.ack();
    }
    const expected = order === 'higher-first' ? ['p9a', 'p9b', 'p5', 'p0a', 'p0b'] : ['p0a', 'p0b', 'p5', 'p9a', 'p9b'];
    assert.deepEqual(got, expected, `priority order '${order}'`);
  }, { needs: (c) => (c.priority === 'none' ? 'no priorities' : undefined) });

  add('purge removes the ready messages and returns how many', async (f) => {
    const q = await f.queue('purge');
    for (let i = 0; i < 4; i++) await f.publish(q, `p${i}`);
    assert.equal(await f.t.purge(q), 4);
    assert.equal((await f.t.queueInfo(q)).messages, 0);
    assert.equal(await f.t.purge(q), 0);
    const c = await f.consumer([q], 10);
    await c.staysAt(0, 'purged messages must not be delivered');
  });

  add('queueInfo and listQueues count ready and unacked messages', async (f) => {
    const q = await f.queue('info');
    const empty = await f.queue('empty');
    for (let i = 0; i < 3; i++) await f.publish(q, `i${i}`);
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 3, unacked: 0 });
    const c = await f.consumer([q], 1);
    await c.waitFor(1);
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 2, unacked: 1 });
    const listed = await f.t.listQueues();
    assert.deepEqual(counts(listed.find((x) => x.name === q)), { name: q, messages: 2, unacked: 1 });
    assert.deepEqual(counts(listed.find((x) => x.name === empty)), { name: empty, messages: 0, unacked: 0 });
  });

  add('QueueInfo.consumers, where reported, counts the consumers reading the queue', async (f) => {
    const q = await f.queue('consumers');
    const idle = await f.queue('no-consumers');
    const before = (await f.t.queueInfo(q)).consumers;
    assert.ok(before === undefined || before === 0, `a queue nobody reads reports 0 consumers or none, got ${before}`);
    const c1 = await f.consumer([q], 1);
    const c2 = await f.consumer([q, idle], 1);
    const reported = (await f.t.queueInfo(q)).consumers;
    if (reported === undefined) {
      // The broker does not record consumers (see QueueInfo.consumers): then it never does.
      assert.equal((await f.t.listQueues()).find((x) => x.name === q)?.consumers, undefined);
      return;
    }
    assert.equal(reported, 2);
    assert.equal((await f.t.queueInfo(idle)).consumers, 1);
    assert.equal((await f.t.listQueues()).find((x) => x.name === q)?.consumers, 2);
    await c1.consumer.close();
    assert.equal((await f.t.queueInfo(q)).consumers, 1);
    await c2.consumer.cancel(q);
    assert.equal((await f.t.queueInfo(q)).consumers, 0);
    assert.equal((await f.t.queueInfo(idle)).consumers, 1);
  });


  add('cancel(queue) stops that queue only', async (f) => {
    const q1 = await f.queue('cancel1');
    const q2 = await f.queue('cancel2');
    const c = await f.consumer([q1, q2], 10, true);
    await c.consumer.cancel(q1);
    assert.deepEqual([...c.consumer.queues], [q2]);
    await f.publish(q1, 'stopped');
    await f.publish(q2, 'still');
    assert.deepEqual((await c.waitFor(1)).map(text), ['still']);
    await c.staysAt(1, 'a cancelled queue must not be read');
    assert.equal((await f.t.queueInfo(q1)).messages, 1);
    await c.consumer.consume(q1);
    assert.equal(text((await c.waitFor(2))[1] as Delivery), 'stopped');
  });

  add('setPrefetch raises the window at once', async (f) => {
    const q = await f.queue('setpf');
    for (let i = 0; i < 4; i++) await f.publish(q, `s${i}`);
    const c = await f.consumer([q], 1);
    await c.waitFor(1);
    await c.staysAt(1, 'prefetch 1 holds one delivery');
    c.consumer.setPrefetch(3);
    await c.waitFor(3);
    await c.staysAt(3, 'prefetch 3 holds three deliveries');
  });


  add('an undecodable stored envelope is dead-lettered, never delivered', async (f) => {
    const q = await f.queue('garbage');
    await (inject as Inject)(f.t, q, '{not json');
    await f.publish(q, 'good');
    const c = await f.consumer([q], 10, true);
    assert.deepEqual((await c.waitFor(1)).map(text), ['good']);
    await c.staysAt(1, 'the undecodable message must not be delivered');
    assert.ok(c.errors.length >= 1, 'the consumer reports the undecodable message through onError');
    if (f.t.capabilities.deadLetter) {
      const dead = (await f.t.deadLetters(1000)).filter((d) => d.queue === q);
      assert.equal(dead.length, 1);
      assert.match((dead[0] as { reason: string }).reason, /undecodable/);
    }
    assert.deepEqual(counts(await f.t.queueInfo(q)), { name: q, messages: 0, unacked: 0 });
  }, { skip: inject ? undefined : 'the harness cannot store a raw envelope' });
}
