/**
 * Rate limits per task type, per worker (Celery's task rate_limit): a token bucket per limited task name.
 * A request over the limit waits in its task's line (it still counts in the prefetch window, as in Celery)
 * and is released when a token is there; nothing is dropped. Tasks without a limit cost one map lookup.
 */
import { parseRate, TokenBucket } from '../util/rate.js';

interface Line<T> {
  bucket: TokenBucket;
  waiting: T[];
  timer: NodeJS.Timeout | undefined;
}

export class RateLimiter<T extends { task: { id: string } }> {
  private readonly lines = new Map<string, Line<T>>();

  /** `release` gets each request allowed to run. */
  constructor(private readonly release: (item: T) => void) {}

  /** Sets (or with null / 0, removes) a task's limit; waiting requests of a removed limit are released. */
  set(taskName: string, rate: string | number | null): void {
    const perSecond = rate === null ? 0 : parseRate(rate, `rate limit of '${taskName}'`);
    const old = this.lines.get(taskName);
    if (perSecond === 0) {
      this.lines.delete(taskName);
      if (old) {
        clearTimeout(old.timer);
        for (const item of old.waiting.splice(0)) this.release(item);
      }
      return;
    }
    const line: Line<T> = { bucket: new TokenBucket(perSecond, 1), waiting: old?.waiting ?? [], timer: undefined };
    if (old) clearTimeout(old.timer);
    this.lines.set(taskName, line);
    this.pump(taskName, line);
  }

  has(taskName: string): boolean {
    return this.lines.has(taskName);
  }

  /** The rate in tasks per second, or undefined when unlimited. */
  rate(taskName: string): number | undefined {
    return this.lines.get(taskName)?.bucket.rate;
  }

  /** Releases the request now if its task has a token (or no limit); otherwise it waits its turn. */
  admit(taskName: string, item: T): void {
    const line = this.lines.get(taskName);
    if (!line) return this.release(item);
    line.waiting.push(item);
    this.pump(taskName, line);
  }

  private pump(taskName: string, line: Line<T>): void {
    if (line.timer) return;
    while (line.waiting.length > 0 && line.bucket.take()) this.release(line.waiting.shift() as T);
    if (line.waiting.length === 0) return;
    line.timer = setTimeout(() => {
      line.timer = undefined;
      if (this.lines.get(taskName) === line) this.pump(taskName, line);
    }, Math.max(1, line.bucket.wait()));
  }

  /** Takes a waiting request out by task id (revoked); returns it. */
  remove(id: string): T | undefined {
    for (const line of this.lines.values()) {
      const i = line.waiting.findIndex((w) => w.task.id === id);
      if (i >= 0) return line.waiting.splice(i, 1)[0];
    }
    return undefined;
  }

  /** Every waiting request (for `inspect reserved`). */
  waiting(): T[] {
    return [...this.lines.values()].flatMap((l) => l.waiting);
  }

  /** Empties every line and stops the timers; returns the requests (handed back on shutdown). */
  drain(): T[] {
    const out: T[] = [];
    for (const line of this.lines.values()) {
      clearTimeout(line.timer);
      line.timer = undefined;
      out.push(...line.waiting.splice(0));
    }
    return out;
  }
}
