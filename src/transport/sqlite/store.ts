/** The SQLite implementation of the virtual-transport primitives (see ./index.ts for the plug-in header). */
import { hostname } from 'node:os';
import type { Statement } from 'better-sqlite3';
import type { ClaimedMessage, PutItem, StoredDeadLetter, VirtualStore } from '../virtual/store.js';
import type { Binding, ExchangeDeclaration, QueueDeclaration, QueueInfo, TransportCapabilities } from '../types.js';
import { StorageFullError } from '../../errors.js';
import { immediate, isDiskFull, openDatabase, watchDatabase, type Database } from '../../util/sqlite.js';
import { AFTER_MIGRATE, MIGRATE, SCHEMA } from './schema.js';

/** How often (ms) a claimer restores held messages past their timeout and looks for consumers whose process died. */
const REAP_EVERY = 1000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}


/** Most dead letters kept (the newest), as on Redis and RabbitMQ. */
const DEAD_LETTERS_KEPT = 10_000;
export class SqliteStore implements VirtualStore {
  private deadSinceTrim = 0;
  readonly capabilities: TransportCapabilities = {
    name: 'sqlite', fanout: true, topic: true, fanoutPatterns: false, priority: 'higher-first', persistent: true,
    crossProcess: true, visibilityTimeout: true, deadLetter: true, messageTtl: true,
  };
  now: () => number = Date.now;
  private db: Database | undefined;
  private readonly statements = new Map<string, Statement>();
  private readonly listeners = new Set<() => void>();
  private readonly knownOwners = new Set<string>();
  private readonly host = hostname();
  private unwatchFile: (() => void) | undefined;
  private lastReap = 0;

  constructor(
    readonly path: string,
    private readonly options: { busyTimeout: number },
  ) {}

  private get conn(): Database {
    if (!this.db) throw new Error('sqlite store used before open()');
    return this.db;
  }

  open(): void {
    const db = openDatabase(this.path, this.options.busyTimeout);
    immediate(db, () => {
      db.exec(SCHEMA);
      for (const [table, column, definition] of MIGRATE) {
        const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
        if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      }
      db.exec(AFTER_MIGRATE);
    });
    this.db = db;
  }

  close(): void {
    this.unwatchFile?.();
    this.unwatchFile = undefined;
    this.statements.clear();
    if (this.db) {
      const db = this.db;
      if (this.knownOwners.size) {
        const del = db.prepare('DELETE FROM celeriac_owners WHERE owner = ?');
        for (const o of this.knownOwners) del.run(o);
        this.knownOwners.clear();
      }
      this.db = undefined;
      db.close();
    }
  }

  declareExchange(e: ExchangeDeclaration): void {
    this.full('declare an exchange', () => {
      this.stmt('INSERT OR REPLACE INTO celeriac_exchanges (name, type, declaration) VALUES (?, ?, ?)').run(e.name, e.type, JSON.stringify(e));
    });
  }

  getExchange(name: string): ExchangeDeclaration | undefined {
    const row = this.stmt('SELECT declaration FROM celeriac_exchanges WHERE name = ?').get(name) as { declaration: string } | undefined;
    return row ? (JSON.parse(row.declaration) as ExchangeDeclaration) : undefined;
  }

  deleteExchange(name: string): void {
    this.full('delete an exchange', () => {
      immediate(this.conn, () => {
        this.stmt('DELETE FROM celeriac_bindings WHERE exchange = ?').run(name);
        this.stmt('DELETE FROM celeriac_exchanges WHERE name = ?').run(name);
      });
    });
  }

  declareQueue(q: QueueDeclaration): void {
    this.full('declare a queue', () => {
      this.stmt('INSERT OR REPLACE INTO celeriac_queues (name, declaration) VALUES (?, ?)').run(q.name, JSON.stringify(q));
      if (q.expires && q.expires > 0) this.stmt('INSERT OR REPLACE INTO celeriac_queue_expiry (name, expires, used_at) VALUES (?, ?, ?)').run(q.name, q.expires, this.now());
    });
  }

  touchQueues(names: readonly string[], at: number): string[] {
    return this.full('touch expiring queues', () => {
      const touch = this.stmt('UPDATE celeriac_queue_expiry SET used_at = ? WHERE name = ?');
      return immediate(this.conn, () => names.filter((n) => touch.run(at, n).changes === 0));
    });
  }

