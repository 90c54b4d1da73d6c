/**
 * Task throughput over time for the dashboard's charts: counts of task events per time bucket (1 s buckets
 * for the last 10 minutes, 1 min buckets for the last 24 hours) and runtimes in a log-scale histogram per
 * bucket, from which p50 and p95 are read. Fixed memory whatever the traffic: two rings of typed arrays.
 */

/** The task events counted, in the order of each bucket's counters. */
export const SERIES_KINDS = ['sent', 'received', 'started', 'succeeded', 'failed', 'retried', 'revoked', 'rejected'] as const;
export type SeriesKind = (typeof SERIES_KINDS)[number];

/** Runtime histogram: 8 buckets per decade from 1 µs to 10 000 s; the first and last also take what lies beyond. */
const PER_DECADE = 8;
const MIN_EXP = -6;
const BINS = 10 * PER_DECADE;
const binOf = (seconds: number): number => Math.min(BINS - 1, Math.max(0, Math.floor((Math.log10(Math.max(seconds, 1e-9)) - MIN_EXP) * PER_DECADE)));
/** The geometric middle of a bin, in seconds (what a quantile falling in it reads as: within ±16 %). */
const middleOf = (bin: number): number => 10 ** (MIN_EXP + (bin + 0.5) / PER_DECADE);

class Ring {
  private readonly keys: Float64Array;
  private readonly counts: Uint32Array;
  private readonly runtimes: Uint32Array;

  constructor(
    readonly step: number,
    readonly length: number,
  ) {
    this.keys = new Float64Array(length).fill(-1);
    this.counts = new Uint32Array(length * SERIES_KINDS.length);
    this.runtimes = new Uint32Array(length * BINS);
  }

  /** The slot of time `t` (seconds), emptied first when it last held an older bucket; -1 when it holds a newer one. */
  private slot(t: number): number {
    const key = Math.floor(t / this.step);
    const i = key % this.length;
    if (this.keys[i]! > key) return -1;
    if (this.keys[i] !== key) {
      this.keys[i] = key;
      this.counts.fill(0, i * SERIES_KINDS.length, (i + 1) * SERIES_KINDS.length);
      this.runtimes.fill(0, i * BINS, (i + 1) * BINS);
    }
    return i;
  }

  add(t: number, kind: number, runtime: number | undefined): void {
    const i = this.slot(t);
    if (i < 0) return;
    this.counts[i * SERIES_KINDS.length + kind]! += 1;
    if (runtime !== undefined) this.runtimes[i * BINS + binOf(runtime)]! += 1;
  }

  /** Counters and runtime quantiles of the buckets from `start` (a bucket key) for `n` buckets. */
  read(start: number, n: number): { counts: number[][]; p50: (number | null)[]; p95: (number | null)[] } {
    const counts = SERIES_KINDS.map(() => new Array<number>(n).fill(0));
    const p50: (number | null)[] = new Array<number | null>(n).fill(null);
    const p95: (number | null)[] = new Array<number | null>(n).fill(null);
    for (let j = 0; j < n; j++) {
      const key = start + j;
      const i = key % this.length;
      if (this.keys[i] !== key) continue;
      for (let k = 0; k < SERIES_KINDS.length; k++) counts[k]![j] = this.counts[i * SERIES_KINDS.length + k]!;
      const bins = this.runtimes.subarray(i * BINS, (i + 1) * BINS);
      p50[j] = quantile(bins, 0.5);
      p95[j] = quantile(bins, 0.95);
    }
    return { counts, p50, p95 };
  }
}

function quantile(bins: Uint32Array, q: number): number | null {
  let total = 0;
  for (const c of bins) total += c;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let b = 0; b < bins.length; b++) {
    seen += bins[b]!;
    if (seen >= rank) return middleOf(b);
  }
  return middleOf(bins.length - 1);
}

export interface SeriesView {
  /** Seconds per point. */
  step: number;
  /** UNIX seconds of the first point. */
  start: number;
  /** Per kind, one count per point. */
  counts: Record<SeriesKind, number[]>;
  /** Runtime quantiles in seconds per point (null where no task finished). */
  p50: (number | null)[];
  p95: (number | null)[];
}

export class TaskSeries {
  private readonly fine = new Ring(1, 600);
  private readonly coarse = new Ring(60, 1440);

  constructor(private readonly now: () => number = Date.now) {}

  /** Counts one task event (`kind`: 'succeeded'...) at `t` (UNIX seconds), with its runtime when it has one. */
  add(kind: string, t: number, runtime?: number): void {
    const k = SERIES_KINDS.indexOf(kind as SeriesKind);
    if (k < 0 || !Number.isFinite(t)) return;
    const r = typeof runtime === 'number' && Number.isFinite(runtime) && runtime >= 0 ? runtime : undefined;
    this.fine.add(t, k, r);
    this.coarse.add(t, k, r);
  }

  /** The last `range` seconds (at most 24 h): 1 s points up to 10 minutes, 1 min points beyond. */
  view(range: number): SeriesView {
    const ring = range <= this.fine.step * this.fine.length ? this.fine : this.coarse;
    const n = Math.max(1, Math.min(ring.length, Math.ceil(range / ring.step)));
    const last = Math.floor(this.now() / 1000 / ring.step);
    const first = last - n + 1;
    const { counts, p50, p95 } = ring.read(first, n);
    return {
      step: ring.step,
      start: first * ring.step,
      counts: Object.fromEntries(SERIES_KINDS.map((k, i) => [k, counts[i]])) as Record<SeriesKind, number[]>,
      p50,
      p95,
    };
  }
}
