/** Exponential back-off with a cap and optional full jitter, for reconnects and retries. */

export interface BackoffOptions {
  /** First delay in milliseconds. */
  base: number;
  /** Largest delay in milliseconds. */
  max: number;
  /** Multiply by a random factor in [0, 1) (full jitter). */
  jitter?: boolean;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
}

/** Delay before attempt number `attempt` (0-based). */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const raw = Math.min(opts.max, opts.base * 2 ** Math.max(0, attempt));
  return opts.jitter ? Math.floor(raw * (opts.random ?? Math.random)()) : raw;
}
