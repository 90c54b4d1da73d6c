// The event dispatcher's outbox over the in-process broker with a publish that fails while "the broker is down":
// events are kept (bounded, the oldest dropped and counted), and sent in order once publishing works again:
// tried again with back-off, or, on a transport that reports its connection, a moment after it says 'restored'.
import { afterEach, describe, expect, it } from 'vitest';
import { EventDispatcher } from '../../../src/events/dispatcher.js';
import { EventReceiver } from '../../../src/events/receiver.js';
import { TransportError } from '../../../src/errors.js';
import { createTransport } from '../../../src/transport/memory/index.js';
import type { Transport } from '../../../src/transport/types.js';
import { LamportClock } from '../../../src/util/lamport.js';
import { until } from '../../helpers/temp.js';

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c();
});

const worker = { freq: 2, active: 0, processed: 0, loadavg: [0, 0, 0], sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' };

/** A memory broker whose publishes fail while `down`; `report` makes it tell its connection state. */
async function flaky(report: boolean) {
  const t = createTransport('memory://', {});
  await t.connect();
  const state = { down: false, publishes: 0 };
  const listeners = new Set<(s: 'lost' | 'restored') => void>();
  const publish = t.publish.bind(t);
  const publishMany = t.publishMany.bind(t);
  const fail = (): void => {
    state.publishes++;
    if (state.down) throw new TransportError('connection lost (test): broker down');
  };
  t.publish = async (m, o) => (fail(), publish(m, o));
  t.publishMany = async (ms) => (fail(), publishMany(ms));
  if (report) {
    (t as Transport).onConnection = (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    };
  }
  const set = (down: boolean): void => {
    state.down = down;
    for (const l of listeners) l(down ? 'lost' : 'restored');
  };
  closing.push(() => t.close());
  const receiver = new EventReceiver(async () => t, { clock: new LamportClock() });
  const seen: number[] = [];
  receiver.on('worker-heartbeat', (e) => void seen.push(e.processed));
  await receiver.start();
  closing.push(() => receiver.close());
  return { t, state, set, seen };
}

function dispatcher(t: Transport, options: Partial<ConstructorParameters<typeof EventDispatcher>[1]> = {}) {
  const errors: string[] = [];
  const dropped: number[] = [];
  const d = new EventDispatcher(async () => t, { hostname: 'w@test', clock: new LamportClock(), onError: (e) => errors.push(e.message), onDropped: (n) => dropped.push(n), resendDelay: 20, ...options });
  closing.push(() => d.close());
  return { d, errors, dropped };
}

describe('event outbox', () => {
  it('events sent while publishing fails are kept and sent in order once it works again', async () => {
    const b = await flaky(false);
    const { d, errors } = dispatcher(b.t);
    d.send('worker-heartbeat', { ...worker, processed: 0 });
    await d.flush();
    b.state.down = true;
    for (let i = 1; i <= 5; i++) d.send('worker-heartbeat', { ...worker, processed: i });
    await until(() => errors.length > 0, 5000);
    expect(errors[0]).toContain('broker down');
    expect(d.waiting).toBe(5);
    b.state.down = false;
    await until(() => b.seen.length === 6, 10_000);
    expect(b.seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(d.waiting).toBe(0);
    expect(d.dropped).toBe(0);
  });

  it('beyond outboxLimit the oldest are dropped, counted, and reported once the outbox drains', async () => {
    const b = await flaky(false);
    const { d, dropped } = dispatcher(b.t, { outboxLimit: 3 });
    b.state.down = true;
    for (let i = 1; i <= 8; i++) d.send('worker-heartbeat', { ...worker, processed: i });
    expect(d.waiting).toBeLessThanOrEqual(4); // 3 waiting, and at most one batch being published
    b.state.down = false;
    await until(() => d.waiting === 0 && dropped.length > 0, 10_000);
    // The newest 3 always arrive, in order; an older one arrives too if it was already on its way.
    expect(b.seen.slice(-3)).toEqual([6, 7, 8]);
    expect(d.dropped + b.seen.length).toBe(8);
    expect(dropped).toEqual([d.dropped]);
  });

  it("on a transport that reports its connection: nothing is tried while it is lost; all goes out after 'restored'", async () => {
    const b = await flaky(true);
    const { d, errors } = dispatcher(b.t);
    d.send('worker-heartbeat', { ...worker, processed: 0 });
    await d.flush();
    b.set(true);
    const before = b.state.publishes;
    for (let i = 1; i <= 3; i++) d.send('worker-heartbeat', { ...worker, processed: i });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.state.publishes).toBe(before);
    expect(errors).toEqual([]);
    b.set(false);
    await until(() => b.seen.length === 4, 5000);
    expect(b.seen).toEqual([0, 1, 2, 3]);
    // Sent together: one publish for the three that waited.
    expect(b.state.publishes).toBe(before + 1);
  });

  it('close while the broker is down reports what still waited as dropped', async () => {
    const b = await flaky(true);
    const { d, dropped } = dispatcher(b.t);
    d.send('worker-heartbeat', { ...worker, processed: 0 });
    await d.flush();
    b.set(true);
    d.send('worker-heartbeat', { ...worker, processed: 1 });
    await d.close();
    expect(dropped).toEqual([1]);
    expect(d.dropped).toBe(1);
  });
});
