/** A Lamport (logical) clock, as Celery's `LamportClock`: control messages and events carry its value as `clock`. */

export class LamportClock {
  constructor(private current = 0) {}

  get value(): number {
    return this.current;
  }

  /** Ticks for a local event (sending a message) and returns the new value. */
  forward(): number {
    return ++this.current;
  }

  /** Merges a value received from another node: max(ours, theirs) + 1. Non-numbers are ignored. */
  adjust(other: unknown): number {
    const n = typeof other === 'number' ? other : typeof other === 'string' ? Number(other) : NaN;
    if (Number.isFinite(n)) this.current = Math.max(this.current, Math.trunc(n)) + 1;
    return this.current;
  }
}
