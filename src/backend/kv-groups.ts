/** Group and chord bookkeeping over an atomic key-value store: the memory and SQLite result backends. */
import type { TaskState } from '../protocol/states.js';
import { decodeGroup, encodeGroup, GROUP_KEY_PREFIX, type ChordPart, type ChordPartReturn, type GroupStore } from './groups.js';

type MaybePromise<T> = T | Promise<T>;

/** What this needs of a store (the KeyValueStore of ./kv.ts): `update` is an atomic read-decide-write. */
export interface AtomicStore {
  get(key: string): MaybePromise<string | undefined>;
  update(key: string, fn: (current: string | undefined) => string | undefined, ttlMs: number): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
}

interface ChordRecord {
  size: number | null;
  fired: boolean;
  parts: [index: number | null, taskId: string, state: TaskState, result: unknown][];
}

const byIndex = (a: ChordRecord['parts'][number], b: ChordRecord['parts'][number]): number => (a[0] ?? Infinity) - (b[0] ?? Infinity);

/**
 * Chords over a key-value store whose `update` is atomic (one process for memory, one write transaction
 * for SQLite): size and parts live in one record, `celery-taskset-meta-<gid>.j`, so one read-decide-write
 * counts a part and sees whether it completed the chord.
 */
export class KeyValueGroups implements GroupStore {
  constructor(
    private readonly store: AtomicStore,
    private readonly ttlMs: () => number,
    private readonly ready: () => Promise<void>,
  ) {}

  private chordKey(groupId: string): string {
    return `${GROUP_KEY_PREFIX}${groupId}.j`;
  }

  private static parse(text: string | undefined): ChordRecord {
    if (text === undefined) return { size: null, fired: false, parts: [] };
    return JSON.parse(text) as ChordRecord;
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    await this.ready();
    await this.store.update(
      this.chordKey(groupId),
      (current) => JSON.stringify({ ...KeyValueGroups.parse(current), size }),
      this.ttlMs(),
    );
  }

  async chordPartReturn(part: ChordPartReturn): Promise<ChordPart[] | null> {
    await this.ready();
    let completed: ChordRecord['parts'] | null = null;
    const key = this.chordKey(part.groupId);
    await this.store.update(
      key,
      (current) => {
        completed = null;
        const record = KeyValueGroups.parse(current);
        // A redelivered part counts once, as Celery's set member does.
        if (record.fired || record.parts.some((p) => p[1] === part.taskId)) return undefined;
        record.parts.push([part.index, part.taskId, part.state, part.result]);
        if (record.size !== null && record.parts.length >= record.size) {
          record.fired = true;
          completed = [...record.parts].sort(byIndex);
        }
        return JSON.stringify(record);
      },
      this.ttlMs(),
    );
    const done = completed as ChordRecord['parts'] | null;
    if (!done) return null;
    await this.store.delete(key);
    return done.map(([, taskId, state, result]) => ({ taskId, state, result }));
  }

  async saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    await this.ready();
    const text = encodeGroup(groupId, taskIds);
    await this.store.update(GROUP_KEY_PREFIX + groupId, () => text, this.ttlMs());
  }

  async restoreGroup(groupId: string): Promise<string[] | null> {
    await this.ready();
    const text = await this.store.get(GROUP_KEY_PREFIX + groupId);
    return text === undefined ? null : decodeGroup(text);
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.ready();
    await this.store.delete(GROUP_KEY_PREFIX + groupId);
  }
}
