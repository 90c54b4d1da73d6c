// Gossip over the in-process broker (memory://, a real transport): workers see each other join, leave and
// go silent through their worker events, and an election held by several workers at once picks one leader
// that all agree on (lowest clock, then lowest "hostname.pid"), whose handler alone runs.
import { afterEach, describe, expect, it } from 'vitest';
import { EventDispatcher } from '../../../src/events/dispatcher.js';
import { createTransport } from '../../../src/transport/memory/index.js';
import type { Transport } from '../../../src/transport/types.js';
import { LamportClock } from '../../../src/util/lamport.js';
import { electLeader, Gossip, type ElectionOutcome } from '../../../src/worker/gossip.js';
import { until } from '../../helpers/temp.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const heartbeat = { freq: 2, active: 0, processed: 0, loadavg: [0, 0, 0], sw_ident: 'celeriac', sw_ver: '0', sw_sys: 'Linux' };

interface Node {
  hostname: string;
  gossip: Gossip;
  dispatcher: EventDispatcher;
  ran: unknown[];
  outcomes: ElectionOutcome[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function broker(): () => Promise<Transport> {
  const t = createTransport('memory://', {});
  cleanups.push(() => t.close());
  return async () => {
    await t.connect();
    return t;
  };
}

async function node(connection: () => Promise<Transport>, hostname: string, pid: number, options: { settle?: number; electionTimeout?: number; interval?: number } = {}): Promise<Node> {
  const clock = new LamportClock();
  const dispatcher = new EventDispatcher(connection, { hostname, clock, pid, groups: ['worker'] });
  const ran: unknown[] = [];
  const outcomes: ElectionOutcome[] = [];
  const gossip = new Gossip({ hostname, pid, dispatcher, clock, logger: quiet, handlers: { task: (a) => ran.push(a) }, settle: options.settle ?? 50, ...options });
  gossip.on('elected', (o) => outcomes.push(o));
  await gossip.start(connection);
  cleanups.push(async () => {
    await gossip.stop();
    await dispatcher.close();
  });
  return { hostname, gossip, dispatcher, ran, outcomes };
}

/** Every node sends a heartbeat until each sees all the others alive. */
async function meet(nodes: Node[]): Promise<void> {
  await until(() => {
    for (const n of nodes) n.dispatcher.send('worker-heartbeat', heartbeat);
    return nodes.every((n) => n.gossip.state.aliveWorkers().length === nodes.length - 1);
  });
}

describe('electLeader', () => {
  it('picks the lowest clock, then the lowest node name', () => {
    expect(electLeader([{ clock: 5, node: 'a.1' }, { clock: 3, node: 'z.9' }, { clock: 3, node: 'b.2' }])).toEqual({ clock: 3, node: 'b.2' });
    expect(electLeader([{ clock: 7, node: 'only.1' }])).toEqual({ clock: 7, node: 'only.1' });
    expect(electLeader([])).toBeUndefined();
  });
});

describe('Gossip', () => {
  it('sees other workers join, leave, and go silent (not itself)', async () => {
    const connection = broker();
    const a = await node(connection, 'a@h', 1, { interval: 20 });
    const b = await node(connection, 'b@h', 2);
    const joined: string[] = [];
    const left: string[] = [];
    const lost: string[] = [];
    a.gossip.on('node-join', (w) => joined.push(w.hostname)).on('node-leave', (w) => left.push(w.hostname)).on('node-lost', (w) => lost.push(w.hostname));
    a.dispatcher.send('worker-online', heartbeat);
    b.dispatcher.send('worker-online', heartbeat);
    await until(() => joined.length === 1);
    expect(joined).toEqual(['b@h']);
    expect(a.gossip.state.worker('a@h')).toBeUndefined();
    b.dispatcher.send('worker-offline', heartbeat);
    await until(() => left.length === 1);
    expect(left).toEqual(['b@h']);
    // A third worker whose single heartbeat said it beats every 10 ms, and then nothing: lost.
    const c = await node(connection, 'c@h', 3);
    c.dispatcher.send('worker-heartbeat', { ...heartbeat, freq: 0.01 });
    await until(() => lost.includes('c@h'));
    expect(a.gossip.state.worker('c@h')).toBeUndefined();
    expect(lost).not.toContain('b@h');
  });

  it('elects one leader that every worker agrees on, when all of them ask at once', async () => {
    const connection = broker();
    const nodes = [await node(connection, 'w1@h', 11), await node(connection, 'w2@h', 12), await node(connection, 'w3@h', 13)];
    await meet(nodes);
    const action = { task: 'tasks.cleanup', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false };
    for (const n of nodes) n.gossip.election('e-1', 'task', action);
    await until(() => nodes.every((n) => n.outcomes.length === 1));
    const leaders = new Set(nodes.map((n) => n.outcomes[0]?.leader));
    expect(leaders.size).toBe(1);
    expect(nodes.map((n) => n.outcomes[0]?.candidates)).toEqual([3, 3, 3]);
    const winners = nodes.filter((n) => n.outcomes[0]?.won);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.ran).toEqual([action]);
    expect(nodes.flatMap((n) => n.ran)).toHaveLength(1);
    expect(`${winners[0]?.hostname}.${String(11 + nodes.indexOf(winners[0] as Node))}`).toBe([...leaders][0]);
  });

  it('a worker asked alone still waits for every alive worker, then wins', async () => {
    const connection = broker();
    const nodes = [await node(connection, 'x1@h', 21), await node(connection, 'x2@h', 22)];
    await meet(nodes);
    nodes[1]?.gossip.election('e-2', 'task', 'tasks.nightly');
    await until(() => (nodes[1]?.outcomes.length ?? 0) === 1);
    expect(nodes[1]?.outcomes[0]).toMatchObject({ id: 'e-2', topic: 'task', leader: 'x2@h.22', won: true, candidates: 1 });
    expect(nodes[1]?.ran).toEqual(['tasks.nightly']);
    // The other worker only acked: it did not ask, so it does not decide.
    expect(nodes[0]?.outcomes).toEqual([]);
    expect(nodes[0]?.ran).toEqual([]);
  });

  it('an election missing an alive worker\'s ack is decided after the timeout; unknown topics run nothing', async () => {
    const connection = broker();
    const a = await node(connection, 'y1@h', 31, { electionTimeout: 200 });
    // An alive worker without gossip: it beats but never acks.
    const mute = new EventDispatcher(connection, { hostname: 'mute@h', clock: new LamportClock(), groups: ['worker'] });
    cleanups.push(() => mute.close());
    await until(() => {
      mute.send('worker-heartbeat', heartbeat);
      return a.gossip.state.aliveWorkers().length === 1;
    });
    a.gossip.election('e-3', 'no-such-topic', null);
    await until(() => a.outcomes.length === 1);
    expect(a.outcomes[0]).toMatchObject({ id: 'e-3', won: true, leader: 'y1@h.31' });
    expect(a.ran).toEqual([]);
  });
});
