/**
 * The leader lease and the schedule store (last run of each entry). Both live in the result backend by
 * default: the last runs are fields kept with the lease and written atomically with checking that this
 * beat still holds it, so a deposed leader can never record (and so never send) a run. `--schedule FILE`
 * keeps the last runs in a JSON file instead, for one machine: written only after renewing the lease.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Celeriac } from '../app/celeriac.js';
import { ConfigError } from '../errors.js';

type Backend = Awaited<ReturnType<Celeriac['resultBackend']>>;
export type LeaseOutcome = 'acquired' | 'renewed' | false;

/** The lease of one beat (`holder`) on the shared lease `name`. */
export class Lease {
  constructor(
    private readonly backend: Backend,
    readonly name: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {
    if (!backend.acquireLease || !backend.releaseLease || !backend.readLeaseData || !backend.writeLeaseData) {
      throw new ConfigError(`the result backend ${backend.url} cannot hold beat's leader lease: use a sqlite://, redis:// or memory:// result backend for beat`);
    }
  }

  /** Takes or renews the lease: 'acquired' (newly: re-read the store), 'renewed', or false (another beat leads). */
  async acquire(): Promise<LeaseOutcome> {
    return (await this.backend.acquireLease?.(this.name, this.holder, this.ttlMs)) ?? false;
  }

  async release(): Promise<void> {
    await this.backend.releaseLease?.(this.name, this.holder);
  }

  read(): Promise<Record<string, string>> {
    return this.backend.readLeaseData?.(this.name) ?? Promise.resolve({});
  }

  /** Writes fields only while this beat holds the lease (one atomic step in the backend). */
  async write(fields: Record<string, string>): Promise<boolean> {
    return (await this.backend.writeLeaseData?.(this.name, this.holder, fields)) ?? false;
  }
}

export interface ScheduleStore {
  readonly description: string;
  /** The last run of each entry, ms since the epoch. */
  load(): Promise<Map<string, number>>;
  /** Records runs; false (nothing written) when this beat no longer holds the lease. */
  record(runs: Record<string, number>): Promise<boolean>;
}

function toNumbers(fields: Record<string, unknown>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(fields)) {
    const n = Number(value);
    if (Number.isFinite(n)) out.set(name, n);
  }
  return out;
}

/** Last runs kept with the lease in the result backend (the default). */
export class BackendScheduleStore implements ScheduleStore {
  readonly description: string;

  constructor(private readonly lease: Lease) {
    this.description = `result backend (lease '${lease.name}')`;
  }

  async load(): Promise<Map<string, number>> {
    return toNumbers(await this.lease.read());
  }

  record(runs: Record<string, number>): Promise<boolean> {
    return this.lease.write(Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, String(v)])));
  }
}

/** Last runs in a JSON file (`--schedule FILE`), replaced atomically (write then rename) on each record. */
export class FileScheduleStore implements ScheduleStore {
  readonly description: string;
  private readonly path: string;

  constructor(
    path: string,
    private readonly lease: Lease,
  ) {
    this.path = resolve(path);
    this.description = `file ${this.path}`;
  }

  private readFile(): Record<string, unknown> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new ConfigError(`cannot read the beat schedule file ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const doc = JSON.parse(text) as { lastRun?: Record<string, unknown> };
      return doc.lastRun ?? {};
    } catch (cause) {
      throw new ConfigError(`the beat schedule file ${this.path} is not valid JSON: fix it, or delete it to start afresh (every entry then counts from now)`, { cause });
    }
  }

  async load(): Promise<Map<string, number>> {
    return toNumbers(this.readFile());
  }

  async record(runs: Record<string, number>): Promise<boolean> {
    if ((await this.lease.acquire()) !== 'renewed') return false;
    const lastRun = { ...this.readFile(), ...runs };
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ lastRun }, null, 2)}\n`);
    renameSync(tmp, this.path);
    return true;
  }
}
