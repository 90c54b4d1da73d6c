// Events with fields of the wrong type or reserved keys (a broken or hostile sender) never corrupt the cluster
// state: what the views rely on keeps its type, and an own '__proto__' key sets no prototype.
import { describe, expect, it } from 'vitest';
import { State } from '../../../src/events/state.js';
import { renderMonitor } from '../../../src/events/view.js';
import type { AnyEvent } from '../../../src/protocol/events.js';

const ev = (text: string): AnyEvent => JSON.parse(text) as AnyEvent;

describe('cluster state under odd events', () => {
  it('keeps worker bookkeeping and typed fields', () => {
    const s = new State();
    s.event(ev('{"type":"worker-heartbeat","hostname":"w","timestamp":1,"freq":2,"loadavg":[0.1,0.2,0.3],"active":1}'));
    s.event(ev('{"type":"worker-heartbeat","hostname":"w","timestamp":2,"heartbeats":"x","alive":"yes","loadavg":"high","freq":"fast","active":"many","__proto__":{"polluted":true}}'));
    s.event(ev('{"type":"worker-heartbeat","hostname":"w","timestamp":3}'));
    const w = s.worker('w');
    expect(w?.heartbeats).toEqual([1, 2, 3]);
    expect(w?.loadavg).toEqual([0.1, 0.2, 0.3]);
    expect(w?.freq).toBe(2);
    expect(w?.active).toBe(1);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(w)).toBe(Object.prototype);
  });

  it('keeps task bookkeeping and typed fields; the monitor still renders', () => {
    const s = new State();
    s.event(ev('{"type":"task-succeeded","uuid":"t1","hostname":"w","timestamp":5,"at":7,"state":"LOL","worker":{},"runtime":"slow","result":{"a":1},"__proto__":{"x":1}}'));
    const t = s.task('t1');
    expect(t?.state).toBe('SUCCESS');
    expect(t?.at).toEqual({ succeeded: 5 });
    expect(t?.worker).toBe('w');
    expect(t?.runtime).toBeUndefined();
    expect(t?.result).toBeUndefined();
    expect(() => renderMonitor(s, { selected: 't1', detail: true }, { columns: 100, rows: 30 }, Date.now())).not.toThrow();
  });
});
