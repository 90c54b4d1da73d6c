/**
 * Beat's leader lease over a key-value store's atomic `update`: one key per lease holding the holder, its
 * expiry and the fields kept with it (the last run of each beat entry), so checking and writing are one step.
 */
import type { LeaseOutcome } from './types.js';

/** The two primitives of kv.ts's KeyValueStore the lease needs (declared here: kv.ts imports this file). */
export interface AtomicStore {
  get(key: string): string | undefined | Promise<string | undefined>;
  /** Atomically replaces the value with `fn(current)`; `undefined` leaves it as is. ttlMs 0 = no expiry. */
  update(key: string, fn: (current: string | undefined) => string | undefined, ttlMs: number): void | Promise<void>;
}

export const LEASE_KEY_PREFIX = 'celeriac-lease-';

interface LeaseRecord {
  holder: string | null;
  /** ms since the epoch; 0 = released. */
  expiresAt: number;
  data: Record<string, string>;
}

function parse(text: string | undefined): LeaseRecord {
  if (text === undefined) return { holder: null, expiresAt: 0, data: {} };
  try {
    const r = JSON.parse(text) as Partial<LeaseRecord>;
    return { holder: r.holder ?? null, expiresAt: Number(r.expiresAt ?? 0), data: r.data ?? {} };
  } catch {
    // A damaged record is treated as free; its data cannot be recovered anyway.
    return { holder: null, expiresAt: 0, data: {} };
  }
}

/** The lease operations of `ResultBackend`, for stores built on kv.ts's `KeyValueStore` (memory, sqlite). */
export class KeyValueLeases {
  constructor(
    private readonly store: AtomicStore,
    private readonly now: () => number = Date.now,
  ) {}

  private key(name: string): string {
    return LEASE_KEY_PREFIX + name;
  }

  /** Runs `decide` on the record inside the store's atomic update; writes what it returns. */
  private async change<T>(name: string, decide: (r: LeaseRecord, now: number) => { next?: LeaseRecord; result: T }): Promise<T> {
    let result: T | undefined;
    let decided = false;
    await this.store.update(
      this.key(name),
      (current) => {
        const out = decide(parse(current), this.now());
        result = out.result;
        decided = true;
        return out.next === undefined ? undefined : JSON.stringify(out.next);
      },
      0,
    );
    if (!decided) throw new Error(`the store did not run the update of lease '${name}'`);
    return result as T;
  }

  acquire(name: string, holder: string, ttlMs: number): Promise<LeaseOutcome> {
    return this.change<LeaseOutcome>(name, (r, now) => {
      const live = r.holder !== null && r.expiresAt > now;
      if (live && r.holder !== holder) return { result: false };
      return { next: { ...r, holder, expiresAt: now + ttlMs }, result: live ? 'renewed' : 'acquired' };
    });
  }

  release(name: string, holder: string): Promise<void> {
    return this.change(name, (r) => (r.holder === holder ? { next: { ...r, holder: null, expiresAt: 0 }, result: undefined } : { result: undefined }));
  }

  async read(name: string): Promise<Record<string, string>> {
    return parse(await this.store.get(this.key(name))).data;
  }

  write(name: string, holder: string, fields: Record<string, string>): Promise<boolean> {
    return this.change(name, (r, now) => {
      if (r.holder !== holder || r.expiresAt <= now) return { result: false };
      return { next: { ...r, data: { ...r.data, ...fields } }, result: true };
    });
  }
}
