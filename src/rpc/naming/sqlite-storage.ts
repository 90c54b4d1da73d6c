/**
 * Name registrations in a SQLite file, in Pyro4's `sql:` storage layout, so the same file serves
 * `celeriac ns --storage sqlite:FILE` and `python3 -m Pyro4.naming -s sql:FILE`:
 *
 *   pyro_names     (id integer PRIMARY KEY, name nvarchar NOT NULL UNIQUE, uri nvarchar NOT NULL)
 *   pyro_metadata  (object integer NOT NULL -> pyro_names.id, metadata nvarchar NOT NULL)   one row per tag
 *
 * Opened through util/sqlite.ts (WAL, busy timeout), so several processes may share the file.
 */
import { immediate, openDatabase, type Database } from '../../util/sqlite.js';
import { NamingError } from '../../errors.js';
import { MemoryNameStorage, type NameEntry, type NameStorage, type StorageQuery } from './storage.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pyro_names (id integer PRIMARY KEY, name nvarchar NOT NULL UNIQUE, uri nvarchar NOT NULL);
CREATE TABLE IF NOT EXISTS pyro_metadata (object integer NOT NULL, metadata nvarchar NOT NULL, FOREIGN KEY(object) REFERENCES pyro_names(id));
CREATE INDEX IF NOT EXISTS celeriac_pyro_metadata_object ON pyro_metadata(object);
`;

/** Selects name, uri and the metadata as a JSON array, for `rows()`. */
const SELECT = `SELECT n.name AS name, n.uri AS uri,
  (SELECT json_group_array(m.metadata) FROM pyro_metadata m WHERE m.object = n.id) AS meta
  FROM pyro_names n`;

interface Row {
  name: string;
  uri: string;
  meta: string;
}

export class SqliteNameStorage implements NameStorage {
  private readonly db: Database;

  constructor(readonly path: string, busyTimeout = 5_000) {
    if (path === '' || path === ':memory:') throw new NamingError("a SQLite name storage needs a file path (use 'memory' for a volatile store)");
    this.db = openDatabase(path, busyTimeout);
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
  }

  get(name: string): NameEntry | undefined {
    const row = this.db.prepare<[string], Row>(`${SELECT} WHERE n.name = ?`).get(name);
    return row ? toEntry(row) : undefined;
  }

  set(name: string, entry: NameEntry, onlyIfAbsent = false): boolean {
    return immediate(this.db, () => {
      const old = this.db.prepare<[string], { id: number }>('SELECT id FROM pyro_names WHERE name = ?').get(name);
      if (old) {
        if (onlyIfAbsent) return false;
        this.db.prepare('DELETE FROM pyro_metadata WHERE object = ?').run(old.id);
        this.db.prepare('DELETE FROM pyro_names WHERE id = ?').run(old.id);
      }
      const id = Number(this.db.prepare('INSERT INTO pyro_names(name, uri) VALUES (?, ?)').run(name, entry.uri).lastInsertRowid);
      this.insertMetadata(id, entry.metadata);
      return true;
    });
  }

  setMetadata(name: string, metadata: ReadonlySet<string>): boolean {
    return immediate(this.db, () => {
      const row = this.db.prepare<[string], { id: number }>('SELECT id FROM pyro_names WHERE name = ?').get(name);
      if (!row) return false;
      this.db.prepare('DELETE FROM pyro_metadata WHERE object = ?').run(row.id);
      this.insertMetadata(row.id, metadata);
      return true;
    });
  }

  delete(names: readonly string[]): number {
    return immediate(this.db, () => {
      let n = 0;
      const find = this.db.prepare<[string], { id: number }>('SELECT id FROM pyro_names WHERE name = ?');
      const dropMeta = this.db.prepare('DELETE FROM pyro_metadata WHERE object = ?');
      const drop = this.db.prepare('DELETE FROM pyro_names WHERE id = ?');
      for (const name of names) {
        const row = find.get(name);
        if (!row) continue;
        dropMeta.run(row.id);
        drop.run(row.id);
        n++;
      }
      return n;
    });
  }

  count(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM pyro_names').get()?.n ?? 0;
  }

  entries(): Array<[string, NameEntry]> {
    return this.db.prepare<[], Row>(SELECT).all().map((r) => [r.name, toEntry(r)]);
  }

  query(query: StorageQuery): Array<[string, NameEntry]> {
    let rows: Row[];
    if (query.kind === 'prefix') {
      // substr compares exactly (LIKE would fold case and treat % and _ as wildcards).
      rows = this.db.prepare<[number, string], Row>(`${SELECT} WHERE substr(n.name, 1, ?) = ?`).all(query.prefix.length, query.prefix);
    } else {
      const tags = [...new Set(query.tags)];
      const marks = tags.map(() => '?').join(',');
      const sql =
        query.kind === 'metadataAny'
          ? `${SELECT} WHERE n.id IN (SELECT object FROM pyro_metadata WHERE metadata IN (${marks}))`
          : `${SELECT} WHERE n.id IN (SELECT object FROM pyro_metadata WHERE metadata IN (${marks}) GROUP BY object HAVING count(DISTINCT metadata) = ?)`;
      rows = this.db.prepare<unknown[], Row>(sql).all(...tags, ...(query.kind === 'metadataAll' ? [tags.length] : []));
    }
    return rows.map((r) => [r.name, toEntry(r)]);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private insertMetadata(id: number, metadata: ReadonlySet<string>): void {
    const insert = this.db.prepare('INSERT INTO pyro_metadata(object, metadata) VALUES (?, ?)');
    for (const tag of metadata) insert.run(id, tag);
  }
}

function toEntry(row: Row): NameEntry {
  const tags = JSON.parse(row.meta) as unknown[];
  return { uri: row.uri, metadata: new Set(tags.filter((t): t is string => typeof t === 'string')) };
}

/**
 * Opens the storage a spec names: `memory` (the default), `sqlite:PATH` or Pyro4's spelling `sql:PATH`.
 * Throws NamingError for any other spec.
 */
export function openNameStorage(spec = 'memory'): NameStorage {
  if (spec === 'memory') return new MemoryNameStorage();
  const m = /^(sqlite|sql):(.+)$/.exec(spec);
  if (!m?.[2]) throw new NamingError(`unknown name storage '${spec}': use 'memory' or 'sqlite:PATH' (a file; made if missing)`);
  return new SqliteNameStorage(m[2]);
}
