/**
 * Worker data for the dashboard: Flower's GET /api/workers (per worker, the replies to the inspect commands
 * stats, active_queues, registered, scheduled, active, reserved, revoked and conf, cached until `refresh`),
 * and the live overview the page draws (each worker as the events show it, with its queues from the cache).
 */
import type { Celeriac, ClusterState, WorkerInfo } from '../index.js';

/** The inspect commands asked for each worker, as Flower's inspector does. */
const COMMANDS = ['stats', 'active_queues', 'registered', 'scheduled', 'active', 'reserved', 'revoked', 'conf'] as const;

export type WorkerInspect = Partial<Record<(typeof COMMANDS)[number], unknown>> & { timestamp: number };

export interface OverviewWorker extends WorkerInfo {
  queues: string[];
}

export class WorkerInspector {
  private cache = new Map<string, WorkerInspect>();
  /** A background refresh under way (at most one). */
  private refreshing: Promise<void> | undefined;
  private refreshedAt = 0;
  private rounds = 0;
  private applied = 0;

  constructor(
    private readonly app: Celeriac,
    /** How long to wait for replies, in ms. */
    private readonly timeout: number,
  ) {}

  /** Asks every worker (or those named) again. A round that started before the last one applied is dropped. */
  async refresh(destination?: string[]): Promise<void> {
    const round = ++this.rounds;
    const inspect = this.app.control.inspect({ timeout: this.timeout, ...(destination ? { destination } : {}) });
    const replies = await Promise.all(COMMANDS.map((c) => inspect.call(c).catch(() => ({}) as Record<string, unknown>)));
    if (round < this.applied) return;
    this.applied = round;
    const now = Date.now() / 1000;
    const seen = new Set(replies.flatMap((r) => Object.keys(r)));
    if (!destination) for (const name of this.cache.keys()) if (!seen.has(name)) this.cache.delete(name);
    for (const name of seen) {
      const entry: WorkerInspect = { timestamp: now };
      COMMANDS.forEach((c, i) => {
        const reply = replies[i]?.[name];
        if (reply !== undefined) entry[c] = reply;
      });
      this.cache.set(name, entry);
    }
    if (!destination) this.refreshedAt = Date.now();
  }

  /** Flower's /api/workers body: `{ name: { stats, active_queues, ... } }` (asks first when never asked). */
  async workers(refresh: boolean, name?: string): Promise<Record<string, WorkerInspect>> {
    if (refresh || !this.refreshedAt) await this.refresh(name && refresh ? [name] : undefined);
    const entries = [...this.cache].filter(([n]) => name === undefined || n === name);
    return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
  }

  has(name: string): boolean {
    return this.cache.has(name);
  }

  /** Starts a background refresh when the cache is older than `maxAge` ms (or a worker is missing from it). */
  refreshIfStale(maxAge: number, names: string[] = []): void {
    if (this.refreshing) return;
    if (Date.now() - this.refreshedAt > maxAge || names.some((n) => !this.cache.has(n))) {
      this.refreshing = this.refresh()
        .catch(() => undefined)
        .finally(() => (this.refreshing = undefined));
    }
  }

  queues(name: string): string[] {
    const active = this.cache.get(name)?.active_queues;
    return Array.isArray(active) ? active.map((q) => String((q as { name?: unknown }).name)) : [];
  }

  /** The workers whose active_queues name `queue`, by name. */
  consumersOf(queue: string): string[] {
    return [...this.cache.keys()].filter((name) => this.queues(name).includes(queue)).sort();
  }

  /** Every queue some worker consumes (Flower's active queue names). */
  activeQueueNames(): string[] {
    return [...new Set([...this.cache.keys()].flatMap((name) => this.queues(name)))].sort();
  }

  /** The workers the events have shown, by name, each with its queues. */
  overview(state: ClusterState): OverviewWorker[] {
    return state.workers().sort((a, b) => a.hostname.localeCompare(b.hostname)).map((w) => ({ ...w, queues: this.queues(w.hostname) }));
  }
}