  sweepExpired(now: number): string[] {
    const stale = (this.stmt('SELECT name FROM celeriac_queue_expiry WHERE used_at + expires < ?').all(now) as { name: string }[]).map((r) => r.name);
    for (const name of stale) this.deleteQueue(name);
    return stale;
  }

  deleteQueue(name: string): void {
    this.full('delete a queue', () => {
      const db = this.conn;
      immediate(db, () => {
        this.stmt('DELETE FROM celeriac_messages WHERE queue = ?').run(name);
        this.stmt('DELETE FROM celeriac_bindings WHERE queue = ?').run(name);
        this.stmt('DELETE FROM celeriac_queues WHERE name = ?').run(name);
        this.stmt('DELETE FROM celeriac_queue_expiry WHERE name = ?').run(name);
      });
    });
  }

  addBinding(b: Binding): void {
    this.full('bind a queue', () => {
      this.stmt('INSERT OR IGNORE INTO celeriac_bindings (exchange, queue, routing_key) VALUES (?, ?, ?)').run(b.exchange, b.queue, b.routingKey);
    });
  }

  bindings(exchange: string): Binding[] {
    const rows = this.stmt('SELECT queue, routing_key FROM celeriac_bindings WHERE exchange = ? ORDER BY rowid').all(exchange) as { queue: string; routing_key: string }[];
    return rows.map((r) => ({ exchange, queue: r.queue, routingKey: r.routing_key }));
  }

  put(items: readonly PutItem[]): void {
    this.full('store the message', () => {
      const db = this.conn;
      // The deadline is the earlier of the message's own and the queue's messageTtl (x-message-ttl), if any.
      const insert = this.stmt(
        `INSERT INTO celeriac_messages (queue, priority, tag, envelope, visible_at, expires_at) VALUES (@queue, @priority, @tag, @envelope, @now,
           (SELECT CASE WHEN t.ttl IS NULL THEN @expires WHEN @expires IS NULL THEN @now + t.ttl ELSE min(@expires, @now + t.ttl) END
              FROM (SELECT (SELECT json_extract(declaration, '$.messageTtl') FROM celeriac_queues WHERE name = @queue) AS ttl) t))`,
      );
      const now = this.now();
      const row = (i: PutItem): Record<string, unknown> => ({ queue: i.queue, priority: i.priority, tag: i.tag, envelope: i.envelope, now, expires: i.expiresAt ?? null });
      if (items.length === 1) insert.run(row(items[0] as PutItem));
      else {
        immediate(db, () => {
          for (const i of items) insert.run(row(i));
        });
      }
      for (const l of this.listeners) l();
    });
  }

