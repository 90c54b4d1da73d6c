// DOT text for `celeriac graph` (quoting, clusters, dangling edges), Celery's abbreviations, and the worker's
// bootsteps as a configured worker describes them.
import { describe, expect, it } from 'vitest';
import { abbreviate, quote, renderDot, subscript } from '../../../src/cli/dot.js';
import { bootsteps, type BootPlan } from '../../../src/worker/bootsteps.js';

describe('renderDot', () => {
  it('quotes ids and values, groups clusters, drops edges to nodes not drawn', () => {
    expect(quote('a "b"\\c\nd')).toBe('"a \\"b\\"\\\\c\\nd"');
    const dot = renderDot({ name: 'g', clusters: { c: { label: 'C' } }, nodes: [{ id: 'x', label: 'X' }, { id: 'y', cluster: 'c', attrs: { shape: 'oval' } }], edges: [{ from: 'x', to: 'y' }, { from: 'x', to: 'gone' }] });
    expect(dot).toContain('  "x" [label="X"];\n  subgraph "cluster_c" {\n    label="C";\n    "y" [shape="oval"];\n  }\n  "x" -> "y";\n}\n');
    expect(dot).not.toContain('gone');
  });

  it("abbreviates as Celery's maybe_abbr", () => {
    expect(subscript(12)).toBe('₁₂');
    expect(abbreviate([1, 2, 3, 4, 5, 6], 4, (n) => -n)).toEqual([1, 2, -3, 6]);
    expect(abbreviate([1, 2], 4, (n) => -n)).toEqual([1, 2]);
    expect(abbreviate([1, 2, 3], 0, (n) => -n)).toEqual([1, 2, 3]);
  });
});

describe('bootsteps', () => {
  const plan: BootPlan = {
    broker: 'redis://:secret@h/0', backend: 'sqlite://./r.db', pool: { name: 'processes', concurrency: 4 }, autoscale: undefined, prefetch: 16, queues: ['celery'],
    events: { taskEvents: false, heartbeat: true, heartbeatInterval: 2, gossip: true }, control: { enabled: true, statedb: undefined, namespace: 'celery' }, beat: false,
  };

  it('lists the steps in start order; every step needs only steps started before it', () => {
    const steps = bootsteps(plan);
    expect(steps.map((s) => s.name)).toEqual(['Connection', 'ResultBackend', 'RateLimits', 'Pool', 'Timer', 'Consumer', 'Events', 'Gossip', 'Heart', 'Control', 'Tasks']);
    expect(steps[0]?.detail).toBe('redis://:**@h/0');
    steps.forEach((s, i) => s.requires.forEach((r) => expect(steps.slice(0, i).map((x) => x.name)).toContain(r)));
  });

  it('follows the options: autoscale, statedb, beat in; control, gossip, heartbeat out', () => {
    const names = bootsteps({ ...plan, autoscale: { max: 8, min: 2 }, beat: true, events: { ...plan.events, gossip: false, heartbeat: false }, control: { enabled: false, statedb: '/s.json', namespace: 'celery' } }).map((s) => s.name);
    expect(names).toEqual(['Connection', 'ResultBackend', 'RateLimits', 'Pool', 'Autoscaler', 'Timer', 'Consumer', 'Events', 'StateDB', 'Tasks', 'Beat']);
  });
});
