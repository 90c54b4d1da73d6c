// The live terminal view, pure: rendering State + selection + terminal size into lines, and key presses into
// the next view and an action.
import { describe, expect, it } from 'vitest';
import { State } from '../../../src/events/state.js';
import { handleKey, keyName, renderMonitor, type MonitorView } from '../../../src/events/view.js';
import type { AnyEvent } from '../../../src/protocol/events.js';

const NOW = 1_800_000_000_000;
let clock = 0;
const ev = (type: string, fields: Record<string, unknown> = {}, at = NOW / 1000): AnyEvent & { local_received: number } =>
  ({ hostname: 'w1@host', utcoffset: 0, pid: 7, clock: ++clock, ...fields, timestamp: at, type, local_received: at });

/** Two workers (one online, one gone quiet) and three tasks: succeeded, failed, started (in that order). */
function cluster(): State {
  const s = new State({ now: () => NOW });
  s.event(ev('worker-online', { freq: 2, active: 0, processed: 0, loadavg: [0.5, 0.25, 0.125] }, NOW / 1000 - 1.5));
  s.event(ev('worker-heartbeat', { hostname: 'w2@host', freq: 2, active: 0, processed: 3 }, NOW / 1000 - 100));
  const t = NOW / 1000 - 3600 * 5;
  s.event(ev('task-received', { uuid: 'aaaaaaaa-0000-0000-0000-000000000001', name: 'tasks.add', args: '(2, 2)', kwargs: '{}' }, t));
  s.event(ev('task-succeeded', { uuid: 'aaaaaaaa-0000-0000-0000-000000000001', result: '4', runtime: 0.0123 }, t + 1));
  s.event(ev('task-received', { uuid: 'bbbbbbbb-0000-0000-0000-000000000002', name: 'tasks.fail', args: '()', kwargs: '{}' }, t + 2));
  s.event(ev('task-failed', { uuid: 'bbbbbbbb-0000-0000-0000-000000000002', exception: "ValueError('boom')", traceback: 'Traceback\n  line 1\nValueError: boom' }, t + 3));
  s.event(ev('task-started', { uuid: 'cccccccc-0000-0000-0000-000000000003', name: 'tasks.sleep', args: '(10,)' }, t + 4));
  return s;
}

const view = (v: Partial<MonitorView> = {}): MonitorView => ({ selected: null, detail: false, title: 'redis://127.0.0.1:6379/0', ...v });

