/**
 * Queue expiry (AMQP x-expires) for virtual transports, written once: a queue declared with `expires` is
 * deleted, messages and bindings, once nobody has used it for that long. While a consumer in this process
 * reads it, the queue is touched a few times per period; any process with such queues sweeps the stale
 * ones of every process (a crashed worker's pidbox queue, a vanished client's reply queue). A queue of ours
 * swept while this process stalled is declared and bound again on the next touch.
 */
import type { Binding, QueueDeclaration } from '../types.js';

type MaybePromise<T> = T | Promise<T>;

/** What the store provides (optional primitives of `VirtualStore`). */
export interface ExpiryStore {
  /** Records use of these queues at `at`; returns the names it no longer knows (swept meanwhile). */
  touchQueues?(names: readonly string[], at: number): MaybePromise<string[]>;
  /** Deletes every queue declared with `expires` and unused since `now - expires`; returns their names. */
  sweepExpired?(now: number): MaybePromise<string[]>;
}

export interface ExpiryHost {
  store: ExpiryStore;
  now(): number;
  /** Queues read by this process's consumers now. */
  consumed(): Set<string>;
  redeclare(queue: QueueDeclaration, bindings: readonly Binding[]): Promise<void>;
  onError(error: unknown): void;
}

export class QueueExpiry {
  private readonly mine = new Map<string, { queue: QueueDeclaration; bindings: Binding[] }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly host: ExpiryHost) {}

  declared(queue: QueueDeclaration): void {
    if (!queue.expires || queue.expires <= 0 || !this.host.store.touchQueues) return;
    const known = this.mine.get(queue.name);
    this.mine.set(queue.name, { queue, bindings: known?.bindings ?? [] });
    this.arm();
  }

  bound(binding: Binding): void {
    const entry = this.mine.get(binding.queue);
    if (entry && !entry.bindings.some((b) => b.exchange === binding.exchange && b.routingKey === binding.routingKey)) entry.bindings.push(binding);
  }

  /** An exchange was deleted: its bindings are not declared again with our queues. */
  exchangeDeleted(exchange: string): void {
    for (const entry of this.mine.values()) entry.bindings = entry.bindings.filter((b) => b.exchange !== exchange);
  }

  deleted(name: string): void {
    this.mine.delete(name);
    if (this.mine.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Touches our consumed queues and sweeps stale ones (also run by the timer). */
  tick(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private arm(): void {
    const shortest = Math.min(...[...this.mine.values()].map((e) => e.queue.expires ?? Infinity));
    const every = Math.max(50, Math.floor(shortest / 4));
    if (this.timer && every >= this.every) return;
    this.stop();
    this.every = every;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  private every = Infinity;

  private async run(): Promise<void> {
    const { store, now, consumed } = this.host;
    try {
      const reading = consumed();
      const names = [...this.mine.keys()].filter((n) => reading.has(n));
      const missing = names.length ? await store.touchQueues?.(names, now()) : [];
      for (const name of missing ?? []) {
        const entry = this.mine.get(name);
        if (entry) await this.host.redeclare(entry.queue, entry.bindings);
      }
      await store.sweepExpired?.(now());
    } catch (err) {
      this.host.onError(err);
    }
  }
}
