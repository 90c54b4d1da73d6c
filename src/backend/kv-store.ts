/** The primitives a key-value result store provides (memory, SQLite): what KeyValueBackend builds Celery's result semantics on. */
export type MaybePromise<T> = T | Promise<T>;

/** The primitives a store provides. `update` must be atomic (read, decide, write). */
export interface KeyValueStore {
  open(): MaybePromise<void>;
  close(): MaybePromise<void>;
  get(key: string): MaybePromise<string | undefined>;
  mget(keys: readonly string[]): MaybePromise<(string | undefined)[]>;
  /** Atomically replaces the value with `fn(current)`; `undefined` leaves it as is. ttlMs 0 = no expiry. */
  update(key: string, fn: (current: string | undefined) => string | undefined, ttlMs: number): MaybePromise<void>;
  /** Optional: several updates in one round trip / transaction, each atomic as `update` is. */
  updateMany?(items: readonly Update[]): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
  /**
   * Calls `listener` with a changed key, or with no key when "something may have changed". A store that
   * has the written value at hand passes it too, which spares the waiters a read.
   */
  watch(listener: (key?: string, value?: string) => void): () => void;
  /**
   * Optional change feed: keys written after `cursor` (undefined = the current end, nothing returned), in
   * write order, with their values. Lets waiters read only what changed instead of every awaited key.
   */
  changes?(cursor: number | undefined): MaybePromise<{ cursor: number; entries: [key: string, value: string][] }>;
}

export interface Update {
  key: string;
  fn: (current: string | undefined) => string | undefined;
  ttlMs: number;
}
