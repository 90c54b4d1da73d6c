// Event lines as `celery events --dump` prints them (Celery's events/dumper.py), from the golden captures.
import { describe, expect, it } from 'vitest';
import { EventDumper, pythonUtcTime } from '../../../src/events/dumper.js';
import type { AnyEvent } from '../../../src/protocol/events.js';
import { eventFixtures } from '../protocol/wire-fixtures.js';

const fixture = (name: string): AnyEvent => ({ ...(eventFixtures().find(([n]) => n === name)?.[1].event as AnyEvent) });

describe('EventDumper', () => {
  it('prints Python utcfromtimestamp times', () => {
    expect(pythonUtcTime(1795344171.0938165)).toBe('2026-11-22 10:42:51.093817');
    expect(pythonUtcTime(1795344171)).toBe('2026-11-22 10:42:51');
  });

  it('worker events: the human type and every field sorted, as Python str()', () => {
    const line = new EventDumper().format(fixture('worker-heartbeat'));
    expect(line).toBe('wire@capture [2026-11-22 10:42:51.093817] heartbeat: active=0, clock=2, freq=2, loadavg=[0.21, 0.44, 0.28], pid=7246, processed=0, sw_ident=py-celery, sw_sys=Linux, sw_ver=5.2.6, utcoffset=0');
    expect(new EventDumper().format(fixture('worker-online'))).toMatch(/^wire@capture \[[^\]]+\] started: active=0, /);
    expect(new EventDumper().format(fixture('worker-offline'))).toMatch(/\] shutdown: /);
  });

  it('task events: name and arguments from task-received, remembered for the later events', () => {
    const d = new EventDumper();
    const received = d.format(fixture('task-received'));
    expect(received).toBe('wire@capture [2026-11-22 10:42:54.865768] task received: tasks.add(75ffa4de-3797-4df9-b2dd-961a541deecc) args=(2, 2) kwargs={} clock=10, eta=None, expires=None, parent_id=None, pid=7246, retries=0, root_id=75ffa4de-3797-4df9-b2dd-961a541deecc, utcoffset=0');
    expect(d.format(fixture('task-succeeded'))).toBe('wire@capture [2026-11-22 10:42:54.868730] task succeeded: tasks.add(75ffa4de-3797-4df9-b2dd-961a541deecc) args=(2, 2) kwargs={} clock=12, pid=7246, result=4, runtime=0.002409966000016084, utcoffset=0');
    // A task whose received event was not seen prints without its name.
    expect(new EventDumper().format(fixture('task-revoked'))).toMatch(/\] task revoked:  clock=31, expired=False, pid=7246, signum=None, terminated=False, utcoffset=0$/);
  });
});
