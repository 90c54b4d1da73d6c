/**
 * The ETA timer heap (Celery's timer for eta/countdown tasks): requests ordered by due time, one timer armed
 * for the earliest. Held requests stay out of the prefetch count (the worker widens the window for them).
 */

/** setTimeout's largest delay; later ETAs re-arm. */
const MAX_TIMER = 2_147_483_647;

export interface EtaEntry<T> {
  due: number;
  id: string;
  item: T;
}

export class EtaHeap<T> {
  private readonly heap: EtaEntry<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  /** `onDue` gets each entry whose time has come, earliest first. */
  constructor(
    private readonly onDue: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  push(id: string, due: number, item: T): void {
    const h = this.heap;
    h.push({ due, id, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as EtaEntry<T>).due <= due) break;
      [h[i], h[p]] = [h[p] as EtaEntry<T>, h[i] as EtaEntry<T>];
      i = p;
    }
    this.arm();
  }

  /** Takes an entry out by id (revoked); returns its item. */
  remove(id: string): T | undefined {
    const i = this.heap.findIndex((e) => e.id === id);
    if (i < 0) return undefined;
    const [entry] = this.heap.splice(i, 1);
    this.heapify();
    this.arm();
    return entry?.item;
  }

  /** Every entry, earliest first (for `inspect scheduled`). */
  entries(): EtaEntry<T>[] {
    return [...this.heap].sort((a, b) => a.due - b.due);
  }

  /** Empties the heap and stops the timer; returns the items (handed back on shutdown). */
  drain(): T[] {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    return this.heap.splice(0).map((e) => e.item);
  }

  private pop(): EtaEntry<T> | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && (h[l] as EtaEntry<T>).due < (h[m] as EtaEntry<T>).due) m = l;
      if (r < h.length && (h[r] as EtaEntry<T>).due < (h[m] as EtaEntry<T>).due) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m] as EtaEntry<T>, h[i] as EtaEntry<T>];
      i = m;
    }
  }

  private heapify(): void {
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private arm(): void {
    const first = this.heap[0];
    if (!first) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.armedFor = Infinity;
      return;
    }
    if (this.timer && first.due >= this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = first.due;
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_TIMER, Math.max(0, first.due - this.now())));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    while (this.heap.length > 0 && (this.heap[0] as EtaEntry<T>).due <= now) this.onDue((this.pop() as EtaEntry<T>).item);
    this.arm();
  }
}
