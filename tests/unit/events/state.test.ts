// The cluster State (Celery's events.state): worker liveness from heartbeats, task state transitions by
// event, out-of-order events merged by precedence, and bounded memory.
import { describe, expect, it } from 'vitest';
import { State } from '../../../src/events/state.js';
import type { AnyEvent } from '../../../src/protocol/events.js';

let clock = 0;
const ev = (type: string, fields: Record<string, unknown> = {}, at = 1000): AnyEvent & { local_received: number } =>
  ({ hostname: 'w1@h', utcoffset: 0, pid: 7, clock: ++clock, ...fields, timestamp: at, type, local_received: at });
const hb = (type: string, at: number, fields: Record<string, unknown> = {}) => ev(type, { freq: 2, active: 1, processed: 5, loadavg: [0.1, 0.2, 0.3], sw_ident: 'celeriac', sw_ver: '0.1.0', sw_sys: 'Linux', ...fields }, at);

describe('State: workers', () => {
  it('a worker is alive until freq x 2 after its last heartbeat, and offline after worker-offline', () => {
    let now = 1000_000;
    const s = new State({ now: () => now });
    s.event(hb('worker-online', 1000));
    expect(s.worker('w1@h')).toMatchObject({ hostname: 'w1@h', freq: 2, active: 1, processed: 5, sw_ident: 'celeriac', alive: true, heartbeatExpires: 1004 });
    now = 1003_900;
    expect(s.worker('w1@h')?.alive).toBe(true);
    now = 1004_100;
    expect(s.worker('w1@h')?.alive).toBe(false);
    s.event(hb('worker-heartbeat', 1004, { processed: 6 }));
    expect(s.worker('w1@h')).toMatchObject({ alive: true, processed: 6 });
    expect(s.aliveWorkers().map((w) => w.hostname)).toEqual(['w1@h']);
    s.event(hb('worker-offline', 1004.05));
    expect(s.worker('w1@h')).toMatchObject({ alive: false, heartbeats: [], heartbeatExpires: null });
  });

  it('keeps the last 4 heartbeats, in order, even when they arrive out of order', () => {
    const s = new State({ now: () => 0 });
    for (const at of [10, 12, 16, 14, 18, 11]) s.event(hb('worker-heartbeat', at));
    expect(s.worker('w1@h')?.heartbeats).toEqual([12, 14, 16, 18]);
  });
});

describe('State: tasks', () => {
  it('moves a task through its states by event and keeps the fields each brings', () => {
    const s = new State();
    s.event(ev('task-sent', { uuid: 'a', name: 't.add', args: '(1, 2)', kwargs: '{}', queue: 'celery' }, 1));
    expect(s.task('a')).toMatchObject({ state: 'PENDING', name: 't.add', worker: null });
    s.event(ev('task-received', { uuid: 'a', name: 't.add', args: '(1, 2)', kwargs: '{}', retries: 0 }, 2));
    expect(s.task('a')).toMatchObject({ state: 'RECEIVED', worker: 'w1@h' });
    s.event(ev('task-started', { uuid: 'a' }, 3));
    expect(s.task('a')?.state).toBe('STARTED');
    s.event(ev('task-succeeded', { uuid: 'a', result: '3', runtime: 0.5 }, 4));
    expect(s.task('a')).toMatchObject({ state: 'SUCCESS', result: '3', runtime: 0.5, timestamp: 4, at: { sent: 1, received: 2, started: 3, succeeded: 4 } });
    // The worker a task event came from is known too.
    expect(s.worker('w1@h')).toBeDefined();
  });

  it('a late event that logically comes earlier only fills in fields (Celery precedence)', () => {
    const s = new State();
    s.event(ev('task-succeeded', { uuid: 'b', result: '4', runtime: 0.1 }, 5));
    s.event(ev('task-received', { uuid: 'b', name: 't.add', args: '(2, 2)', kwargs: '{}', hostname_extra: 'x' }, 3));
    s.event(ev('task-started', { uuid: 'b' }, 4));
    const t = s.task('b');
    expect(t).toMatchObject({ state: 'SUCCESS', name: 't.add', args: '(2, 2)', timestamp: 5 });
    expect(t?.['hostname_extra']).toBeUndefined();
  });

  it('RETRY always applies, and a retried task can start again', () => {
    const s = new State();
    s.event(ev('task-started', { uuid: 'c' }, 1));
    s.event(ev('task-retried', { uuid: 'c', exception: "Retry('x')", traceback: 'tb' }, 2));
    expect(s.task('c')?.state).toBe('RETRY');
    s.event(ev('task-received', { uuid: 'c', name: 't', args: '()', kwargs: '{}', retries: 1 }, 3));
    s.event(ev('task-failed', { uuid: 'c', exception: "ValueError('boom')", traceback: 'tb' }, 4));
    expect(s.task('c')).toMatchObject({ state: 'FAILURE', exception: "ValueError('boom')", retries: 1 });
  });

  it('revoked, rejected and custom task events set their states; filters by name and state', () => {
    const s = new State();
    s.event(ev('task-received', { uuid: 'd', name: 'n1', args: '()', kwargs: '{}' }));
    s.event(ev('task-revoked', { uuid: 'd', terminated: false, signum: null, expired: false }));
    s.event(ev('task-rejected', { uuid: 'e', requeue: false }));
    s.event(ev('task-progress', { uuid: 'f' }));
    expect([s.task('d')?.state, s.task('e')?.state, s.task('f')?.state]).toEqual(['REVOKED', 'REJECTED', 'PROGRESS']);
    expect(s.tasks({ name: 'n1' }).map((t) => t.uuid)).toEqual(['d']);
    expect(s.tasks({ state: 'REJECTED' }).map((t) => t.uuid)).toEqual(['e']);
    // Celery's PRECEDENCE ranks REJECTED before RECEIVED: a rejection after task-received keeps RECEIVED.
    s.event(ev('task-received', { uuid: 'g', name: 'n3', args: '()', kwargs: '{}' }));
    s.event(ev('task-rejected', { uuid: 'g', requeue: true }));
    expect(s.task('g')).toMatchObject({ state: 'RECEIVED', requeue: true });
  });

  it('memory is bounded: the least recently updated tasks and workers go first', () => {
    const s = new State({ maxTasks: 3, maxWorkers: 2 });
    for (const id of ['1', '2', '3']) s.event(ev('task-started', { uuid: id }));
    s.event(ev('task-succeeded', { uuid: '1', result: 'None', runtime: 0 }));
    s.event(ev('task-started', { uuid: '4' }));
    expect(s.tasks().map((t) => t.uuid)).toEqual(['3', '1', '4']);
    expect(s.taskCount).toBe(3);
    for (const h of ['a@h', 'b@h', 'c@h']) s.event(hb('worker-heartbeat', 1, { hostname: h }));
    expect(s.workers().map((w) => w.hostname)).toEqual(['b@h', 'c@h']);
    s.clear();
    expect([s.taskCount, s.workerCount, s.eventCount]).toEqual([0, 0, 0]);
  });
});
