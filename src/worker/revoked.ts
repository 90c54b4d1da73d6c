/**
 * The worker's revoked task ids (Celery's worker_state.revoked): a bounded set whose entries expire, so a
 * long-running worker does not grow without end. A revoked id that arrives is stored REVOKED and never runs.
 */

/** Celery's defaults: REVOKES_MAX 50,000 ids, kept 3 hours (REVOKE_EXPIRES). */
export const REVOKES_MAX = 50_000;
export const REVOKE_EXPIRES_MS = 10_800_000;

export class RevokedSet {
  /** id -> when it was revoked; insertion order is age order. */
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly max = REVOKES_MAX,
    private readonly expires = REVOKE_EXPIRES_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.ids.size;
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.set(id, this.now());
    this.purge();
  }

  has(id: string): boolean {
    if (this.ids.size === 0) return false;
    const at = this.ids.get(id);
    if (at === undefined) return false;
    if (this.now() - at > this.expires) {
      this.ids.delete(id);
      return false;
    }
    return true;
  }

  /** The ids, oldest first (for `inspect revoked`). */
  list(): string[] {
    this.purge();
    return [...this.ids.keys()];
  }

  private purge(): void {
    const limit = this.now() - this.expires;
    for (const [id, at] of this.ids) {
      if (this.ids.size > this.max || at < limit) this.ids.delete(id);
      else break;
    }
  }
}
