/**
 * The event dispatcher's outbox (Celery's EventDispatcher `_outbound_buffer`, bounded here): events wait in it
 * while a publish is under way and while the broker is unreachable, and go out in order, as many as are
 * waiting in one `publishMany`. Beyond `limit` the oldest are dropped and counted (reported once the outbox
 * drains, and at close). After the transport reports the connection back, the outbox waits `resendDelay` ms
 * before sending, so monitors reconnecting at the same moment subscribe again first (fanout over pub/sub keeps
 * nothing for a subscriber that is not there). A failed publish stays first in line and is tried again with
 * back-off, unless its error says a retry cannot help (`retryable: false`).
 */
import type { RawMessage } from '../protocol/message.js';
import type { Transport } from '../transport/types.js';
import { backoffDelay } from '../util/backoff.js';

/** Retry back-off after a failed publish, ms. */
const RETRY = { base: 200, max: 5000, jitter: true } as const;

export interface OutboxOptions {
  exchange: string;
  /** Most events kept (at least 1). */
  limit: number;
  /** ms to wait after the connection is back before sending what waited. */
  resendDelay: number;
  onError: (error: Error) => void;
  /** `count` events were dropped (the outbox was full) since the last report. */
  onDropped: (count: number) => void;
}

interface Item {
  message: RawMessage;
  routingKey: string;
}

export class EventOutbox {
  /** Events dropped because the outbox was full, since it was made. */
  dropped = 0;
  /** In order; the first `inflight` are being published. */
  private readonly items: Item[] = [];
  private inflight = 0;
  private unreported = 0;
  private pumping: Promise<void> | undefined;
  private down = false;
  private resumeAt = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly transport: () => Promise<Transport>,
    private readonly options: OutboxOptions,
  ) {}

  /** Events waiting. */
  get size(): number {
    return this.items.length;
  }

  /** Follows the transport's connection reports (where it gives them). */
  watch(transport: Transport): void {
    if (this.unwatch || this.closed) return;
    this.unwatch = transport.onConnection?.((status) => {
      if (status === 'lost') {
        this.down = true;
        return;
      }
      this.down = false;
      this.resumeAt = Date.now() + this.options.resendDelay;
      this.later(this.options.resendDelay);
    });
  }

  add(message: RawMessage, routingKey: string): void {
    if (this.closed) return;
    this.items.push({ message, routingKey });
    // The oldest waiting (not being published) give way.
    while (this.items.length - this.inflight > Math.max(1, this.options.limit)) {
      this.items.splice(this.inflight, 1);
      this.dropped++;
      this.unreported++;
    }
    void this.pump();
  }

  /** Resolves once the events waiting now are sent, or cannot be for now (broker down, publish failed). */
  async drain(): Promise<void> {
    while (this.pumping) await this.pumping;
    if (this.items.length && !this.down && !this.timer) await this.pump();
  }

  /** Stops; events still waiting are reported as dropped. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    this.unreported += this.items.length;
    this.dropped += this.items.length;
    this.items.length = 0;
    this.report();
  }

  private later(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, ms);
    this.timer.unref?.();
  }

  private report(): void {
    if (this.unreported === 0) return;
    const count = this.unreported;
    this.unreported = 0;
    this.options.onDropped(count);
  }

  private pump(): Promise<void> {
    this.pumping ??= this.send().finally(() => (this.pumping = undefined));
    return this.pumping;
  }

  private async send(): Promise<void> {
    while (this.items.length > 0 && !this.closed) {
      const wait = this.resumeAt - Date.now();
      if (this.down || this.timer) return;
      if (wait > 0) return this.later(wait);
      const batch = this.items.slice();
      this.inflight = batch.length;
      try {
        const transport = await this.transport();
        this.watch(transport);
        const outgoing = batch.map((i) => ({ message: i.message, exchange: this.options.exchange, routingKey: i.routingKey, unroutable: 'drop' as const }));
        if (outgoing.length === 1) await transport.publish(batch[0]?.message as RawMessage, outgoing[0] as (typeof outgoing)[0]);
        else await transport.publishMany(outgoing);
        this.attempt = 0;
        this.items.splice(0, this.inflight);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        this.options.onError(error);
        if ((error as { retryable?: unknown }).retryable === false) {
          this.items.splice(0, this.inflight);
          continue;
        }
        return this.later(backoffDelay(this.attempt++, RETRY));
      } finally {
        this.inflight = 0;
      }
    }
    if (this.items.length === 0) this.report();
  }
}
