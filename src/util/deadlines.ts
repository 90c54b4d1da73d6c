/**
 * Many deadlines on one timer: a binary min-heap by due time, cancelled entries dropped lazily (and the
 * heap compacted once most of it is stale). A `setTimeout` + `clearTimeout` pair per waiter costs
 * microseconds and a Timeout object each; thousands of `get({ timeout })` calls share this one instead.
 */

/** A scheduled deadline; pass it to `cancel`. */
export interface Deadline<T> {
  readonly at: number;
  readonly item: T;
  live: boolean;
}

/** setTimeout's largest delay; a later deadline is re-armed when the timer fires. */
const MAX_DELAY = 2_147_483_647;

export class Deadlines<T> {
  private heap: Deadline<T>[] = [];
  private live = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly onExpire: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `onExpire(item)` after `delayMs`, unless cancelled first. */
  add(item: T, delayMs: number): Deadline<T> {
    const entry: Deadline<T> = { at: this.now() + Math.max(0, delayMs), item, live: true };
    this.push(entry);
    this.live++;
    if (entry.at < this.timerAt) this.arm(entry.at);
    return entry;
  }

  cancel(entry: Deadline<T>): void {
    if (!entry.live) return;
    entry.live = false;
    this.live--;
    if (this.live === 0) {
      this.heap = [];
      this.disarm();
    } else if (this.heap.length > 64 && this.heap.length > 2 * this.live) {
      this.heap = this.heap.filter((e) => e.live);
      for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
    }
  }

  /** Deadlines not yet expired or cancelled. */
  get size(): number {
    return this.live;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    while (this.heap.length > 0 && (this.heap[0] as Deadline<T>).at <= now) {
      const entry = this.pop();
      if (!entry.live) continue;
      entry.live = false;
      this.live--;
      this.onExpire(entry.item);
    }
    const next = this.heap[0];
    if (next) this.arm(next.at);
  }

  private arm(at: number): void {
    this.disarm();
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_DELAY, Math.max(0, at - this.now())));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private push(entry: Deadline<T>): void {
    const h = this.heap;
    let i = h.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((h[parent] as Deadline<T>).at <= entry.at) break;
      h[i] = h[parent] as Deadline<T>;
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): Deadline<T> {
    const h = this.heap;
    const top = h[0] as Deadline<T>;
    const last = h.pop() as Deadline<T>;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(start: number): void {
    const h = this.heap;
    const entry = h[start] as Deadline<T>;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const child = r < h.length && (h[r] as Deadline<T>).at < (h[l] as Deadline<T>).at ? r : l;
      if ((h[child] as Deadline<T>).at >= entry.at) break;
      h[i] = h[child] as Deadline<T>;
      i = child;
    }
    h[i] = entry;
  }
}
