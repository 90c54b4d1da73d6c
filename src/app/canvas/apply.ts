/**
 * Sends any signature dict (a task, chain, group or chord; built here or by Python Celery) the way Celery's
 * `apply_async` does: the producer side of the canvas, also used by the worker for callbacks, the next
 * chain step and chord bodies. Ids are chosen ("frozen") before sending, so results are known up front.
 */
import { CanvasError } from '../../errors.js';
import type { SignatureDict } from '../../protocol/task-message.js';
import { uuid } from '../../util/ids.js';
import { sigList, toSendOptions } from './options.js';
import type { CanvasApp } from './types.js';

/** What sending a signature gave: the id to wait on, and for a group its members. */
export interface Applied {
  id: string;
  members?: Applied[];
}

/** The call: arguments put before the signature's own (unless immutable), and options in Celery's names. */
export interface CallInput {
  args?: readonly unknown[];
  kwargs?: Record<string, unknown>;
  options?: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A signature dict from Python or from us; missing fields get Celery's defaults. */
export function normalize(value: unknown): SignatureDict {
  if (!isRecord(value) || typeof value['task'] !== 'string') {
    throw new CanvasError(`not a signature: expected { task, args, kwargs, options, subtask_type, immutable }, got ${JSON.stringify(value)?.slice(0, 120)}`);
  }
  return {
    ...value,
    task: value['task'],
    args: Array.isArray(value['args']) ? value['args'] : [],
    kwargs: isRecord(value['kwargs']) ? value['kwargs'] : {},
    options: isRecord(value['options']) ? value['options'] : {},
    subtask_type: typeof value['subtask_type'] === 'string' ? value['subtask_type'] : null,
    immutable: value['immutable'] === true,
  };
}

/** The members of a chain or group signature (`kwargs.tasks`; a chord's `header` may be a group or a list). */
export function membersOf(sig: SignatureDict, field = 'tasks'): SignatureDict[] {
  let value = sig.kwargs[field];
  if (isRecord(value) && value['subtask_type'] === 'group') value = normalize(value).kwargs['tasks'];
  if (!Array.isArray(value)) throw new CanvasError(`${sig.subtask_type ?? sig.task} signature has no '${field}' list: ${JSON.stringify(sig).slice(0, 120)}`);
  return value.map(normalize);
}

const withOptions = (sig: SignatureDict, options: Record<string, unknown>): SignatureDict => ({ ...sig, options: { ...sig.options, ...options } });

/** Gives a step the id it will run under: a task's task_id, a chord's body id, a group's id. Returns [frozen, id]. */
export function freeze(sig: SignatureDict, options: Record<string, unknown> = {}): [SignatureDict, string] {
  if (sig.subtask_type === 'chord') {
    const body = normalize(sig.kwargs['body']);
    const [frozenBody, id] = freeze(body, options);
    return [{ ...sig, kwargs: { ...sig.kwargs, body: frozenBody } }, id];
  }
  if (sig.subtask_type === 'chain') {
    const steps = prepareChain(membersOf(sig));
    const frozen = steps.map((s, i) => freeze(s, i === steps.length - 1 ? options : {}));
    return [{ ...sig, kwargs: { ...sig.kwargs, tasks: frozen.map(([s]) => s) } }, frozen.at(-1)?.[1] ?? uuid()];
  }
  const id = ownId(sig, options);
  if (sig.subtask_type === 'group') {
    // Members get their ids now too, so a group at the end of a chain can be saved (and restored) up front.
    const tasks = membersOf(sig).map((m) => freeze(m)[0]);
    return [withOptions({ ...sig, kwargs: { ...sig.kwargs, tasks } }, { ...options, task_id: id }), id];
  }
  return [withOptions(sig, { ...options, task_id: id }), id];
}

/** As Celery's freeze: an id the signature already has wins (a step frozen by Python keeps its id). */
function ownId(sig: SignatureDict, options: Record<string, unknown>): string {
  const own = sig.options['task_id'];
  const given = options['task_id'];
  return typeof own === 'string' ? own : typeof given === 'string' ? given : uuid();
}

/** Celery's chord size of a header member: a group counts its members, a chain its last step, a chord its body. */
export function chordSize(sig: SignatureDict): number {
  switch (sig.subtask_type) {
    case 'group':
      return membersOf(sig).reduce((n, m) => n + chordSize(m), 0);
    case 'chain': {
      for (const step of [...membersOf(sig)].reverse()) {
        const n = chordSize(step);
        if (n > 0) return n;
      }
      return 0;
    }
    case 'chord':
      return chordSize(normalize(sig.kwargs['body']));
    default:
      return 1;
  }
}

/** Flattens nested chains and turns a group followed by another step into a chord, as Celery's chain does. */
export function prepareChain(steps: SignatureDict[]): SignatureDict[] {
  const flat = steps.flatMap((s) => (s.subtask_type === 'chain' ? prepareChain(membersOf(s)) : [s]));
  const out: SignatureDict[] = [];
  for (const step of flat) {
    const prev = out.at(-1);
    if (prev?.subtask_type === 'group' && step.subtask_type !== 'group') {
      out[out.length - 1] = chordDict(prev, step);
    } else {
      out.push(step);
    }
  }
  return out;
}

export function chordDict(header: SignatureDict, body: SignatureDict, options: Record<string, unknown> = {}): SignatureDict {
  return { task: 'celery.chord', args: [], kwargs: { kwargs: {}, header: membersOf(header), body }, options, subtask_type: 'chord', immutable: false };
}

/** Sends a signature dict; see the file header. */
export async function applySignature(app: CanvasApp, sig: SignatureDict, call: CallInput = {}): Promise<Applied> {
  switch (sig.subtask_type) {
    case 'chain':
      return applyChain(app, sig, call);
    case 'group':
      return applyGroup(app, sig, call);
    case 'chord':
      return applyChord(app, sig, call);
    default:
      return applyTask(app, sig, call);
  }
}

/** The name, arguments and options one task message gets from a simple signature and a call. */
export function taskCall(sig: SignatureDict, call: CallInput): { name: string; args: unknown[]; options: ReturnType<typeof toSendOptions> } {
  const args = sig.immutable ? [...sig.args] : [...(call.args ?? []), ...sig.args];
  const kwargs = sig.immutable ? sig.kwargs : { ...sig.kwargs, ...call.kwargs };
  const options = { ...sig.options, ...call.options };
  // Links given at call time add to the signature's own.
  for (const key of ['link', 'link_error'] as const) {
    const both = [...(sigList(sig.options[key]) ?? []), ...(sigList(call.options?.[key]) ?? [])];
    if (both.length) options[key] = both;
  }
  return { name: sig.task, args, options: toSendOptions(options, kwargs) };
}

async function applyTask(app: CanvasApp, sig: SignatureDict, call: CallInput): Promise<Applied> {
  const { name, args, options } = taskCall(sig, call);
  const result = await app.sendTask(name, args, options);
  return { id: result.id };
}

/** Options that belong to the last step of a chain (it is the one a group or chord waits for). */
const LAST_STEP = ['group_id', 'group_index', 'chord', 'task_id'] as const;

async function applyChain(app: CanvasApp, sig: SignatureDict, call: CallInput): Promise<Applied> {
  const steps = prepareChain(membersOf(sig));
  if (steps.length === 0) throw new CanvasError('an empty chain cannot be sent: give it at least one signature');
  const options: Record<string, unknown> = { ...sig.options, ...call.options };
  const last: Record<string, unknown> = {};
  for (const key of LAST_STEP) {
    if (key in options) last[key] = options[key];
    delete options[key];
  }
  // Sending options (queue, countdown...) apply to the first step; links and ids stay where they were set.
  const frozen = steps.map((s, i) => freeze(s, i === steps.length - 1 ? last : {}));
  const [first, ...rest] = frozen.map(([s]) => s) as [SignatureDict, ...SignatureDict[]];
  const outer = sigList(options['chain']) ?? [];
  const chainRest = [...outer, ...rest.reverse()];
  delete options['chain'];
  const [lastStep, lastId] = frozen.at(-1) as [SignatureDict, string];
  const members = lastStep.subtask_type === 'group' ? flattenGroup(membersOf(lastStep)).map((m): Applied => ({ id: freeze(m)[1] })) : undefined;
  if (members && rest.length > 0) {
    // The chain's result is a group sent later by a worker: save it now so `app.restoreGroup(id)` finds it.
    const backend = await app.resultBackend();
    await backend.saveGroup?.(lastId, members.map((m) => m.id));
  }
  const sent = await applySignature(app, first, { args: call.args, kwargs: call.kwargs, options: { ...options, ...(chainRest.length ? { chain: chainRest } : {}) } });
  return rest.length === 0 ? sent : { id: lastId, ...(members ? { members } : {}) };
}

async function applyGroup(app: CanvasApp, sig: SignatureDict, call: CallInput): Promise<Applied> {
  const options: Record<string, unknown> = { ...sig.options, ...call.options };
  const groupId = typeof options['task_id'] === 'string' ? options['task_id'] : uuid();
  delete options['task_id'];
  const chord = isRecord(options['chord']) ? options['chord'] : undefined;
  const members = flattenGroup(membersOf(sig));
  if (chord) {
    const backend = await app.resultBackend();
    if (!backend.setChordSize) throw new CanvasError(`the result backend ${backend.url} does not keep chord counters: use a memory://, sqlite:// or redis:// result backend for chords`);
    await backend.setChordSize(groupId, members.reduce((n, m) => n + chordSize(m), 0));
  }
  const memberOptions = (i: number): Record<string, unknown> => ({ ...options, group_id: groupId, ...(chord ? { group_index: i } : {}) });
  // Plain task members go out in one pipelined batch; chains and chords are sent one by one.
  const applied: (Applied | undefined)[] = members.map(() => undefined);
  const batch: { i: number; call: ReturnType<typeof taskCall> }[] = [];
  await Promise.all(
    members.map(async (m, i) => {
      if (m.subtask_type === null || !['chain', 'group', 'chord'].includes(m.subtask_type)) {
        batch.push({ i, call: taskCall(m, { args: call.args, kwargs: call.kwargs, options: memberOptions(i) }) });
      } else {
        applied[i] = await applySignature(app, m, { args: call.args, kwargs: call.kwargs, options: memberOptions(i) });
      }
    }),
  );
  if (batch.length) {
    const results = await app.sendMany(batch.map((b) => b.call));
    results.forEach((r, k) => (applied[(batch[k] as { i: number }).i] = { id: r.id }));
  }
  return { id: groupId, members: applied as Applied[] };
}

function flattenGroup(members: SignatureDict[]): SignatureDict[] {
  return members.flatMap((m) => (m.subtask_type === 'group' ? flattenGroup(membersOf(m)) : [m]));
}

async function applyChord(app: CanvasApp, sig: SignatureDict, call: CallInput): Promise<Applied> {
  const header = membersOf(sig, 'header');
  const options: Record<string, unknown> = { ...sig.options, ...call.options };
  const groupId = isRecord(sig.kwargs['header']) && typeof (sig.kwargs['header'] as SignatureDict).options?.['task_id'] === 'string'
    ? ((sig.kwargs['header'] as SignatureDict).options['task_id'] as string)
    : uuid();
  const bodyOptions = { ...options };
  // The header parts are plain group members: the chain, the chord and the ids belong to the body.
  for (const key of ['chain', 'chord', 'group_id', 'group_index']) delete options[key];
  delete options['task_id'];
  delete options['link'];
  delete options['link_error'];
  const [body, bodyId] = freeze(normalize(sig.kwargs['body']), bodyOptions);
  if (header.length === 0) {
    await applySignature(app, body, { args: [[]] });
    return { id: bodyId, members: [] };
  }
  const group = { task: 'celery.group', args: [], kwargs: { tasks: header }, options: { ...options, task_id: groupId, chord: body }, subtask_type: 'group', immutable: false };
  const sent = await applyGroup(app, group, { args: call.args, kwargs: call.kwargs });
  return { id: bodyId, members: sent.members ?? [] };
}
