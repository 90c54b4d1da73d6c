/**
 * Task history that outlives the dashboard: each task's fields and event timeline in a SQLite file
 * (`celeriac dashboard --history PATH`), written in batches (one transaction per flush, not per event), and
 * kept within a count and an age (the oldest go first). A restarted dashboard reads the newest back.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { ConfigError } from '../index.js';

/** A task as kept: its fields (the cluster state's, `at` included) and its events in order. */
export interface StoredTask {
  uuid: string;
  task: Record<string, unknown> & { uuid: string; state: string };
  /** [event kind ('received', 'started'...), UNIX seconds, worker][] */
  events: TimelineEntry[];
}

export type TimelineEntry = [kind: string, timestamp: number, worker: string | null];

export interface HistoryOptions {
  /** Tasks kept at most (default 100 000). */
  maxTasks?: number;
  /** Seconds a task is kept after its last event (default 7 days; 0 = no age limit). */
  maxAge?: number;
  now?: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS celeriac_dashboard_tasks (
  uuid      TEXT PRIMARY KEY,
  name      TEXT,
  state     TEXT NOT NULL,
  parent_id TEXT,
  updated   REAL NOT NULL,      -- UNIX seconds of the last event seen
  task      TEXT NOT NULL,      -- JSON of the task's fields
  events    TEXT NOT NULL       -- JSON of [kind, timestamp, worker][]
);
CREATE INDEX IF NOT EXISTS celeriac_dashboard_tasks_updated ON celeriac_dashboard_tasks (updated);
CREATE INDEX IF NOT EXISTS celeriac_dashboard_tasks_parent ON celeriac_dashboard_tasks (parent_id) WHERE parent_id IS NOT NULL;
`;

interface Row {
  uuid: string;
  task: string;
  events: string;
}

export class TaskHistory {
  private readonly db: BetterSqlite3.Database;
  private readonly maxTasks: number;
  private readonly maxAge: number;
  private readonly now: () => number;
  private readonly upsert: BetterSqlite3.Statement;
  private readonly writeMany: (tasks: StoredTask[]) => void;

  constructor(readonly path: string, options: HistoryOptions = {}) {
    let Driver: typeof BetterSqlite3;
    try {
      Driver = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    } catch (cause) {
      throw new ConfigError('task history needs the better-sqlite3 package: npm install better-sqlite3', { cause });
    }
    try {
      this.db = new Driver(path, { timeout: 5000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (cause) {
      throw new ConfigError(`cannot open the task history '${path}': ${(cause as Error).message}. Check that the directory exists and is writable.`, { cause });
    }
    this.maxTasks = options.maxTasks ?? 100_000;
    this.maxAge = options.maxAge ?? 7 * 86_400;
    this.now = options.now ?? Date.now;
    this.upsert = this.db.prepare(
      `INSERT INTO celeriac_dashboard_tasks (uuid, name, state, parent_id, updated, task, events) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (uuid) DO UPDATE SET name = excluded.name, state = excluded.state, parent_id = excluded.parent_id,
         updated = excluded.updated, task = excluded.task, events = excluded.events`,
    );
    this.writeMany = this.db.transaction((tasks: StoredTask[]) => {
      for (const t of tasks) {
        const updated = t.events.at(-1)?.[1] ?? (typeof t.task['timestamp'] === 'number' ? t.task['timestamp'] : this.now() / 1000);
        const parent = typeof t.task['parent_id'] === 'string' ? t.task['parent_id'] : null;
        const name = typeof t.task['name'] === 'string' ? t.task['name'] : null;
        this.upsert.run(t.uuid, name, t.task.state, parent, updated, JSON.stringify(t.task), JSON.stringify(t.events));
      }
    });
  }

  private writtenSincePrune = 0;

  /** Writes (or rewrites) tasks in one transaction; prunes once a tenth of the count limit was written since the last prune. */
  write(tasks: StoredTask[]): void {
    if (!tasks.length) return;
    this.writeMany(tasks);
    this.writtenSincePrune += tasks.length;
    if (this.writtenSincePrune > Math.max(1000, this.maxTasks / 10)) this.prune();
  }

  /** Drops tasks past the age limit, then the oldest past the count limit; returns how many went. */
  prune(): number {
    this.writtenSincePrune = 0;
    let dropped = 0;
    if (this.maxAge > 0) {
      dropped += this.db.prepare('DELETE FROM celeriac_dashboard_tasks WHERE updated < ?').run(this.now() / 1000 - this.maxAge).changes;
    }
    dropped += this.db
      .prepare('DELETE FROM celeriac_dashboard_tasks WHERE uuid IN (SELECT uuid FROM celeriac_dashboard_tasks ORDER BY updated DESC LIMIT -1 OFFSET ?)')
      .run(this.maxTasks).changes;
    return dropped;
  }

  private parse(row: Row | undefined): StoredTask | undefined {
    if (!row) return undefined;
    return { uuid: row.uuid, task: JSON.parse(row.task) as StoredTask['task'], events: JSON.parse(row.events) as TimelineEntry[] };
  }

  get(uuid: string): StoredTask | undefined {
    return this.parse(this.db.prepare('SELECT uuid, task, events FROM celeriac_dashboard_tasks WHERE uuid = ?').get(uuid) as Row | undefined);
  }

  /** The newest `limit` tasks, oldest first (the order to replay them in). */
  recent(limit: number): StoredTask[] {
    const rows = this.db.prepare('SELECT uuid, task, events FROM celeriac_dashboard_tasks ORDER BY updated DESC LIMIT ?').all(limit) as Row[];
    return rows.reverse().map((r) => this.parse(r) as StoredTask);
  }

  /** The tasks whose parent_id is `uuid` (at most `limit`). */
  children(uuid: string, limit = 1000): StoredTask[] {
    const rows = this.db.prepare('SELECT uuid, task, events FROM celeriac_dashboard_tasks WHERE parent_id = ? ORDER BY updated LIMIT ?').all(uuid, limit) as Row[];
    return rows.map((r) => this.parse(r) as StoredTask);
  }

  get size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM celeriac_dashboard_tasks').get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}