describe('renderMonitor', () => {
  it('draws the title, the counts by state, the workers pane and the tasks pane most recent first, within the size', () => {
    const frame = renderMonitor(cluster(), view(), { columns: 120, rows: 20 }, NOW);
    expect(frame.lines).toHaveLength(20);
    for (const line of frame.lines) expect(line.length).toBeLessThanOrEqual(120);
    expect(frame.lines[0]).toBe('celeriac events - redis://127.0.0.1:6379/0   workers: 1 online / 2   tasks: 3   events: 7');
    expect(frame.lines[1]).toBe('PENDING 0  RECEIVED 0  STARTED 1  SUCCESS 1  FAILURE 1  RETRY 0  REVOKED 0  REJECTED 0');
    const text = frame.lines.join('\n');
    expect(text).toMatch(/^WORKER +STATUS +ACTIVE +PROCESSED +LOAD +HEARTBEAT$/m);
    expect(text).toMatch(/^w1@host +online +0 +0 +0\.50 0\.25 0\.13 +1\.5s ago$/m);
    expect(text).toMatch(/^w2@host +offline +0 +3 +- +1m ago$/m);
    const tasks = frame.lines.filter((l) => /^[abc]{8} /.test(l));
    expect(tasks.map((l) => l.slice(0, 8))).toEqual(['cccccccc', 'bbbbbbbb', 'aaaaaaaa']);
    expect(tasks[1]).toMatch(/tasks\.fail +FAILURE +w1@host +\(\) +ValueError\('boom'\) +- +03:00:03/);
    expect(tasks[2]).toMatch(/tasks\.add +SUCCESS +w1@host +\(2, 2\) +4 +0\.012s +03:00:01/);
    // Nothing selected yet: the most recent task is.
    expect(frame.selectedLine).toBe(frame.lines.indexOf(tasks[0] as string));
    expect(frame.lines.at(-1)).toContain('r revoke  t terminate');
  });

  it('shows whole uuids on a wide terminal and keeps the selection on screen on a short one', () => {
    const s = cluster();
    const wide = renderMonitor(s, view(), { columns: 160, rows: 30 }, NOW);
    expect(wide.lines.some((l) => l.startsWith('aaaaaaaa-0000-0000-0000-000000000001 '))).toBe(true);
    const short = renderMonitor(s, view({ selected: 'aaaaaaaa-0000-0000-0000-000000000001' }), { columns: 80, rows: 12 }, NOW);
    expect(short.lines).toHaveLength(12);
    expect(short.lines[short.selectedLine]).toMatch(/^aaaaaaaa /);
    expect(short.lines.some((l) => l.startsWith('cccccccc'))).toBe(false);
  });

  it('the detail of the selected task replaces the tasks pane, traceback lines included', () => {
    const frame = renderMonitor(cluster(), view({ selected: 'bbbbbbbb-0000-0000-0000-000000000002', detail: true }), { columns: 100, rows: 30 }, NOW);
    const text = frame.lines.join('\n');
    expect(text).toContain('Task bbbbbbbb-0000-0000-0000-000000000002');
    expect(text).toMatch(/^ {2}state +FAILURE$/m);
    expect(text).toMatch(/^ {2}exception +ValueError\('boom'\)$/m);
    expect(text).toMatch(/^ {13}ValueError: boom$/m);
    expect(text).toMatch(/^ {2}failed +\d{4}-\d\d-\d\dT03:00:03\.000Z$/m);
    expect(frame.selectedLine).toBe(-1);
  });

  it('says what to do when nothing has been seen yet', () => {
    const text = renderMonitor(new State(), view({ message: 'hello' }), { columns: 120, rows: 15 }, NOW).lines.join('\n');
    expect(text).toContain('no worker seen yet');
    expect(text).toContain('no task events yet: start workers with -E');
    expect(text).toContain('hello');
  });
});

describe('handleKey', () => {
  it('names raw terminal input', () => {
    expect(['\x1b[A', '\x1b[B', '\r', '\x1b', '\x03', 'q'].map(keyName)).toEqual(['up', 'down', 'enter', 'escape', 'ctrl-c', 'q']);
  });

  it('moves the selection with arrows and j/k within bounds, toggles detail, asks for revoke/terminate/clear/quit', () => {
    const s = cluster();
    let v = view();
    const press = (key: string): string => {
      const out = handleKey(key, s, v);
      v = out.view;
      return out.action.type === 'revoke' || out.action.type === 'terminate' ? `${out.action.type}:${out.action.uuid.slice(0, 8)}` : out.action.type;
    };
    expect(press('\x1b[A')).toBe('none');
    expect(v.selected?.slice(0, 8)).toBe('cccccccc');
    press('j');
    press('\x1b[B');
    press('j');
    expect(v.selected?.slice(0, 8)).toBe('aaaaaaaa');
    press('k');
    expect(v.selected?.slice(0, 8)).toBe('bbbbbbbb');
    press('\r');
    expect(v.detail).toBe(true);
    press('\x1b');
    expect(v.detail).toBe(false);
    expect(press('r')).toBe('revoke:bbbbbbbb');
    expect(press('t')).toBe('terminate:bbbbbbbb');
    expect(press('c')).toBe('clear');
    expect(v).toMatchObject({ selected: null, detail: false });
    expect(press('q')).toBe('quit');
    expect(press('\x03')).toBe('quit');
    expect(press('x')).toBe('none');
  });

  it('revoke with no task says so', () => {
    const out = handleKey('r', new State(), view());
    expect(out.action.type).toBe('none');
    expect(out.view.message).toBe('no task selected');
  });
});
