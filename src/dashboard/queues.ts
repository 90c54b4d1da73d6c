/**
 * The dashboard's queues: depth samples from the broker (`Transport.listQueues`, so every broker alike), the
 * workers consuming each queue (their `active_queues`), and rates in and out. Out is the task-received events
 * attributed to the queue (by the task's task-sent event, else by the worker's only queue); in is the
 * task-sent events of the queue when producers send them, else out plus the change of the ready count.
 */
import type { QueueInfo } from '../index.js';

/** Samples kept per queue (with the default 5 s interval: the last 10 minutes). */
const SAMPLES_KEPT = 120;
/** Rates are read over the samples of the last this many seconds. */
const RATE_WINDOW = 30;
/** Queues followed at most (the rest are listed without history). */
const MAX_QUEUES = 1000;

export interface QueueSample {
  /** UNIX seconds. */
  t: number;
  messages: number;
  unacked: number;
  /** Cumulative task-sent and task-received events counted for the queue until then. */
  sent: number;
  received: number;
}

export interface QueueRow extends QueueInfo {
  /** The monitor's own queues (events, remote control): hidden on the page unless asked for. */
  internal: boolean;
  /** Workers whose active_queues name it. */
  workers: string[];
  /** Messages per second into and out of the queue (null until two samples exist). */
  rateIn: number | null;
  rateOut: number | null;
  /** Ready counts over time: [UNIX seconds, messages][] (the last SAMPLES_KEPT samples). */
  history: [number, number][];
}

/** Queues of the event and remote-control machinery, not of tasks. */
export function internalQueue(name: string): boolean {
  return name.startsWith('celeryev.') || name.endsWith('.pidbox') || name.startsWith('reply.celery.pidbox');
}

interface Followed {
  info: QueueInfo;
  samples: QueueSample[];
  sent: number;
  received: number;
}

export class QueueMonitor {
  private readonly queues = new Map<string, Followed>();
  private sampling: Promise<void> | undefined;
  private sampledAt = 0;
  /** The last sampling error (the broker unreachable...), cleared by the next success. */
  error: string | undefined;

  constructor(
    private readonly list: () => Promise<QueueInfo[]>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a task-sent (`sent`) or task-received event for `queue`. */
  note(queue: string, kind: 'sent' | 'received'): void {
    const q = this.queues.get(queue) ?? this.follow({ name: queue, messages: 0, unacked: 0 });
    if (q) q[kind]++;
  }

  private follow(info: QueueInfo): Followed | undefined {
    if (this.queues.size >= MAX_QUEUES) return undefined;
    const q: Followed = { info, samples: [], sent: 0, received: 0 };
    this.queues.set(info.name, q);
    return q;
  }

  /** Asks the broker for every queue's counts (one sampling at a time; concurrent callers share it). */
  sample(): Promise<void> {
    this.sampling ??= (async () => {
      const started = this.now();
      try {
        const infos = await this.list();
        const t = started / 1000;
        const seen = new Set<string>();
        for (const info of infos) {
          seen.add(info.name);
          const q = this.queues.get(info.name) ?? this.follow(info);
          if (!q) continue;
          q.info = info;
          q.samples.push({ t, messages: info.messages, unacked: info.unacked, sent: q.sent, received: q.received });
          if (q.samples.length > SAMPLES_KEPT) q.samples.splice(0, q.samples.length - SAMPLES_KEPT);
        }
        // A queue the broker no longer lists is gone (deleted, expired).
        for (const name of this.queues.keys()) if (!seen.has(name)) this.queues.delete(name);
        this.sampledAt = started;
        this.error = undefined;
      } catch (err) {
        this.error = err instanceof Error ? err.message : String(err);
      } finally {
        this.sampling = undefined;
      }
    })();
    return this.sampling;
  }

  /** Samples unless the last sample was taken less than `maxAge` ms ago (one under way is waited for first). */
  async fresh(maxAge: number): Promise<void> {
    if (this.sampling) await this.sampling;
    if (this.now() - this.sampledAt > maxAge) await this.sample();
  }

  get lastSample(): number {
    return this.sampledAt;
  }

  /** Every queue with its counts, consumers and rates, by name. `consumersOf` names the workers reading one. */
  rows(consumersOf: (queue: string) => string[]): QueueRow[] {
    return [...this.queues.values()]
      .filter((q) => q.samples.length > 0)
      .map((q) => ({
        ...q.info,
        internal: internalQueue(q.info.name),
        workers: consumersOf(q.info.name),
        ...rates(q.samples),
        history: q.samples.map((s): [number, number] => [s.t, s.messages]),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The latest counts of every queue (what the Prometheus gauges show). */
  latest(): QueueInfo[] {
    return [...this.queues.values()].filter((q) => q.samples.length > 0).map((q) => q.info);
  }
}

/** Rates over the samples of the last RATE_WINDOW seconds (between the oldest of them and the newest). */
export function rates(samples: readonly QueueSample[]): { rateIn: number | null; rateOut: number | null } {
  const last = samples.at(-1);
  if (!last) return { rateIn: null, rateOut: null };
  const first = samples.find((s) => s.t >= last.t - RATE_WINDOW && s !== last) ?? samples.at(-2);
  if (!first || last.t <= first.t) return { rateIn: null, rateOut: null };
  const dt = last.t - first.t;
  const out = (last.received - first.received) / dt;
  const sent = (last.sent - first.sent) / dt;
  // Without task-sent events, what came in is what went out plus what piled up.
  const rateIn = sent > 0 ? sent : Math.max(0, out + (last.messages - first.messages) / dt);
  return { rateIn, rateOut: out };
}
