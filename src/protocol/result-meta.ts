/**
 * Celery's result meta: the record stored under `celery-task-meta-<id>` by every result backend.
 *
 *   field      type                        notes
 *   status     TaskState                   PENDING when nothing is stored
 *   result     JSON                        return value; for FAILURE/RETRY/REVOKED: {exc_type, exc_message,
 *                                          exc_module}; for PROGRESS-like custom states: the meta given
 *   traceback  string | null               the remote stack for failures
 *   children   array                       results of tasks sent from inside the task
 *   date_done  ISO-8601 (naive UTC) | null set when the state is ready
 *   task_id    string
 *   extended (result_extended): name, args, kwargs, worker, retries, queue; and group_id, parent_id
 */
import { ProtocolError } from '../errors.js';
import { isReady, States, type TaskState } from './states.js';

export interface ResultMeta {
  status: TaskState;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: string | null;
  task_id: string;
  group_id?: string | null;
  parent_id?: string | null;
  name?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
}

/** Celery writes date_done as a naive UTC isoformat with microseconds: `2026-11-22T10:50:00.123000`. */
export function dateDone(ms: number): string {
  // toISOString is always `YYYY-MM-DDTHH:mm:ss.sssZ` for years 0000-9999: swap the Z for three zeros.
  const iso = new Date(ms).toISOString();
  return iso.length === 24 ? `${iso.slice(0, 23)}000` : iso.replace(/\.(\d{3})Z$/, '.$1000');
}

export interface MetaInput {
  taskId: string;
  status: TaskState;
  result: unknown;
  traceback?: string | null;
  children?: unknown[];
  /** Milliseconds since the epoch; date_done is set only for ready states. */
  now: number;
  /** `dateDone(now)` when the caller has it already (a worker formats it once per millisecond). */
  dateDone?: string;
  extended?: Pick<ResultMeta, 'name' | 'args' | 'kwargs' | 'worker' | 'retries' | 'queue'>;
  groupId?: string | null;
  parentId?: string | null;
}

/** Celery's wire form of a revoked task's exception (`reason`: 'revoked', 'expired', 'terminated'). */
export function revokedException(reason = 'revoked'): { exc_type: string; exc_message: string[]; exc_module: string } {
  return { exc_type: 'TaskRevokedError', exc_message: [reason], exc_module: 'celery.exceptions' };
}

/**
 * Builds a record with Celery's key order: status, result, traceback, children, date_done, [group_id],
 * [parent_id], [extended fields], task_id (always last). group_id / parent_id are left out when empty,
 * as Celery does. A REVOKED record without a result gets Celery's TaskRevokedError form.
 */
export function buildResultMeta(input: MetaInput): ResultMeta {
  let result = input.result === undefined ? null : input.result;
  if (result === null && input.status === States.REVOKED) result = revokedException();
  const meta = {
    status: input.status,
    result,
    traceback: input.traceback ?? null,
    children: input.children ?? [],
    date_done: isReady(input.status) ? (input.dateDone ?? dateDone(input.now)) : null,
  } as ResultMeta;
  if (input.groupId) meta.group_id = input.groupId;
  if (input.parentId) meta.parent_id = input.parentId;
  if (input.extended) Object.assign(meta, input.extended);
  meta.task_id = input.taskId;
  return meta;
}

export function pendingMeta(taskId: string): ResultMeta {
  return { status: States.PENDING, result: null, traceback: null, children: [], date_done: null, task_id: taskId };
}

/** Parses a stored result record (JSON text); throws ProtocolError if it is not one. */
export function parseResultMeta(text: string, taskId: string): ResultMeta {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError(`result record for ${taskId} is not JSON`, { cause });
  }
  if (v === null || typeof v !== 'object' || typeof (v as ResultMeta).status !== 'string') {
    throw new ProtocolError(`result record for ${taskId} has no 'status'`);
  }
  // Freshly parsed, so ours to complete in place.
  return complete(v as ResultMeta, taskId);
}

/** Fills the fields a reader may rely on that an older or foreign record may lack (appended, as parse would). */
function complete(m: ResultMeta, taskId: string): ResultMeta {
  m.task_id ??= taskId;
  m.children ??= [];
  m.traceback ??= null;
  m.date_done ??= null;
  return m;
}

/** A value JSON holds as it is: the round trip gives back the same value (NaN, Infinity and -0 do not). */
function isJsonScalar(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v) && !(v === 0 && 1 / v < 0));
}

/**
 * What `parseResultMeta(JSON.stringify(meta), taskId)` returns, made without the text, when every field of the
 * record is a JSON scalar and `children` is empty (a task that returned a number, a string, a boolean or
 * nothing, without extended fields): a new object, the same keys in the same order. Undefined when the record
 * holds anything else (an object or array result, extended args, an error's wire form): use the JSON round trip.
 */
export function copyFlatMeta(meta: ResultMeta, taskId: string): ResultMeta | undefined {
  if (Object.getPrototypeOf(meta) !== Object.prototype || typeof meta.status !== 'string') return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(meta)) {
    const v = (meta as unknown as Record<string, unknown>)[key];
    if (key === 'children') {
      if (!Array.isArray(v) || v.length !== 0) return undefined;
      out[key] = [];
    } else if (isJsonScalar(v)) out[key] = v;
    else return undefined;
  }
  return complete(out as unknown as ResultMeta, taskId);
}

/**
 * Whether a new state may replace the stored one. Celery never overwrites SUCCESS; celeriac also keeps any
 * ready state against a late non-ready write (e.g. a STARTED that arrives after FAILURE).
 */
export function mayOverwrite(current: TaskState | undefined, next: TaskState): boolean {
  if (current === undefined) return true;
  if (current === States.SUCCESS) return false;
  if (isReady(current) && !isReady(next)) return false;
  return true;
}
