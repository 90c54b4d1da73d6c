// Type-level checks of the events API: handlers get each event type's fields, sends are checked per type.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Celeriac, type AnyEvent, type Received, type TaskInfo, type WorkerInfo } from '../../src/index.js';

describe('events API types', () => {
  it('typed handlers per event type, a catch-all for any event, typed sends', async () => {
    const app = new Celeriac('types-events', { broker: 'memory://', backend: 'memory://' });
    const receiver = app.events.receiver({ routingKey: 'task.#' });
    receiver.on('task-succeeded', (e) => {
      expectTypeOf(e.result).toEqualTypeOf<string>();
      expectTypeOf(e.runtime).toEqualTypeOf<number>();
      expectTypeOf(e.local_received).toEqualTypeOf<number>();
    });
    receiver.on('worker-heartbeat', (e) => expectTypeOf(e.loadavg).toEqualTypeOf<number[]>());
    receiver.on('event', (e) => expectTypeOf(e).toEqualTypeOf<Received<AnyEvent>>());
    // @ts-expect-error: no such event type
    receiver.on('task-exploded', () => undefined);
    const d = app.events.dispatcher({ hostname: 'me@host' });
    d.send('task-started', { uuid: 'x' });
    // @ts-expect-error: task-succeeded needs result and runtime
    d.send('task-succeeded', { uuid: 'x' });
    d.send('custom-thing', { anything: [1, 2] });
    const state = app.events.state();
    expectTypeOf(state.worker('w')).toEqualTypeOf<WorkerInfo | undefined>();
    expectTypeOf(state.tasks()).toEqualTypeOf<TaskInfo[]>();
    await d.close();
    await app.close();
    expect(receiver.queue).toMatch(/^celeryev\./);
  });
});
