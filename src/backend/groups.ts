/**
 * Group and chord bookkeeping of a result backend (Celery's save_group / set_chord_size /
 * on_chord_part_return): the contract and Celery's group record. Key-value stores get it from ./kv-groups.ts.
 */
import type { TaskState } from '../protocol/states.js';

export const GROUP_KEY_PREFIX = 'celery-taskset-meta-';

/** One finished member of a chord header, as the backend hands it back. */
export interface ChordPart {
  taskId: string;
  state: TaskState;
  /** The return value, or the exception's wire form for FAILURE / REVOKED. */
  result: unknown;
}

export interface ChordPartReturn extends ChordPart {
  groupId: string;
  /** Position in the header (`group_index`); null sorts last, as Celery's '+inf'. */
  index: number | null;
}

export interface GroupStore {
  /** Records how many parts the chord on `groupId` waits for; set before the last header part is sent. */
  setChordSize(groupId: string, size: number): Promise<void>;
  /**
   * Records a finished header part, atomically. Resolves with every part in header order for exactly one
   * caller, the one whose part completed the chord (the counters are then removed); null for the others.
   */
  chordPartReturn(part: ChordPartReturn): Promise<ChordPart[] | null>;
  /** Saves a group's member ids under `celery-taskset-meta-<id>` (Celery's GroupResult.save). */
  saveGroup(groupId: string, taskIds: readonly string[]): Promise<void>;
  /** The member ids of a saved group, or null. */
  restoreGroup(groupId: string): Promise<string[] | null>;
  deleteGroup(groupId: string): Promise<void>;
}

/** Celery's GroupResult.as_tuple(): `[[gid, null], [[[id, null], null], ...]]`, stored as `{ result: ... }`. */
export function encodeGroup(groupId: string, taskIds: readonly string[]): string {
  return JSON.stringify({ result: [[groupId, null], taskIds.map((id) => [[id, null], null])] });
}

/** Reads the member ids back from a saved group record (Python's or ours). */
export function decodeGroup(text: string): string[] | null {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return null;
  }
  const tuple = (record as { result?: unknown } | null)?.result;
  if (!Array.isArray(tuple) || !Array.isArray(tuple[1])) return null;
  const ids: string[] = [];
  for (const member of tuple[1] as unknown[]) {
    const id = Array.isArray(member) && Array.isArray(member[0]) ? member[0][0] : undefined;
    if (typeof id === 'string') ids.push(id);
  }
  return ids;
}
