// The RabbitMQ broker end to end, each test in a vhost and user of its own made with rabbitmqctl: permission
// errors that name the vhost and the missing permission, surviving forced connection closes (what a broker
// restart looks like to a client) and a consumer cancelled by the broker, a worker with rpc:// results, and
// malformed messages dead-lettered while the worker keeps going.
import { afterEach, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, TransportError, Worker } from '../../src/index.js';
import { createTransport } from '../../src/transport/amqp/index.js';
import type { Delivery, Transport } from '../../src/transport/types.js';
import { createVhost, rabbitmqctl, type Vhost } from '../helpers/amqp.js';
import { until } from '../helpers/temp.js';

const msg = (body: string) => ({ body: Buffer.from(body), contentType: 'text/plain', contentEncoding: 'utf-8', headers: {}, properties: {} });

describe('amqp:// broker', () => {
  const vhosts: Vhost[] = [];
  const transports: Transport[] = [];
  const vhost = async (permissions?: [string, string, string] | null): Promise<Vhost> => {
    const v = await createVhost(permissions);
    vhosts.push(v);
    return v;
  };
  const transport = (url: string): Transport => {
    const t = createTransport(url, {});
    transports.push(t);
    return t;
  };
  afterEach(async () => {
    for (const t of transports.splice(0)) await t.close().catch(() => undefined);
    for (const v of vhosts.splice(0)) await v.remove();
  }, 60_000);

  it('a user with no permissions on the vhost: the error names the vhost and how to grant access', async () => {
    const v = await vhost(null);
    const err = await transport(v.url).connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toContain(`user '${v.user}' access to vhost '${v.name}'`);
    expect((err as Error).message).toContain(`rabbitmqctl set_permissions -p '${v.name}' '${v.user}'`);
    expect((err as Error).message).not.toContain(v.password);
  }, 60_000);

  it('missing configure, write or read permission: the error names it and the vhost', async () => {
    const noConfigure = await vhost(['', '.*', '.*']);
    const t1 = transport(noConfigure.url);
    await t1.connect();
    const e1 = await t1.declareQueue({ name: 'q1', durable: true }).catch((e: unknown) => e);
    expect((e1 as Error).message).toMatch(new RegExp(`declare queue 'q1'.*lacks the configure permission on vhost '${noConfigure.name}'`));

    const noWrite = await vhost(['.*', '', '.*']);
    const t2 = transport(noWrite.url);
    await t2.declareQueue({ name: 'q2', durable: true });
    const e2 = await t2.publish(msg('x'), { exchange: '', routingKey: 'q2' }).catch((e: unknown) => e);
    expect((e2 as Error).message).toMatch(new RegExp(`lacks the write permission on vhost '${noWrite.name}'`));

    const noRead = await vhost(['.*', '.*', '']);
    const t3 = transport(noRead.url);
    await t3.declareQueue({ name: 'q3', durable: true });
    const c = t3.createConsumer({ prefetch: 1, onMessage: () => undefined });
    const e3 = await c.consume('q3').catch((e: unknown) => e);
    expect((e3 as Error).message).toMatch(new RegExp(`consume queue 'q3'.*lacks the read permission on vhost '${noRead.name}'`));
  }, 90_000);

  it('a dead letter that cannot be kept (no write permission there): reject() says so, the message is not held forever', async () => {
    const v = await vhost(['.*', '^(?!celeriac\\.dead-letter).*', '.*']);
    const t = transport(v.url);
    await t.declareQueue({ name: 'work', durable: true });
    await t.publish(msg('poison'), { exchange: '', routingKey: 'work' });
    const got: Delivery[] = [];
    const c = t.createConsumer({ prefetch: 1, onMessage: (d) => got.push(d) });
    await c.consume('work');
    await until(() => got.length === 1, 20_000);
    const err = await (got[0] as Delivery).reject({ requeue: false, reason: 'malformed: test' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/bind the dead-letter queue 'celeriac.dead-letter'.*lacks the write permission on vhost/);
    expect(await t.queueInfo('work')).toMatchObject({ name: 'work', messages: 0, unacked: 0 });
  }, 60_000);

  it('a wrong password: the login is refused, the password is not shown', async () => {
    const v = await vhost();
    const err = await transport(v.url.replace(v.password, 'not-the-password')).connect().catch((e: unknown) => e);
    expect((err as Error).message).toContain(`refused the login of user '${v.user}'`);
    expect((err as Error).message).not.toContain('not-the-password');
  }, 60_000);

  it('deleting a queue that is gone is not an error; a publish to an exchange another connection declared is routed', async () => {
    const v = await vhost();
    const [t, other] = [transport(v.url), transport(v.url)];
    await t.deleteQueue('never-declared');
    await t.declareQueue({ name: 'gone', durable: false, autoDelete: true });
    await other.deleteQueue('gone');
    await t.deleteQueue('gone');
    // As Python declares reply.celery.pidbox and a celeriac worker replies through it (and back).
    await other.declareExchange({ name: 'reply.elsewhere', type: 'direct', durable: false, autoDelete: false });
    await other.declareQueue({ name: 'replies', durable: false, autoDelete: false });
    await other.bindQueue({ queue: 'replies', exchange: 'reply.elsewhere', routingKey: 'oid' });
    await t.publish(msg('reply'), { exchange: 'reply.elsewhere', routingKey: 'oid' });
    expect(await other.queueInfo('replies')).toMatchObject({ messages: 1 });
    const err = await t.publish(msg('lost'), { exchange: 'reply.elsewhere', routingKey: 'no-such-oid' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/no queue is bound to exchange 'reply.elsewhere' with routing key 'no-such-oid'/);
    await t.declareQueue({ name: 'still-usable', durable: false, autoDelete: true });
  }, 60_000);

  it('forced connection close (a broker restart, to the client): reconnects, redeclares, nothing acked or unacked is lost', async () => {
    const v = await vhost();
    const t = transport(v.url);
    await t.declareExchange({ name: 'ex', type: 'direct' });
    await t.declareQueue({ name: 'work', durable: true });
    await t.bindQueue({ queue: 'work', exchange: 'ex', routingKey: 'k' });
    for (let i = 0; i < 10; i++) await t.publish(msg(`m${i}`), { exchange: 'ex', routingKey: 'k' });
    const got: Delivery[] = [];
    const errors: Error[] = [];
    const c = t.createConsumer({ prefetch: 5, onMessage: (d) => got.push(d), onError: (e) => errors.push(e) });
    await c.consume('work');
    await until(() => got.length === 5);
    for (const d of got.slice(0, 2)) await d.ack();
    const acked = new Set(got.slice(0, 2).map((d) => d.message.body.toString()));
    await rabbitmqctl('close_all_connections', '-p', v.name, 'celeriac test: broker restart');
    await until(() => errors.length > 0, 20_000);
    expect(errors[0]?.message).toMatch(/lost the connection to RabbitMQ/);
    // Settling a delivery of the dead channel does nothing (RabbitMQ redelivers it).
    await got[2]?.ack();
    // After the reconnect every message not acked before arrives (the held ones redelivered), and publishing works.
    await t.publish(msg('after'), { exchange: 'ex', routingKey: 'k' });
    const settled = new Set<Delivery>(got.slice(0, 3));
    await until(async () => {
      for (const d of got) if (!settled.has(d)) {
        settled.add(d);
        await d.ack();
      }
      const info = await t.queueInfo('work');
      return info.messages === 0 && info.unacked === 0 && new Set(got.map((d) => d.message.body.toString())).size === 11;
    }, 30_000, 100);
    expect([...acked].sort()).toEqual(['m0', 'm1']);
    expect(got.find((d, i) => i >= 5 && d.message.body.toString() === 'm2')?.redelivered).toBe(true);
    expect(got.filter((d) => ['m0', 'm1'].includes(d.message.body.toString()))).toHaveLength(2);
    expect(await t.queueInfo('work')).toMatchObject({ name: 'work', messages: 0, unacked: 0 });
  }, 90_000);

  it('a consumer cancelled by the broker (its queue deleted) redeclares the queue and resumes', async () => {
    const v = await vhost();
    const t = transport(v.url);
    await t.declareQueue({ name: 'doomed', durable: true, maxPriority: 5 });
    const got: string[] = [];
    const errors: Error[] = [];
    const c = t.createConsumer({ prefetch: 10, onMessage: (d) => void d.ack().then(() => got.push(d.message.body.toString())), onError: (e) => errors.push(e) });
    await c.consume('doomed');
    await rabbitmqctl('delete_queue', '-p', v.name, 'doomed');
    await until(() => errors.some((e) => /cancelled the consumer of queue 'doomed'/.test(e.message)), 20_000);
    await until(async () => {
      const q = await rabbitmqctl('list_queues', '-p', v.name, 'name', 'consumers', 'arguments');
      return /doomed\t1\t\[\{"x-max-priority",5\}\]/.test(q);
    }, 20_000, 200);
    await t.publish(msg('still here'), { exchange: '', routingKey: 'doomed' });
    await until(() => got.includes('still here'), 20_000);
  }, 60_000);

  it('a worker with rpc:// results; a malformed message is dead-lettered and logged, the worker keeps going; all survive a forced close', async () => {
    const v = await vhost();
    const app = new Celeriac('amqp-worker', { broker: v.url, backend: 'rpc://' });
    const add = app.task('tasks.add', (x: number, y: number) => x + y);
    const worker = await new Worker(app, { logger: createLogger({ level: 'silent' }), concurrency: 2 }).start();
    try {
      expect(await (await add.delay(2, 3)).get({ timeout: 20_000 })).toBe(5);
      const t = await app.connection();
      await t.publish({ ...msg('{not json'), contentType: 'application/json' }, { exchange: '', routingKey: 'celery' });
      await until(async () => (await t.deadLetters(100)).some((d) => d.queue === 'celery'), 20_000, 100);
      const [dead] = (await t.deadLetters(100)).filter((d) => d.queue === 'celery');
      expect(dead?.reason).toMatch(/^malformed: /);
      expect(dead?.message.body.toString()).toBe('{not json');
      expect(await (await add.delay(20, 22)).get({ timeout: 20_000 })).toBe(42);
      expect(await t.queueInfo('celery')).toMatchObject({ messages: 0 });
      // Every connection of the vhost forced closed: worker, producer and rpc:// reply consumer all come back.
      await rabbitmqctl('close_all_connections', '-p', v.name, 'celeriac test: broker restart');
      expect(await (await add.delay(1, 1)).get({ timeout: 30_000 })).toBe(2);
    } finally {
      await worker.stop();
      await app.close();
    }
  }, 90_000);
});
