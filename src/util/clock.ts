/** An injectable clock, so time-dependent code can be tested without real waiting. */

export interface Clock {
  /** Milliseconds since the UNIX epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
