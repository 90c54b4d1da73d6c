/**
 * Opening a SQLite file the way the sqlite:// broker and result backend both need it: WAL, a busy timeout
 * for concurrent processes, and a watcher that fires when another connection commits. The one helper in
 * util/ with I/O, shared so the two plug-ins need not import each other. The driver is loaded lazily.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { TransportError } from '../errors.js';

export type Database = BetterSqlite3.Database;

export function openDatabase(path: string, busyTimeout: number): Database {
  let Driver: typeof BetterSqlite3;
  try {
    Driver = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  } catch (cause) {
    throw new TransportError('the sqlite:// broker needs the better-sqlite3 package: npm install better-sqlite3', { cause });
  }
  let db: Database;
  try {
    db = new Driver(path, { timeout: busyTimeout });
  } catch (cause) {
    throw new TransportError(`cannot open SQLite database '${path}': ${(cause as Error).message}. Check that the directory exists and is writable.`, { cause });
  }
  // Switching a new file to WAL needs a moment of exclusive access, and SQLite answers "database is
  // locked" at once (without its busy handler) when another process switches the same file just then:
  // two workers started together on a fresh file. Retried until the busy timeout.
  const deadline = Date.now() + busyTimeout;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      Atomics.wait(PAUSE, 0, 0, 10);
    }
  }
  db.pragma('synchronous = NORMAL');
  return db;
}

/** A cell to wait on: a synchronous 10 ms pause between attempts (opening a database is synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Whether `err` is SQLite's "database or disk is full" (SQLITE_FULL, also as an extended code). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_FULL' || code.startsWith('SQLITE_FULL_'));
}

/** Runs `fn` in a BEGIN IMMEDIATE transaction (takes the write lock up front, so no deadlock upgrades). */
export function immediate<T>(db: Database, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/**
 * Calls `onChange` when the database file or its WAL changes (any process). Returns a closer.
 * In-memory databases and file systems without inotify get a no-op; callers keep a fallback poll.
 */
export function watchDatabase(path: string, onChange: () => void): () => void {
  if (path === ':memory:' || path === '') return () => undefined;
  const file = basename(path);
  let watcher: FSWatcher | undefined;
  // One commit shows up as several events (one per WAL write): they are coalesced into one call per
  // event-loop turn. And inotify reports the WAL write just before the commit is published in the -shm
  // index, so a reader woken by the last event of a commit can still see the old snapshot and then hear
  // nothing more (until the fallback poll, 1 s later). So after the last event of a burst come a few
  // trailing calls, further and further apart (TRAILING_MS): the first sees the commit on a quiet machine,
  // the later ones when the writer was descheduled between its WAL write and the -shm update (a loaded
  // machine). They stop after a quiet half second: an idle watcher costs nothing.
  let trailing: NodeJS.Timeout | undefined;
  let step = 0;
  let scheduled = false;
  let closed = false;
  const fire = (): void => {
    scheduled = false;
    if (!closed) onChange();
  };
  const trail = (): void => {
    trailing = undefined;
    if (closed) return;
    onChange();
    const next = TRAILING_MS[++step];
    if (next !== undefined) arm(next - (TRAILING_MS[step - 1] ?? 0));
  };
  const arm = (ms: number): void => {
    trailing = setTimeout(trail, ms);
    trailing.unref();
  };
  const onEvent = (): void => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(fire);
    }
    if (trailing && step === 0) trailing.refresh();
    else {
      step = 0;
      clearTimeout(trailing);
      arm(TRAILING_MS[0]);
    }
  };
  try {
    watcher = watch(dirname(resolve(path)), { persistent: false }, (_event, name) => {
      if (name === null || name === `${file}-wal` || name === file) onEvent();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    return () => undefined;
  }
  return () => {
    closed = true;
    clearTimeout(trailing);
    watcher?.close();
  };
}

/** ms after the last change event of a burst for each trailing onChange call. */
const TRAILING_MS = [2, 15, 60, 200, 500] as const;
