// A producer app and the worker processes a test starts, on one temp SQLite file: registers the
// beforeEach/afterEach hooks (a fresh file per test; every worker still running is killed after it).
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach } from 'vitest';
import { Celeriac } from '../../src/index.js';
import type { Spawned } from './processes.js';
import { tempDir, type TempDir } from './temp.js';

export interface SqliteFleet {
  dir: TempDir;
  /** `sqlite://<dir>/shared.db`, the broker and result backend of every party. */
  url: string;
  /** The producer. */
  app: Celeriac;
  /** Worker processes to kill after the test. */
  children: Spawned[];
}

export function sqliteFleet(): SqliteFleet {
  const fleet = { children: [] as Spawned[] } as SqliteFleet;
  beforeEach(() => {
    fleet.dir = tempDir();
    fleet.url = `sqlite://${fleet.dir.file('shared.db')}`;
    fleet.app = new Celeriac('producer', { broker: fleet.url, backend: fleet.url });
  });
  afterEach(async () => {
    for (const c of fleet.children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await c.exited;
    }
    await fleet.app.close();
    fleet.dir.remove();
  });
  return fleet;
}

/** The numbers `tasks.record` wrote to its RECORD_FILE, one per run. */
export function recorded(file: string): number[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : [];
}
