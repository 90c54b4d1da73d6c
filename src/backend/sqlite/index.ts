/**
 * sqlite:// result backend: Celery's result meta in a table of the same SQLite file the broker uses (or
 * another), readable by every process on the machine.
 *
 * Connection string: `sqlite://PATH`, `sqlite:///abs/path.db`, `sqlite://:memory:`.
 * Options: `resultExpires` (seconds, default 1 day; expired rows are swept every minute by writers),
 * `pollInterval` / `poll_interval` (fallback check of awaited results, ms, default 1000),
 * `busyTimeout` (ms, default 10 000). Waiters wake on the file's change within a millisecond or so.
 */
import type { Statement } from 'better-sqlite3';
import { immediate, openDatabase, watchDatabase, type Database } from '../../util/sqlite.js';
import { urlPath, urlQuery } from '../../util/url.js';
import { CHANGE_PAGE, KeyValueBackend, type KeyValueStore, type Update } from '../kv.js';
import type { BackendFactory } from '../types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS celeriac_results (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- grows with every write: the change feed's cursor
  key        TEXT NOT NULL UNIQUE,
  value      TEXT NOT NULL,
  expires_at INTEGER                             -- ms since epoch, NULL = never
);
CREATE INDEX IF NOT EXISTS celeriac_results_expiry ON celeriac_results (expires_at) WHERE expires_at IS NOT NULL;
`;

const SWEEP_EVERY = 60_000;

class SqliteKeyValueStore implements KeyValueStore {
  private db: Database | undefined;
  private readonly statements = new Map<string, Statement>();
  private lastSweep = 0;
  /** Listeners told at once about this connection's own writes; other processes arrive via the file watch. */
  private readonly listeners = new Set<(key?: string) => void>();

  constructor(
    private readonly path: string,
    private readonly busyTimeout: number,
  ) {}

  private stmt(sql: string): Statement {
    if (!this.db) throw new Error('sqlite result store used before open()');
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  open(): void {
    const db = openDatabase(this.path, this.busyTimeout);
    immediate(db, () => db.exec(SCHEMA));
    this.db = db;
  }

  close(): void {
    this.statements.clear();
    this.db?.close();
    this.db = undefined;
  }

  get(key: string): string | undefined {
    const row = this.stmt('SELECT value FROM celeriac_results WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)').get(key, Date.now()) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  mget(keys: readonly string[]): (string | undefined)[] {
    return keys.map((k) => this.get(k));
  }

  update(key: string, fn: (current: string | undefined) => string | undefined, ttlMs: number): void {
    this.updateMany([{ key, fn, ttlMs }]);
  }

  /** Every update in one write transaction: a worker's results of one tick cost one commit. */
  updateMany(items: readonly Update[]): void {
    const now = Date.now();
    const db = this.db;
    if (!db) throw new Error('sqlite result store used before open()');
    const write = this.stmt('INSERT OR REPLACE INTO celeriac_results (key, value, expires_at) VALUES (?, ?, ?)');
    const written = immediate(db, () =>
      items.filter(({ key, fn, ttlMs }) => {
        const next = fn(this.get(key));
        if (next === undefined) return false;
        write.run(key, next, ttlMs > 0 ? now + ttlMs : null);
        return true;
      }),
    );
    for (const { key } of written) for (const l of this.listeners) l(key);
    if (now - this.lastSweep > SWEEP_EVERY) {
      this.lastSweep = now;
      this.stmt('DELETE FROM celeriac_results WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now);
    }
  }

  changes(cursor: number | undefined): { cursor: number; entries: [string, string][] } {
    if (cursor === undefined) {
      const row = this.stmt('SELECT coalesce(max(seq), 0) AS seq FROM celeriac_results').get() as { seq: number };
      return { cursor: row.seq, entries: [] };
    }
    const rows = this.stmt('SELECT seq, key, value FROM celeriac_results WHERE seq > ? ORDER BY seq LIMIT ?').all(cursor, CHANGE_PAGE) as { seq: number; key: string; value: string }[];
    const last = rows.at(-1);
    return { cursor: last ? last.seq : cursor, entries: rows.map((r) => [r.key, r.value]) };
  }

  delete(key: string): void {
    this.stmt('DELETE FROM celeriac_results WHERE key = ?').run(key);
  }

  watch(listener: (key?: string) => void): () => void {
    this.listeners.add(listener);
    const unwatchFile = watchDatabase(this.path, () => listener());
    return () => {
      this.listeners.delete(listener);
      unwatchFile();
    };
  }
}

export const createBackend: BackendFactory = (url, options) => {
  const query = urlQuery(url);
  const poll = Number(options['pollInterval'] ?? query['poll_interval'] ?? 1000);
  const busy = Number(options['busyTimeout'] ?? query['busy_timeout'] ?? 10_000);
  return new KeyValueBackend(url, new SqliteKeyValueStore(urlPath(url) || './celeriac.db', busy), {
    resultExpires: options.resultExpires ?? 86_400,
    pollInterval: Number.isFinite(poll) && poll > 0 ? poll : 1000,
  });
};
