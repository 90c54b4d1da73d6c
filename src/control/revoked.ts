/**
 * The revoked ids a worker remembers, as Celery's LimitedSet: at most `maxlen` ids (oldest dropped
 * first), each forgotten `expires` ms after it was added (Celery: 50 000 ids, 3 hours).
 */
import type { RevokedSet } from './types.js';

export const REVOKES_MAX = 50_000;
export const REVOKE_EXPIRES_MS = 10_800_000;

export class LimitedRevokedSet implements RevokedSet {
  /** id -> ms since epoch when added; Map keeps insertion order, so the first entry is the oldest. */
  private readonly added = new Map<string, number>();

  constructor(
    private readonly options: { maxlen?: number; expires?: number; now?: () => number; onChange?: () => void } = {},
  ) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  add(ids: readonly string[], at = this.now): void {
    for (const id of ids) {
      if (typeof id !== 'string' || !id) continue;
      this.added.delete(id);
      this.added.set(id, at);
    }
    this.purge();
    this.options.onChange?.();
  }

  has(id: string): boolean {
    const at = this.added.get(id);
    if (at === undefined) return false;
    if (this.now - at > (this.options.expires ?? REVOKE_EXPIRES_MS)) {
      this.added.delete(id);
      return false;
    }
    return true;
  }

  ids(): string[] {
    this.purge();
    return [...this.added.keys()];
  }

  /** `[id, added-at ms]` pairs, oldest first (what --statedb saves). */
  entries(): [string, number][] {
    this.purge();
    return [...this.added.entries()];
  }

  private purge(): void {
    const maxlen = this.options.maxlen ?? REVOKES_MAX;
    const oldest = this.now - (this.options.expires ?? REVOKE_EXPIRES_MS);
    for (const [id, at] of this.added) {
      if (this.added.size > maxlen || at < oldest) this.added.delete(id);
      else break;
    }
  }
}
