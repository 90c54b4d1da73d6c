/**
 * Gossip between workers (Celery's Gossip consumer step). Each worker listens to the other workers' events
 * (`worker.#` on celeryev) to know who is alive (`node-join`, `node-leave`, `node-lost`), and holds leader
 * elections over those events, with Celery 5's messages:
 *
 *   control `election(id, topic, action)` ─► each worker that got it sends worker-elect {id, topic, action, cver: 1}
 *   every worker, on each worker-elect: keeps (clock, "hostname.pid", topic, action), sends worker-elect-ack {id}
 *   each worker that asked, once every alive worker acked: leader = lowest clock, then lowest "hostname.pid"
 *   (Celery's sort_heap); the leader runs the topic's handler with the action ('task' sends the signature).
 *
 * Where this differs from Celery, on purpose: acks count once per worker, not once per message; the decision
 * waits `settle` ms after the last ack so that every worker's request is in (Celery decides at the N-th ack
 * and may rank a partial list, so two workers could both win); a lone worker elects itself (Celery's
 * sort_heap fails on one request); an election still missing acks after `electionTimeout` (an alive worker
 * that runs without gossip never acks) is decided with what arrived, rather than never.
 */
import { applySignature, normalize } from '../app/canvas/apply.js';
import type { CanvasApp } from '../app/canvas/types.js';
import type { ControlLogger } from '../control/node.js';
import { EventReceiver, State, type EventDispatcher, type Received, type WorkerInfo } from '../events/index.js';
import { eventsSupported } from '../events/index.js';
import type { AnyEvent } from '../protocol/events.js';
import type { Transport } from '../transport/types.js';
import { TypedEmitter } from '../util/emitter.js';
import type { LamportClock } from '../util/lamport.js';

/** Runs on the elected worker with the election's `action` (for 'task': a signature dict or a task name). */
export type ElectionHandler = (action: unknown) => unknown;

/** Who won an election, as each worker that asked for it decided. */
export interface ElectionOutcome {
  id: string;
  topic: string;
  /** The leader's "hostname.pid". */
  leader: string;
  /** Whether this worker is the leader (and ran the handler). */
  won: boolean;
  /** How many workers' requests were ranked. */
  candidates: number;
}

export type GossipEvents = {
  'node-join': [WorkerInfo];
  'node-leave': [WorkerInfo];
  'node-lost': [WorkerInfo];
  elected: [ElectionOutcome];
};

export interface GossipOptions {
  hostname: string;
  pid?: number;
  /** Sends worker-elect and worker-elect-ack (the worker's own dispatcher: they are 'worker' events). */
  dispatcher: EventDispatcher;
  /** The worker's Lamport clock (shared with control and events). */
  clock: LamportClock;
  logger: ControlLogger;
  /** Election topics and what the winner does; the worker adds 'task'. */
  handlers?: Record<string, ElectionHandler>;
  /** ms between checks for workers whose heartbeats stopped (Celery's 5 s). */
  interval?: number;
  /** Message TTL of the gossip queue in ms (Celery's heartbeat interval, 2 s). */
  queueTtl?: number;
  /** ms to wait after the last ack for late requests before deciding (default 300). */
  settle?: number;
  /** ms after which an election still missing acks is decided with what arrived (default 10 s). */
  electionTimeout?: number;
  now?: () => number;
}

interface Candidate {
  clock: number;
  /** "hostname.pid" of the worker that asked. */
  node: string;
  topic: string;
  action: unknown;
  /** ms since the epoch it arrived (to forget requests of elections this worker never decides). */
  at: number;
}

interface Pending {
  acks: Set<string>;
  settleTimer?: NodeJS.Timeout;
  timeoutTimer: NodeJS.Timeout;
}

/** The 'task' topic, as Celery's: the winner sends the action, a signature dict (or a task name, as the CLI gives). */
export function taskElection(app: CanvasApp): ElectionHandler {
  return (action) => applySignature(app, normalize(typeof action === 'string' ? { task: action } : action));
}

/** Celery's LamportClock.sort_heap: the lowest clock; on a tie, the lowest "hostname.pid". */
export function electLeader<C extends { clock: number; node: string }>(candidates: readonly C[]): C | undefined {
  let best: C | undefined;
  for (const c of candidates) if (!best || c.clock < best.clock || (c.clock === best.clock && c.node < best.node)) best = c;
  return best;
}

