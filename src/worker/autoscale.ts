/**
 * Autoscaling (Celery's --autoscale max,min): every second, grow the pool up to the backlog (held and running
 * tasks, at most `max`); shrink it back towards `min` once it has had spare slots for `keepalive` ms.
 */
import type { Pool } from './pools/types.js';

export interface AutoscaleOptions {
  max: number;
  min: number;
  /** ms the pool must be over-sized before it shrinks (Celery: 30 s). */
  keepalive?: number;
  /** ms between checks (default 1000). */
  interval?: number;
}

export class Autoscaler {
  private timer: NodeJS.Timeout | undefined;
  private spareSince: number | undefined;
  readonly keepalive: number;

  constructor(
    private readonly pool: Pool,
    /** Tasks waiting for a slot plus tasks running. */
    private readonly backlog: () => number,
    private readonly resized: () => void,
    public max: number,
    public min: number,
    options: { keepalive?: number; interval?: number } = {},
  ) {
    this.keepalive = options.keepalive ?? 30_000;
    this.timer = setInterval(() => this.tick(), options.interval ?? 1000);
    this.timer.unref();
  }

  /** Sets new bounds and applies the lower bound at once. */
  bounds(max: number, min: number): void {
    this.max = max;
    this.min = min;
    this.tick();
  }

  tick(now = Date.now()): void {
    const size = this.pool.concurrency;
    const wanted = Math.max(this.min, Math.min(this.max, this.backlog()));
    if (wanted > size) {
      this.pool.grow(wanted - size);
      this.spareSince = undefined;
      this.resized();
    } else if (wanted < size) {
      this.spareSince ??= now;
      if (now - this.spareSince >= this.keepalive || size > this.max) {
        this.pool.shrink(size - wanted);
        this.spareSince = undefined;
        this.resized();
      }
    } else {
      this.spareSince = undefined;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
