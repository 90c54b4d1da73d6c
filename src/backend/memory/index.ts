/**
 * memory:// result backend: results in this process's memory, for tests and single-process apps.
 * Connection string: `memory://`. Options: `resultExpires` (seconds, default 1 day).
 */
import { KeyValueBackend, type KeyValueStore } from '../kv.js';
import type { BackendFactory } from '../types.js';

/** Exported for tests of code built on KeyValueStore. */
export class MemoryKeyValueStore implements KeyValueStore {
  private readonly values = new Map<string, { value: string; expiresAt: number }>();
  private readonly listeners = new Set<(key?: string, value?: string) => void>();

  open(): void {}
  close(): void {}

  get(key: string): string | undefined {
    const entry = this.values.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt && entry.expiresAt <= Date.now()) {
      this.values.delete(key);
      return undefined;
    }
    return entry.value;
  }

  mget(keys: readonly string[]): (string | undefined)[] {
    return keys.map((k) => this.get(k));
  }

  update(key: string, fn: (current: string | undefined) => string | undefined, ttlMs: number): void {
    const next = fn(this.get(key));
    if (next === undefined) return;
    this.values.set(key, { value: next, expiresAt: ttlMs > 0 ? Date.now() + ttlMs : 0 });
    for (const l of this.listeners) l(key, next);
  }

  delete(key: string): void {
    this.values.delete(key);
  }

  watch(listener: (key?: string, value?: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const createBackend: BackendFactory = (url, options) =>
  // Keyed by the bare task id: nothing else reads this store, and a prefixed key costs a rope flatten per lookup.
  new KeyValueBackend(url, new MemoryKeyValueStore(), { resultExpires: options.resultExpires ?? 86_400, pollInterval: 60_000, taskKeyPrefix: '' });
