/**
 * Conformance cases about message TTL: a queue's `messageTtl` (AMQP x-message-ttl) and a message's own
 * `expiration` property. Expired messages are dropped and never delivered; where `capabilities.messageTtl`
 * is false (Redis, as kombu) the cases are skipped.
 */
import assert from 'node:assert/strict';
import type { TransportCapabilities } from './types.js';
import { delay, text, type AddCase } from './conformance-harness.js';

const needsTtl = (c: TransportCapabilities): string | undefined =>
  c.messageTtl ? undefined : 'no message TTL on this broker (kombu has none on Redis): only the worker checks a task\'s expires';

export function ttlCases(add: AddCase): void {
  add('a queue\'s messageTtl drops messages that waited longer than it, never delivering them', async (f) => {
    const q = await f.queue('ttl-queue', undefined, { messageTtl: 300 });
    await f.publish(q, 'stale-1');
    await f.publish(q, 'stale-2');
    await delay(900);
    await f.publish(q, 'fresh');
    const c = await f.consumer([q], 10, true);
    const [d] = await c.waitFor(1, 'the message published after the others expired');
    assert.equal(d && text(d), 'fresh');
    await c.staysAt(1, 'messages older than the queue\'s messageTtl must never be delivered');
    assert.equal((await f.t.queueInfo(q)).messages, 0, 'expired messages are not counted as ready');
  }, { needs: needsTtl });

  add('a message\'s expiration drops it once passed; longer-lived and unexpiring messages are delivered', async (f) => {
    const q = await f.queue('ttl-message');
    await f.publish(q, 'short', { properties: { expiration: '200' } });
    await f.publish(q, 'long', { properties: { expiration: '600000' } });
    await f.publish(q, 'forever');
    await delay(800);
    const c = await f.consumer([q], 10, true);
    const got = await c.waitFor(2, 'the unexpired messages');
    assert.deepEqual(got.map(text), ['long', 'forever']);
    await c.staysAt(2, 'a message past its expiration must never be delivered');
  }, { needs: needsTtl });

  add('the shorter of the queue\'s messageTtl and the message\'s expiration wins', async (f) => {
    const q = await f.queue('ttl-both', undefined, { messageTtl: 600_000 });
    await f.publish(q, 'expiring', { properties: { expiration: '200' } });
    await f.publish(q, 'kept', { properties: { expiration: '600000' } });
    await delay(800);
    const c = await f.consumer([q], 10, true);
    const [d] = await c.waitFor(1, 'the message within both limits');
    assert.equal(d && text(d), 'kept');
    await c.staysAt(1, 'the message\'s own shorter expiration must apply in a queue with a longer messageTtl');
  }, { needs: needsTtl });

  add('a message requeued after its deadline passed is dropped, not delivered again', async (f) => {
    const q = await f.queue('ttl-requeue');
    await f.publish(q, 'held', { properties: { expiration: '700' } });
    const c = await f.consumer([q], 1);
    const [d] = await c.waitFor(1, 'the message before its deadline');
    assert.ok(d);
    // Held by a consumer, a message does not expire; handed back past its deadline, it does.
    await delay(1200);
    await d.reject({ requeue: true });
    await c.staysAt(1, 'a requeued message keeps its original deadline and is dropped once it passed');
  }, { needs: needsTtl });
}
