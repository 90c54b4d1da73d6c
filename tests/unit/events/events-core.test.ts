// The events core over the in-process broker (memory://, a real transport): the dispatcher's groups,
// buffering and flushing (nothing lost on close), the receiver's parsing of single and batched bodies, its
// routing-key filter, typed handlers, the Lamport clock, and that the monitor queue goes away on close.
import { afterEach, describe, expect, it } from 'vitest';
import { EventDispatcher } from '../../../src/events/dispatcher.js';
import { eventExchange } from '../../../src/events/exchange.js';
import { EventReceiver, type Received } from '../../../src/events/receiver.js';
import { buildEventMessage, type AnyEvent } from '../../../src/protocol/events.js';
import { createTransport } from '../../../src/transport/memory/index.js';
import type { Transport, TransportCapabilities } from '../../../src/transport/types.js';
import { LamportClock } from '../../../src/util/lamport.js';
import { until } from '../../helpers/temp.js';

const transports: Transport[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) await t.close();
});

function broker(): () => Promise<Transport> {
  const t = createTransport('memory://', {});
  transports.push(t);
  return async () => {
    await t.connect();
    return t;
  };
}

const worker = { freq: 2, active: 0, processed: 0, loadavg: [0, 0, 0], sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' };
const task = (uuid: string) => ({ uuid, name: 't.add', args: '(1, 2)', kwargs: '{}', root_id: uuid, parent_id: null, retries: 0, eta: null, expires: null });

async function monitor(connection: () => Promise<Transport>, routingKey?: string): Promise<{ receiver: EventReceiver; events: Received[]; bodies: number }> {
  const receiver = new EventReceiver(connection, routingKey ? { routingKey } : {});
  const seen = { receiver, events: [] as Received[], bodies: 0 };
  receiver.on('event', (e) => seen.events.push(e));
  await receiver.start();
  return seen;
}

describe('the celeryev exchange', () => {
  const caps = (c: Partial<TransportCapabilities>): TransportCapabilities => ({ name: 'x', fanout: true, topic: true, fanoutPatterns: false, priority: 'none', persistent: false, crossProcess: false, visibilityTimeout: false, deadLetter: false, messageTtl: false, ...c });
  it('is a durable topic exchange, fanout where fanout filters by pattern (kombu Redis)', () => {
    expect(eventExchange(caps({}))).toEqual({ name: 'celeryev', type: 'topic', durable: true, autoDelete: false });
    expect(eventExchange(caps({ fanoutPatterns: true })).type).toBe('fanout');
    expect(() => eventExchange(caps({ fanout: false, topic: false }))).toThrow(/topic or fanout exchange/);
  });
});

describe('EventDispatcher', () => {
  it('sends nothing and fails nothing when no monitor listens', async () => {
    const errors: Error[] = [];
    const d = new EventDispatcher(broker(), { hostname: 'w@h', clock: new LamportClock(), onError: (e) => errors.push(e) });
    expect(d.send('worker-online', worker)).toBe(true);
    await d.close();
    expect(errors).toEqual([]);
  });

  it('publishes single events under their type, stamped, with increasing clocks', async () => {
    const connection = broker();
    const m = await monitor(connection);
    const clock = new LamportClock(41);
    const d = new EventDispatcher(connection, { hostname: 'w@h', clock, pid: 1234, now: () => 1_700_000_000_500, utcoffset: () => -1 });
    d.send('worker-online', worker);
    d.send('worker-heartbeat', worker);
    await d.close();
    await until(() => m.events.length === 2);
    expect(m.events.map((e) => [e.type, e.clock])).toEqual([['worker-online', 42], ['worker-heartbeat', 43]]);
    expect(m.events[0]).toMatchObject({ hostname: 'w@h', pid: 1234, utcoffset: -1, freq: 2, sw_ident: 'celeriac' });
    expect(typeof m.events[0]?.local_received).toBe('number');
    // The receiver's clock moved past what it saw.
    expect(m.receiver.clock.value).toBeGreaterThan(43);
    await m.receiver.close();
  });

  it('leaves out groups that are off, and toggles them at run time', async () => {
    const connection = broker();
    const m = await monitor(connection);
    const d = new EventDispatcher(connection, { hostname: 'w@h', clock: new LamportClock(), groups: ['worker'] });
    expect(d.send('task-started', { uuid: 'a' })).toBe(false);
    d.groups.add('task');
    expect(d.send('task-started', { uuid: 'b' })).toBe(true);
    d.groups.delete('task');
    expect(d.send('task-started', { uuid: 'c' })).toBe(false);
    d.enabled = false;
    expect(d.send('worker-heartbeat', worker)).toBe(false);
    await d.close();
    await until(() => m.events.length === 1);
    expect(m.events[0]).toMatchObject({ type: 'task-started', uuid: 'b' });
    await m.receiver.close();
  });

  it('buffers a group and publishes it as one list under <group>.multi: on the interval, when full, and on close', async () => {
    const connection = broker();
    const transport = await connection();
    const bodies: { key: string; size: number }[] = [];
    const ex = eventExchange(transport.capabilities);
    await transport.declareExchange(ex);
    await transport.declareQueue({ name: 'raw-events' });
    await transport.bindQueue({ queue: 'raw-events', exchange: ex.name, routingKey: 'task.multi' });
    const c = transport.createConsumer({ prefetch: 0, onMessage: (dl) => {
      const body = JSON.parse(dl.message.body.toString()) as AnyEvent[];
      bodies.push({ key: dl.routingKey, size: body.length });
      void dl.ack();
    } });
    await c.consume('raw-events');
    // On the interval.
    const d1 = new EventDispatcher(connection, { hostname: 'w@h', clock: new LamportClock(), bufferGroups: ['task'], flushInterval: 20 });
    d1.send('task-received', task('1'));
    d1.send('task-started', { uuid: '1' });
    await until(() => bodies.length === 1);
    expect(bodies[0]).toEqual({ key: 'task.multi', size: 2 });
    // When full (3), and the rest on close: the interval is far away.
    const d = new EventDispatcher(connection, { hostname: 'w@h', clock: new LamportClock(), bufferGroups: ['task'], bufferLimit: 3, flushInterval: 60_000 });
    for (let i = 0; i < 7; i++) d.send('task-started', { uuid: String(i) });
    await until(() => bodies.length === 3);
    expect(bodies.slice(1)).toEqual([{ key: 'task.multi', size: 3 }, { key: 'task.multi', size: 3 }]);
    d.send('task-succeeded', { uuid: 'x', result: '4', runtime: 0.1 });
    await d.close();
    await until(() => bodies.length === 4);
    expect(bodies[3]).toEqual({ key: 'task.multi', size: 2 });
    await d1.close();
    expect(d.send('task-started', { uuid: 'after' })).toBe(false);
    await c.close();
  });
});

describe('EventReceiver', () => {
  it('splits batched bodies, calls typed handlers and the catch-all, and filters by routing key', async () => {
    const connection = broker();
    const all = await monitor(connection);
    const tasksOnly = await monitor(connection, 'task.#');
    const succeeded: string[] = [];
    all.receiver.on('task-succeeded', (e) => succeeded.push(`${e.uuid}=${e.result}`));
    const d = new EventDispatcher(connection, { hostname: 'w@h', clock: new LamportClock(), bufferGroups: ['task'] });
    d.send('worker-heartbeat', worker);
    d.send('task-received', task('t1'));
    d.send('task-succeeded', { uuid: 't1', result: '3', runtime: 0.01 });
    d.send('custom-thing', { answer: 42 });
    await d.close();
    await until(() => all.events.length === 4 && tasksOnly.events.length === 2);
    expect(all.events.map((e) => e.type).sort()).toEqual(['custom-thing', 'task-received', 'task-succeeded', 'worker-heartbeat']);
    expect(tasksOnly.events.map((e) => e.type)).toEqual(['task-received', 'task-succeeded']);
    expect(succeeded).toEqual(['t1=3']);
    for (const m of [all, tasksOnly]) await m.receiver.close();
  });

  it('reports a malformed message and keeps going; a handler that throws does not stop it', async () => {
    const connection = broker();
    const m = await monitor(connection);
    const errors: string[] = [];
    m.receiver.on('error', (e) => errors.push(e.message));
    m.receiver.on('worker-online', () => {
      throw new Error('handler bug');
    });
    const transport = await connection();
    await transport.publish({ ...buildEventMessage({ type: 'task-started' } as AnyEvent, 'x'), body: Buffer.from('{"type": "task-started"}') }, { exchange: 'celeryev', routingKey: 'task.started' });
    await transport.publish(buildEventMessage({ type: 'worker-online', hostname: 'x', clock: 5, timestamp: 1, utcoffset: 0, pid: 1 }, 'x'), { exchange: 'celeryev', routingKey: 'worker.online' });
    await transport.publish(buildEventMessage({ type: 'worker-heartbeat', hostname: 'x', clock: 6, timestamp: 1, utcoffset: 0, pid: 1 }, 'x'), { exchange: 'celeryev', routingKey: 'worker.heartbeat' });
    await until(() => m.events.length === 1 && errors.length === 2);
    expect(errors[0]).toMatch(/no task 'uuid'/);
    expect(errors[1]).toBe('handler bug');
    expect(m.events[0]?.type).toBe('worker-heartbeat');
    await m.receiver.close();
  });

  it('moves timestamps to the local UTC offset, and puts task-sent just before the clock it has (Celery)', () => {
    const r = new EventReceiver(broker(), { clock: new LamportClock(10), utcoffset: () => 0, now: () => 5000 });
    const e = r.process({ type: 'worker-online', hostname: 'h', pid: 1, clock: 20, timestamp: 1000, utcoffset: -2 });
    expect(e.timestamp).toBe(1000 + 2 * 3600);
    expect(e.local_received).toBe(5);
    expect(r.clock.value).toBe(21);
    const sent = r.process({ type: 'task-sent', hostname: 'p', pid: 1, clock: 999, timestamp: 1000, utcoffset: 0, uuid: 'u' });
    expect(sent.clock).toBe(20);
    const blind = r.process({ type: 'custom-x', hostname: 'h' } as AnyEvent);
    expect(blind.clock).toBeGreaterThan(20);
  });

  it('deletes its queue on close; an empty routing key is refused', async () => {
    const connection = broker();
    const m = await monitor(connection);
    const transport = await connection();
    expect((await transport.listQueues()).map((q) => q.name)).toContain(m.receiver.queue);
    expect(m.receiver.queue).toMatch(/^celeryev\.[0-9a-f-]{36}$/);
    await m.receiver.close();
    expect((await transport.listQueues()).map((q) => q.name)).not.toContain(m.receiver.queue);
    expect(() => new EventReceiver(connection, { routingKey: '' })).toThrow(/routing-key pattern/);
  });
});
