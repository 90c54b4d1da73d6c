/**
 * Celery's built-in canvas tasks, which every worker knows so Python-sent ones run here too:
 * `celery.map(task, it)`, `celery.starmap(task, it)` (run one task over many arguments in one message)
 * and `celery.chunks(task, it, n)` (a group of starmaps over chunks of n).
 */
import { CanvasError } from '../../errors.js';
import type { SignatureDict } from '../../protocol/task-message.js';
import { applySignature, normalize } from './apply.js';
import type { CanvasApp } from './types.js';

/** What registering the built-ins needs of the app. */
export interface BuiltinHost extends CanvasApp {
  task(name: string, fn: (...args: never[]) => unknown, options?: { params?: string[] }): unknown;
  readonly tasks: ReadonlyMap<string, { invoke(args: unknown[]): unknown }>;
}

function items(it: unknown, name: string): unknown[] {
  if (!Array.isArray(it)) throw new CanvasError(`${name}: 'it' must be a list of arguments, got ${JSON.stringify(it)?.slice(0, 80)}`);
  return it;
}

/** Splits `it` into lists of at most n. */
export function chunked(it: readonly unknown[], n: number): unknown[][] {
  if (!Number.isInteger(n) || n < 1) throw new CanvasError(`chunks: n must be a whole number >= 1, got ${n}`);
  const out: unknown[][] = [];
  for (let i = 0; i < it.length; i += n) out.push(it.slice(i, i + n));
  return out;
}

/** The group of `celery.starmap` tasks a chunks signature stands for. */
export function chunksGroup(task: SignatureDict, it: readonly unknown[], n: number, options: Record<string, unknown> = {}): SignatureDict {
  const tasks = chunked(it, n).map((part) => xsig('celery.starmap', task, part));
  return { task: 'celery.group', args: [], kwargs: { tasks }, options, subtask_type: 'group', immutable: false };
}

/** Celery's xmap / xstarmap signature dict (subtask_type null, immutable, as Python's `dict()` of it). */
export function xsig(name: 'celery.map' | 'celery.starmap', task: SignatureDict, it: readonly unknown[]): SignatureDict {
  return { task: name, args: [], kwargs: { task, it: [...it] }, options: {}, subtask_type: null, immutable: true };
}

export function registerCanvasTasks(app: BuiltinHost): void {
  const resolve = (sig: unknown, name: string): { invoke(args: unknown[]): unknown } => {
    const task = normalize(sig).task;
    const registered = app.tasks.get(task);
    if (!registered) throw new CanvasError(`${name}: task '${task}' is not registered in this worker: register it with app.task('${task}', fn)`);
    return registered;
  };
  app.task(
    'celery.map',
    async (task: unknown, it: unknown) => {
      const t = resolve(task, 'celery.map');
      const out: unknown[] = [];
      for (const item of items(it, 'celery.map')) out.push(await t.invoke([item]));
      return out;
    },
    { params: ['task', 'it'] },
  );
  app.task(
    'celery.starmap',
    async (task: unknown, it: unknown) => {
      const t = resolve(task, 'celery.starmap');
      const out: unknown[] = [];
      for (const item of items(it, 'celery.starmap')) out.push(await t.invoke(Array.isArray(item) ? item : [item]));
      return out;
    },
    { params: ['task', 'it'] },
  );
  app.task(
    'celery.chunks',
    async (task: unknown, it: unknown, n: unknown) => {
      const applied = await applySignature(app, chunksGroup(normalize(task), items(it, 'celery.chunks'), Number(n)));
      // Celery returns the GroupResult; its tuple form is what JSON can carry.
      return [[applied.id, null], (applied.members ?? []).map((m) => [[m.id, null], null])];
    },
    { params: ['task', 'it', 'n'] },
  );
}
