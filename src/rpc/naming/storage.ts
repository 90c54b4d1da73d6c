/**
 * Where a name server keeps its registrations (name -> URI + a set of metadata strings): the storage
 * interface and the in-memory storage. `sqlite-storage.ts` keeps them in a file (Pyro4's `sql:` layout).
 * Storages are synchronous, so a check-and-set (safe register) needs no lock in one process.
 */

/** One registration. */
export interface NameEntry {
  uri: string;
  metadata: ReadonlySet<string>;
}

/** A filter a storage may answer faster than a scan (SQL); `undefined` from `query` means "scan". */
export type StorageQuery =
  | { kind: 'prefix'; prefix: string }
  | { kind: 'metadataAll'; tags: readonly string[] }
  | { kind: 'metadataAny'; tags: readonly string[] };

export interface NameStorage {
  get(name: string): NameEntry | undefined;
  /** Stores an entry; with `onlyIfAbsent`, stores nothing when the name exists and returns false. */
  set(name: string, entry: NameEntry, onlyIfAbsent?: boolean): boolean;
  /** Replaces the metadata of an existing name; false when the name is unknown. */
  setMetadata(name: string, metadata: ReadonlySet<string>): boolean;
  /** Deletes these names; returns how many existed. */
  delete(names: readonly string[]): number;
  count(): number;
  /** Every registration (a snapshot: the caller may delete while iterating). */
  entries(): Array<[string, NameEntry]>;
  /** The registrations matching a filter, or undefined when this storage has no faster way than `entries()`. */
  query?(query: StorageQuery): Array<[string, NameEntry]> | undefined;
  close(): void;
}

/** Registrations in a Map: gone when the process stops. */
export class MemoryNameStorage implements NameStorage {
  private readonly names = new Map<string, NameEntry>();

  get(name: string): NameEntry | undefined {
    return this.names.get(name);
  }

  set(name: string, entry: NameEntry, onlyIfAbsent = false): boolean {
    if (onlyIfAbsent && this.names.has(name)) return false;
    this.names.set(name, { uri: entry.uri, metadata: new Set(entry.metadata) });
    return true;
  }

  setMetadata(name: string, metadata: ReadonlySet<string>): boolean {
    const entry = this.names.get(name);
    if (!entry) return false;
    this.names.set(name, { uri: entry.uri, metadata: new Set(metadata) });
    return true;
  }

  delete(names: readonly string[]): number {
    let n = 0;
    for (const name of names) if (this.names.delete(name)) n++;
    return n;
  }

  count(): number {
    return this.names.size;
  }

  entries(): Array<[string, NameEntry]> {
    return [...this.names.entries()];
  }

  close(): void {
    // Nothing to release.
  }
}