  /**
   * Runs a write; SQLite's "database or disk is full" becomes a StorageFullError that says what to do. The
   * write was refused whole (a statement or transaction is atomic), so nothing stored before is lost.
   * Before giving up, the WAL is checkpointed and truncated once and the write tried again: on a small disk
   * the WAL itself may hold most of the space (it is reset only at 1000 pages, 4 MiB, which it never reaches
   * when the disk is smaller), and a truncating checkpoint gives back all but the live pages.
   */
  private full<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      try {
        this.conn.pragma('wal_checkpoint(TRUNCATE)');
        return fn();
      } catch (again) {
        if (!isDiskFull(again)) throw again;
      }
      throw new StorageFullError(
        `the SQLite broker cannot ${what}: the disk holding '${this.path}' is full (SQLITE_FULL). Messages already ` +
          `stored are kept. Free space on that file system (or move the broker file there with a larger one, ` +
          `sqlite://PATH), then send again; the call that failed can simply be retried.`,
        { cause: err },
      );
    }
  }

  /** A prepared statement, compiled once per connection. */
  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.conn.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Takes up to `max` ready messages. Candidates are read first, per queue through the ready index and
   * without the write lock (an empty queue costs no write); then one write transaction takes those still
   * free (`owner IS NULL`), so each message goes to exactly one consumer.
   */
  claim(queues: readonly string[], max: number, owner: string, visibleAt: number): ClaimedMessage[] {
    return this.full('take messages for a consumer', () => {
      if (queues.length === 0 || max <= 0) return [];
      const now = this.now();
      if (!this.knownOwners.has(owner)) this.registerOwner(owner, now);
      if (now - this.lastReap >= REAP_EVERY) {
        this.lastReap = now;
        this.restoreExpired(now);
        this.reapDeadOwners(now);
        this.dropExpired(now);
        this.checkpoint();
      }
      // Expired messages (message TTL) are never taken; the sweep above deletes them.
      const next = this.stmt('SELECT id, priority FROM celeriac_messages WHERE queue = ? AND owner IS NULL AND (expires_at IS NULL OR expires_at >= ?) ORDER BY priority DESC, id LIMIT ?');
      let candidates: { id: number; priority: number }[] = [];
      for (const queue of queues) candidates.push(...(next.all(queue, now, max) as { id: number; priority: number }[]));
      if (candidates.length === 0) return [];
      if (queues.length > 1) candidates = candidates.sort((a, b) => b.priority - a.priority || a.id - b.id).slice(0, max);
      const take = this.stmt('UPDATE celeriac_messages SET owner = ?, visible_at = ? WHERE id = ? AND owner IS NULL RETURNING tag, queue, envelope, redelivered');
      return immediate(this.conn, () => {
        const out: ClaimedMessage[] = [];
        for (const c of candidates) {
          const row = take.get(owner, visibleAt, c.id) as { tag: string; queue: string; envelope: string; redelivered: number } | undefined;
          if (row) out.push({ tag: row.tag, queue: row.queue, envelope: row.envelope, redelivered: row.redelivered === 1 });
        }
        return out;
      });
    });
  }

  private registerOwner(owner: string, now: number): void {
    this.stmt('INSERT OR REPLACE INTO celeriac_owners (owner, host, pid, seen_at) VALUES (?, ?, ?, ?)').run(owner, this.host, process.pid, now);
    this.knownOwners.add(owner);
  }

  /**
   * Copies the WAL into the database without waiting for anyone (PASSIVE), so the next write can start the
   * WAL over. SQLite does so itself only at 1000 pages (4 MiB): on a disk with less room than that, the WAL
   * alone would fill it and never be reset. Best effort: a busy or full disk leaves it for the next round.
   */
  private checkpoint(): void {
    try {
      this.conn.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Tried again next round; the write that needs the room reports a full disk itself.
    }
  }

  /** Deletes ready messages whose TTL ran out (held ones are the consumer's until settled or handed back). */
  private dropExpired(now: number): void {
    this.stmt('DELETE FROM celeriac_messages WHERE expires_at < ? AND owner IS NULL').run(now);
  }

  /** Makes held messages whose visibility timeout ran out ready again, marked redelivered. */
  private restoreExpired(now: number): void {
    const restored = this.stmt('UPDATE celeriac_messages SET owner = NULL, visible_at = ?, redelivered = 1 WHERE owner IS NOT NULL AND visible_at <= ?').run(now, now);
    if (restored.changes) for (const l of this.listeners) l();
  }

  /** Hands back the messages of consumers whose process on this host no longer exists. */
  private reapDeadOwners(now: number): void {
    const db = this.conn;
    const owners = this.stmt('SELECT owner, pid FROM celeriac_owners WHERE host = ?').all(this.host) as { owner: string; pid: number }[];
    const dead = owners.filter((o) => o.pid !== process.pid && !pidAlive(o.pid));
    if (dead.length === 0) return;
    immediate(db, () => {
      for (const o of dead) {
        this.stmt('UPDATE celeriac_messages SET owner = NULL, visible_at = ?, redelivered = 1 WHERE owner = ?').run(now, o.owner);
        this.stmt('DELETE FROM celeriac_owners WHERE owner = ?').run(o.owner);
      }
    });
  }

  extend(tags: readonly string[], visibleAt: number): void {
    this.full('extend held messages', () => {
      const db = this.conn;
      const stmt = this.stmt('UPDATE celeriac_messages SET visible_at = ? WHERE tag = ? AND owner IS NOT NULL');
      immediate(db, () => {
        for (const t of tags) stmt.run(visibleAt, t);
      });
    });
  }

  ack(tags: readonly string[], owner: string): void {
    this.full('ack messages', () => {
      const db = this.conn;
      const stmt = this.stmt('DELETE FROM celeriac_messages WHERE tag = ? AND owner = ?');
      if (tags.length === 1) stmt.run(tags[0], owner);
      else immediate(db, () => {
        for (const t of tags) stmt.run(t, owner);
      });
    });
  }

  requeue(tags: readonly string[], owner: string): void {
    this.full('requeue messages', () => {
      if (tags.length === 0) return;
      const db = this.conn;
      const stmt = this.stmt('UPDATE celeriac_messages SET owner = NULL, visible_at = ?, redelivered = 1 WHERE tag = ? AND owner = ?');
      const now = this.now();
      immediate(db, () => {
        for (const t of tags) stmt.run(now, t, owner);
      });
      for (const l of this.listeners) l();
    });
  }

  deadLetter(tag: string, reason: string, at: number, owner: string): void {
    this.full('dead-letter a message', () => {
      const db = this.conn;
      immediate(db, () => {
        const moved = this.stmt(
          'INSERT OR REPLACE INTO celeriac_dead_letters (id, queue, reason, at, envelope) SELECT tag, queue, ?, ?, envelope FROM celeriac_messages WHERE tag = ? AND owner = ?',
        ).run(reason, at, tag, owner);
        if (moved.changes) this.stmt('DELETE FROM celeriac_messages WHERE tag = ? AND owner = ?').run(tag, owner);
        // The newest DEAD_LETTERS_KEPT are kept (a flood of bad messages must not fill the disk); trimmed now and then.
        if (moved.changes && ++this.deadSinceTrim >= 256) {
          this.deadSinceTrim = 0;
          this.stmt('DELETE FROM celeriac_dead_letters WHERE rowid IN (SELECT rowid FROM celeriac_dead_letters ORDER BY at DESC, rowid DESC LIMIT -1 OFFSET ?)').run(DEAD_LETTERS_KEPT);
        }
      });
    });
  }

  release(owner: string): void {
    this.full('hand back held messages', () => {
      const db = this.conn;
      immediate(db, () => {
        this.stmt('UPDATE celeriac_messages SET owner = NULL, visible_at = ?, redelivered = 1 WHERE owner = ?').run(this.now(), owner);
        this.stmt('DELETE FROM celeriac_owners WHERE owner = ?').run(owner);
      });
      this.knownOwners.delete(owner);
      for (const l of this.listeners) l();
    });
  }

  /** Removes every ready message; counts those not expired (the expired ones were gone already). */
  purge(queue: string): number {
    return this.full('purge a queue', () => {
      return immediate(this.conn, () => {
        const live = this.stmt('DELETE FROM celeriac_messages WHERE queue = ? AND owner IS NULL AND (expires_at IS NULL OR expires_at >= ?)').run(queue, this.now()).changes;
        this.stmt('DELETE FROM celeriac_messages WHERE queue = ? AND owner IS NULL').run(queue);
        return live;
      });
    });
  }

  info(queue: string): QueueInfo {
    const row = this.conn
      .prepare('SELECT count(*) FILTER (WHERE owner IS NULL AND (expires_at IS NULL OR expires_at >= ?)) AS ready, count(*) FILTER (WHERE owner IS NOT NULL) AS held FROM celeriac_messages WHERE queue = ?')
      .get(this.now(), queue) as { ready: number; held: number };
    return { name: queue, messages: row.ready, unacked: row.held };
  }

  listQueues(): QueueInfo[] {
    const rows = this.conn
      .prepare(
        `SELECT name, coalesce(ready, 0) AS ready, coalesce(held, 0) AS held FROM
           (SELECT name FROM celeriac_queues UNION SELECT DISTINCT queue FROM celeriac_messages) n
           LEFT JOIN (SELECT queue, count(*) FILTER (WHERE owner IS NULL AND (expires_at IS NULL OR expires_at >= ?)) AS ready,
                             count(*) FILTER (WHERE owner IS NOT NULL) AS held
                        FROM celeriac_messages GROUP BY queue) c ON c.queue = n.name
          ORDER BY name`,
      )
      .all(this.now()) as { name: string; ready: number; held: number }[];
    return rows.map((r) => ({ name: r.name, messages: r.ready, unacked: r.held }));
  }

  deadLetters(limit: number): StoredDeadLetter[] {
    return this.stmt('SELECT id, queue, reason, at, envelope FROM celeriac_dead_letters ORDER BY at DESC LIMIT ?').all(limit) as StoredDeadLetter[];
  }

  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    if (!this.unwatchFile) {
      this.unwatchFile = watchDatabase(this.path, () => {
        for (const l of this.listeners) l();
      });
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.unwatchFile?.();
        this.unwatchFile = undefined;
      }
    };
  }
}