export class Gossip extends TypedEmitter<GossipEvents> {
  /** The workers seen through their events (this worker's own are not applied: Celery's Gossip too). */
  readonly state: State;
  /** "hostname.pid", how elections name this worker. */
  readonly fullHostname: string;
  private readonly handlers = new Map<string, ElectionHandler>();
  private readonly requests = new Map<string, Candidate[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly opts: GossipOptions;
  private readonly now: () => number;
  private receiver: EventReceiver | undefined;
  private ticker: NodeJS.Timeout | undefined;

  constructor(options: GossipOptions) {
    super();
    this.opts = options;
    this.now = options.now ?? Date.now;
    this.fullHostname = `${options.hostname}.${options.pid ?? process.pid}`;
    this.state = new State({ maxTasks: 1, now: this.now });
    for (const [topic, handler] of Object.entries(options.handlers ?? {})) this.handlers.set(topic, handler);
  }

  /** Whether gossip can run on this broker (it needs events: a topic or fanout exchange). */
  static supported(transport: Transport): boolean {
    return eventsSupported(transport.capabilities);
  }

  /** What the winner of an election on `topic` does (replaces an earlier handler of the topic). */
  handle(topic: string, handler: ElectionHandler): this {
    this.handlers.set(topic, handler);
    return this;
  }

  /** Starts listening to the other workers' events. */
  async start(connection: () => Promise<Transport>): Promise<void> {
    const receiver = new EventReceiver(connection, { routingKey: 'worker.#', queueTtl: this.opts.queueTtl ?? 2_000, clock: this.opts.clock, now: this.now });
    receiver.on('event', (e) => this.onEvent(e));
    receiver.on('error', (e) => this.opts.logger.warn('gossip: %s', e.message));
    await receiver.start();
    this.receiver = receiver;
    this.ticker = setInterval(() => this.periodic(), this.opts.interval ?? 5_000);
    this.ticker.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.settleTimer);
      clearTimeout(p.timeoutTimer);
    }
    this.pending.clear();
    this.requests.clear();
    const receiver = this.receiver;
    this.receiver = undefined;
    await receiver?.close();
  }

  /** Asks every worker to take part in election `id` (the `election` control command lands here). */
  election(id: string, topic: string, action: unknown = null): void {
    if (this.pending.has(id)) return;
    const timeoutTimer = setTimeout(() => this.decide(id, 'timeout'), this.opts.electionTimeout ?? 10_000);
    timeoutTimer.unref();
    this.pending.set(id, { acks: new Set(), timeoutTimer });
    this.opts.dispatcher.send('worker-elect', { id, topic, action, cver: 1 });
  }

  private onEvent(event: Received): void {
    if (event.type === 'worker-elect') return this.onElect(event);
    if (event.type === 'worker-elect-ack') return this.onElectAck(event);
    if (event.hostname === this.opts.hostname) return;
    const before = this.state.worker(event.hostname)?.alive ?? false;
    this.state.event(event);
    const after = this.state.worker(event.hostname);
    if (!after) return;
    if (!before && after.alive) this.notify('node-join', after);
    else if (before && event.type === 'worker-offline') this.notify('node-leave', after);
  }

  private onElect(event: AnyEvent): void {
    const { id, topic } = event as AnyEvent & { id?: unknown; topic?: unknown };
    if (typeof id !== 'string' || typeof topic !== 'string' || typeof event.clock !== 'number') {
      this.opts.logger.error('gossip: election request from %s without id, topic or clock: ignored', event.hostname);
      return;
    }
    let list = this.requests.get(id);
    if (!list) this.requests.set(id, (list = []));
    list.push({ clock: event.clock, node: `${event.hostname}.${String(event.pid)}`, topic, action: event['action'] ?? null, at: this.now() });
    this.opts.dispatcher.send('worker-elect-ack', { id });
  }

  private onElectAck(event: AnyEvent): void {
    const id = event['id'];
    const pending = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!pending || typeof id !== 'string') return; // not an election this worker asked for
    pending.acks.add(event.hostname);
    this.opts.logger.debug('gossip: election %s acked by %s', id, event.hostname);
    const everyone = this.state.aliveWorkers().every((w) => pending.acks.has(w.hostname));
    if (!everyone || !pending.acks.has(this.opts.hostname)) return;
    clearTimeout(pending.settleTimer);
    pending.settleTimer = setTimeout(() => this.decide(id, 'acked'), this.opts.settle ?? 300);
  }

  private decide(id: string, why: 'acked' | 'timeout'): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    clearTimeout(pending.settleTimer);
    clearTimeout(pending.timeoutTimer);
    this.pending.delete(id);
    const candidates = this.requests.get(id) ?? [];
    this.requests.delete(id);
    const leader = electLeader(candidates);
    if (!leader) {
      this.opts.logger.warn('gossip: election %s had no requests (the events did not come back): nobody elected', id);
      return;
    }
    if (why === 'timeout') this.opts.logger.warn('gossip: election %s decided without every alive worker\'s ack', id);
    const won = leader.node === this.fullHostname;
    if (won) this.opts.logger.info('I won the election %s', id);
    else this.opts.logger.info('node %s elected for %s', leader.node, id);
    this.emit('elected', { id, topic: leader.topic, leader: leader.node, won, candidates: candidates.length });
    if (!won) return;
    const handler = this.handlers.get(leader.topic);
    if (!handler) {
      this.opts.logger.error('gossip: unknown election topic %s (known: %s)', leader.topic, [...this.handlers.keys()].join(', ') || 'none');
      return;
    }
    try {
      void Promise.resolve(handler(leader.action)).catch((err: unknown) => this.handlerFailed(leader.topic, err));
    } catch (err) {
      this.handlerFailed(leader.topic, err);
    }
  }

  private handlerFailed(topic: string, err: unknown): void {
    this.opts.logger.error('gossip: the %s election handler failed: %s', topic, err instanceof Error ? err.message : String(err));
  }

  /** Workers whose heartbeats stopped are lost; requests of elections decided elsewhere are forgotten. */
  private periodic(): void {
    for (const w of this.state.workers()) {
      if (w.alive) continue;
      this.state.removeWorker(w.hostname);
      if (w.heartbeats.length) this.notify('node-lost', w);
    }
    const horizon = this.now() - 2 * (this.opts.electionTimeout ?? 10_000);
    for (const [id, list] of this.requests) if (!this.pending.has(id) && list.every((c) => c.at < horizon)) this.requests.delete(id);
  }

  private notify(event: 'node-join' | 'node-leave' | 'node-lost', worker: WorkerInfo): void {
    this.opts.logger.debug('gossip: %s %s', worker.hostname, event === 'node-join' ? 'joined' : event === 'node-leave' ? 'left' : 'missed its heartbeats');
    try {
      this.emit(event, worker);
    } catch (err) {
      this.opts.logger.error('gossip: a %s listener failed: %s', event, err instanceof Error ? err.message : String(err));
    }
  }
}
