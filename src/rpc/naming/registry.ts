/**
 * The name server's registry with Pyro4's NameServer semantics (name -> URI + metadata tags), over any
 * NameStorage. Arguments are checked at run time as Pyro4 checks them (they arrive from remote callers).
 * `server.ts` exposes it as the remote object 'Pyro.NameServer' with Pyro4's method names and shapes.
 */
import { NamingError } from '../../errors.js';
import { NAMESERVER_NAME, PyroURI } from '../objects/uri.js';
import { MemoryNameStorage, type NameEntry, type NameStorage, type StorageQuery } from './storage.js';

/** The name server's own entry (Pyro4's constants.NAMESERVER_NAME) is never removed. */
export { NAMESERVER_NAME };

/** One registration as the registry hands it out: metadata as a sorted list. */
export interface Registration {
  uri: string;
  metadata: string[];
}

/** One filter at a time (Pyro4 refuses two): a name prefix, a regex matched at the start of the name, or metadata tags. */
export interface ListFilter {
  prefix?: string | null;
  regex?: string | null;
  /** Names whose tags include all of these. */
  metadataAll?: Iterable<string> | null;
  /** Names with at least one of these tags. */
  metadataAny?: Iterable<string> | null;
}

export interface RemoveSpec {
  name?: string | null;
  prefix?: string | null;
  regex?: string | null;
}

export interface RegisterOptions {
  /** Refuse (NamingError) when the name is already registered. */
  safe?: boolean;
  metadata?: Iterable<string> | null;
}

export class NameRegistry {
  constructor(readonly storage: NameStorage = new MemoryNameStorage()) {}

  /** Registers (or replaces) a name. */
  register(name: string, uri: string, options: RegisterOptions = {}): void {
    checkName(name);
    if (typeof uri !== 'string') throw new TypeError('only URIs or strings can be registered');
    checkUri(uri);
    const metadata = tagSet(options.metadata, 'metadata');
    if (!this.storage.set(name, { uri, metadata }, options.safe === true)) throw new NamingError(`name already registered: ${name}`);
  }

  /** The registration of a name; NamingError when unknown. */
  lookup(name: string): Registration {
    checkName(name);
    const entry = this.storage.get(name);
    if (!entry) throw new NamingError(`unknown name: ${name}`);
    return view(entry);
  }

  /** Replaces the metadata of a registered name (empty or null clears it). */
  setMetadata(name: string, metadata: Iterable<string> | null): void {
    checkName(name);
    if (!this.storage.setMetadata(name, tagSet(metadata, 'metadata'))) throw new NamingError(`unknown name: ${name}`);
  }

  /**
   * Removes one name, or every name with a prefix or matching a regex; returns how many. As in Pyro4, a
   * name that is not registered falls through to the prefix and regex; the name server's own entry stays.
   */
  remove(spec: RemoveSpec): number {
    const { name, prefix, regex } = spec;
    if (name && name !== NAMESERVER_NAME && this.storage.get(name)) return this.storage.delete([name]);
    const filter: ListFilter | undefined = prefix ? { prefix } : regex ? { regex } : undefined;
    if (!filter) return 0;
    const names = Object.keys(this.list(filter)).filter((n) => n !== NAMESERVER_NAME);
    return this.storage.delete(names);
  }

  /** The registrations matching one filter (or all), sorted by name. */
  list(filter: ListFilter = {}): Record<string, Registration> {
    const given = [filter.prefix, filter.regex, filter.metadataAll, filter.metadataAny].filter((x) => x !== undefined && x !== null);
    if (given.length > 1) throw new RangeError('you can only filter on one thing at a time');
    let found: Array<[string, NameEntry]>;
    if (filter.prefix) {
      const prefix = filter.prefix;
      if (typeof prefix !== 'string') throw new TypeError('prefix must be a str');
      found = this.query({ kind: 'prefix', prefix }, ([n]) => n.startsWith(prefix));
    } else if (filter.regex) {
      const re = compileRegex(filter.regex);
      found = this.storage.entries().filter(([n]) => re.test(n));
    } else if (filter.metadataAll && !isEmpty(filter.metadataAll)) {
      const tags = [...tagSet(filter.metadataAll, 'metadata_all')];
      found = this.query({ kind: 'metadataAll', tags }, ([, e]) => tags.every((t) => e.metadata.has(t)));
    } else if (filter.metadataAny && !isEmpty(filter.metadataAny)) {
      const tags = [...tagSet(filter.metadataAny, 'metadata_any')];
      found = this.query({ kind: 'metadataAny', tags }, ([, e]) => tags.some((t) => e.metadata.has(t)));
    } else {
      found = this.storage.entries();
    }
    found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const out: Record<string, Registration> = {};
    for (const [n, e] of found) out[n] = view(e);
    return out;
  }

  count(): number {
    return this.storage.count();
  }

  /** Does nothing: a remote caller uses it to check that the name server answers. */
  ping(): void {
    // Pyro4's ping returns None.
  }

  close(): void {
    this.storage.close();
  }

  private query(q: StorageQuery, match: (e: [string, NameEntry]) => boolean): Array<[string, NameEntry]> {
    return this.storage.query?.(q) ?? this.storage.entries().filter(match);
  }
}

function view(entry: NameEntry): Registration {
  return { uri: entry.uri, metadata: [...entry.metadata].sort() };
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new TypeError('name must be a str');
}

/** Refuses what Pyro4's URI class refuses (PYRO:objectid@host:port, PYRONAME:name[@host:port], PYROMETA:tags[@...]). */
function checkUri(uri: string): void {
  try {
    new PyroURI(uri);
  } catch (err) {
    throw new NamingError(`cannot register ${JSON.stringify(uri)}: ${(err as Error).message}`);
  }
}

/** A set of tags from a list, a set or null; a bare string is refused as Pyro4 refuses it. */
function tagSet(tags: Iterable<string> | null | undefined, what: string): Set<string> {
  if (tags === null || tags === undefined) return new Set();
  if (typeof tags === 'string') throw new TypeError(`${what} should not be a str, but another iterable (set, list, etc)`);
  if (typeof (tags as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') throw new TypeError(`${what} must be an iterable of str`);
  const out = new Set<string>();
  for (const t of tags) {
    if (typeof t !== 'string') throw new TypeError(`${what} must contain only str, got ${typeof t}`);
    out.add(t);
  }
  return out;
}

function isEmpty(tags: Iterable<string>): boolean {
  if (typeof tags === 'string') return false; // refused later, by tagSet
  for (const _ of tags) return false;
  return true;
}

/**
 * A Python regex as JavaScript runs it, anchored at the start like `re.match`: named groups `(?P<n>...)`
 * and back references `(?P=n)` translated, `\A`/`\Z` as `^`/`$`. NamingError when it does not compile.
 */
export function compileRegex(regex: string): RegExp {
  if (typeof regex !== 'string') throw new TypeError('regex must be a str');
  const js = regex.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>').replace(/\\A/g, '^').replace(/\\Z/g, '$');
  try {
    return new RegExp(`^(?:${js})`);
  } catch (err) {
    throw new NamingError(`invalid regex: ${(err as Error).message}`);
  }
}
