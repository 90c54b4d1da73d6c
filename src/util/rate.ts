/**
 * Rate limits as Celery writes them ('10/s', '100/m', '5/h', '10' = per second, or a number) and the token
 * bucket that enforces one. Pure apart from the injectable clock.
 */
import { ConfigError } from '../errors.js';

const PER: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Tokens per second for a rate; 0 means no limit (Celery's rate('0')). Throws ConfigError on a bad rate. */
export function parseRate(rate: string | number, what = 'rate limit'): number {
  if (typeof rate === 'number') {
    if (!Number.isFinite(rate) || rate < 0) throw new ConfigError(`${what} ${rate}: give a number of tasks per second >= 0, or a string like '10/s', '100/m', '5/h'`);
    return rate;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh])\s*)?$/.exec(rate);
  if (!m) throw new ConfigError(`${what} '${rate}' is not a rate: write '<tasks>/<s|m|h>' like '10/s', '100/m' or '5/h' (a bare number is per second)`);
  return Number(m[1]) / (PER[m[2] ?? 's'] as number);
}

/**
 * A token bucket (Celery's kombu.utils.limits.TokenBucket): `rate` tokens per second, at most `capacity`
 * saved up. `take()` spends a token if one is there; `wait()` says how long until one is.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    readonly capacity = 1,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (0 when one is). */
  wait(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }
}
