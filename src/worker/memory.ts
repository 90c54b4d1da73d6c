/**
 * The worker's memory diagnostics (Celery's `memsample` / `memdump`): a bounded buffer of RSS and heap samples,
 * taken on each `memsample` and, while sampling is on, on a timer; `dump()` prints them as Celery's memdump does.
 */

export interface MemSample {
  /** ms since the epoch. */
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** Most samples kept: the oldest go first. */
export const MAX_SAMPLES = 1000;

/** Celery's humanbytes: 1024-based units, 5 significant digits ('51.234MB', '512b'). */
export function humanBytes(n: number): string {
  const units: [number, string][] = [[2 ** 40, 'TB'], [2 ** 30, 'GB'], [2 ** 20, 'MB'], [2 ** 10, 'KB'], [0, 'b']];
  const [div, unit] = units.find(([d]) => n >= d) ?? [0, 'b'];
  const f = div ? n / div : n;
  return `${Number.isInteger(f) ? String(f) : String(Number(f.toPrecision(5)))}${unit}`;
}

/** Celery's debug.sample: `n` items spread evenly over the list (all of it when it is short). */
export function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const step = Math.floor(items.length / n);
  return Array.from({ length: n }, (_, i) => items[i * step] as T);
}

function measure(): MemSample {
  const m = process.memoryUsage();
  return { at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
}

export class MemorySampler {
  private samples: MemSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private left = 0;

  constructor(private readonly now: () => MemSample = measure) {}

  /** Takes a sample now; returns it. */
  sample(): MemSample {
    const s = this.now();
    this.samples.push(s);
    if (this.samples.length > MAX_SAMPLES) this.samples.splice(0, this.samples.length - MAX_SAMPLES);
    return s;
  }

  /** Samples every `seconds` until `count` more samples are taken (a new call replaces the timer); 0 stops. */
  every(seconds: number, count: number): void {
    this.stop();
    if (!(seconds > 0) || !(count > 0)) return;
    this.left = Math.min(Math.trunc(count), MAX_SAMPLES);
    this.timer = setInterval(() => {
      this.sample();
      if (--this.left <= 0) this.stop();
    }, seconds * 1000);
    // Sampling never keeps a stopping worker alive.
    this.timer.unref();
  }

  /** Whether the timer runs, and how many samples it still takes. */
  get active(): { every: boolean; left: number } {
    return { every: this.timer !== undefined, left: this.timer ? this.left : 0 };
  }

  get size(): number {
    return this.samples.length;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.left = 0;
  }

  /**
   * Celery's memdump text: up to `n` of the samples so far (spread evenly), which are then cleared, and the
   * memory now; the heap beside RSS. Node's garbage collector is not forced (Python's gc.collect() is).
   */
  dump(n = 10): string {
    const picked = spread(this.samples, Math.max(1, Math.trunc(n)));
    this.samples = [];
    const end = this.now();
    const out: string[] = [];
    if (picked.length) {
      out.push('- rss (sample):', ...picked.map((s) => `-    > ${humanBytes(s.rss)},`));
      out.push('- heap used (sample):', ...picked.map((s) => `-    > ${humanBytes(s.heapUsed)},`));
    }
    out.push(`- rss (end): ${humanBytes(end.rss)}.`, `- heap used (end): ${humanBytes(end.heapUsed)}.`);
    return `${out.join('\n')}\n`;
  }
}
