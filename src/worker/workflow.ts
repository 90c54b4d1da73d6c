/**
 * The worker's side of the canvas, as Celery's trace and backend do it: after a task succeeds, send its
 * callbacks (`link`, the result put first unless immutable) and the next chain step, and count it toward
 * its chord; after it fails (or is revoked), count it toward its chord, mark the rest of its chain failed
 * and send its errbacks (`link_error`, given the failed task's id). A chord whose last part arrives sends
 * its body with every result in header order, or, when a part failed, fails the body with ChordError and
 * sends the body's errbacks. Counting happens in the result backend, atomically: never by polling.
 */
import type { Celeriac } from '../app/celeriac.js';
import { applySignature, normalize } from '../app/canvas/apply.js';
import type { ResultBackend } from '../backend/types.js';
import type { ChordPart } from '../backend/groups.js';
import { toWireException, wireMessageText, type WireException } from '../errors.js';
import { buildResultMeta } from '../protocol/result-meta.js';
import { States, type TaskState } from '../protocol/states.js';
import type { SignatureDict, TaskRequest } from '../protocol/task-message.js';
import type { Logger } from './logger.js';

/** What a chord part needs of the finished task (a request, or a chain step that will never run). */
interface PartOf {
  id: string;
  groupId: string | null;
  groupIndex: number | null;
  chord: SignatureDict | null;
}

const PROPAGATE: ReadonlySet<string> = new Set([States.FAILURE, States.REVOKED]);

export class Workflow {
  constructor(
    private readonly app: Celeriac,
    private readonly backend: ResultBackend,
    private readonly logger: Logger,
  ) {}

  /** Whether a request has anything for this class to do (most do not: keep the hot path cheap). */
  static involved(task: TaskRequest): boolean {
    const e = task.embed;
    return e.callbacks !== null || e.errbacks !== null || e.chain !== null || e.chord !== null;
  }

  private ids(task: TaskRequest): Record<string, unknown> {
    return { parent_id: task.id, root_id: task.rootId ?? task.id };
  }

  async succeeded(task: TaskRequest, value: unknown): Promise<void> {
    const { callbacks, chain } = task.embed;
    const result = value === undefined ? null : value;
    if (callbacks?.length) {
      await this.guard(`callbacks of ${task.id}`, () => this.sendAll(callbacks, [result], this.ids(task)));
    }
    if (chain?.length) {
      const rest = [...chain];
      const next = normalize(rest.pop());
      await this.guard(`next chain step after ${task.id}`, () => applySignature(this.app, next, { args: [result], options: { ...this.ids(task), ...(rest.length ? { chain: rest } : {}) } }));
    }
    await this.partReturn(this.partOf(task), States.SUCCESS, result);
  }

  async failed(task: TaskRequest, error: unknown, traceback: string | null): Promise<void> {
    await this.finishedBadly(task, States.FAILURE, toWireException(error), traceback);
  }

  async revoked(task: TaskRequest, wire: WireException): Promise<void> {
    await this.finishedBadly(task, States.REVOKED, wire, null);
  }

  private async finishedBadly(task: TaskRequest, state: TaskState, wire: WireException, traceback: string | null): Promise<void> {
    await this.partReturn(this.partOf(task), state, wire);
    // The rest of the chain will never run: mark each step failed, so waiting on the chain's result ends.
    for (const raw of task.embed.chain ?? []) {
      const step = normalize(raw);
      const id = step.options['task_id'];
      if (typeof id === 'string') {
        await this.guard(`failing chain step ${id}`, () => this.backend.storeResult(buildResultMeta({ taskId: id, status: state, result: wire, traceback, now: Date.now() })));
      }
      if (step.options['chord']) {
        await this.partReturn({ id: typeof id === 'string' ? id : '', groupId: str(step.options['group_id']), groupIndex: num(step.options['group_index']), chord: normalize(step.options['chord']) }, state, wire);
      }
    }
    const errbacks = task.embed.errbacks;
    if (errbacks?.length) await this.guard(`errbacks of ${task.id}`, () => this.sendAll(errbacks, [task.id], this.ids(task)));
  }

  private partOf(task: TaskRequest): PartOf {
    return { id: task.id, groupId: task.groupId, groupIndex: task.groupIndex, chord: task.embed.chord };
  }

  /** Several links go out as one group, as Celery sends them; one link goes alone. */
  private async sendAll(sigs: SignatureDict[], args: unknown[], options: Record<string, unknown>): Promise<void> {
    const list = sigs.map(normalize);
    if (list.length === 1) {
      await applySignature(this.app, list[0] as SignatureDict, { args, options });
      return;
    }
    await applySignature(this.app, { task: 'celery.group', args: [], kwargs: { tasks: list }, options: {}, subtask_type: 'group', immutable: false }, { args, options });
  }

  private async partReturn(part: PartOf, state: TaskState, result: unknown): Promise<void> {
    if (!part.chord || !part.groupId || !part.id) return;
    const backend = this.backend;
    if (!backend.chordPartReturn) {
      this.logger.error('Task %s is part of chord %s, but the result backend %s keeps no chord counters: the chord body will not run', part.id, part.groupId, backend.url);
      return;
    }
    const body = normalize(part.chord);
    let parts: ChordPart[] | null;
    try {
      parts = await backend.chordPartReturn({ groupId: part.groupId, taskId: part.id, index: part.groupIndex, state, result });
    } catch (err) {
      this.logger.error({ err }, 'Chord %s: counting part %s failed: %s', part.groupId, part.id, (err as Error).message);
      return;
    }
    if (!parts) return;
    const bad = parts.find((p) => PROPAGATE.has(p.state));
    if (bad) {
      const wire = bad.result as WireException;
      const what = wire && typeof wire === 'object' && 'exc_type' in wire ? `${wire.exc_type}(${JSON.stringify(wireMessageText(wire.exc_message))})` : JSON.stringify(bad.result);
      return this.chordError(body, `Dependency ${bad.taskId} raised ${what}`);
    }
    try {
      await applySignature(this.app, body, { args: [parts.map((p) => p.result)] });
    } catch (err) {
      this.logger.error({ err }, 'Chord %s: sending the body failed: %s', part.groupId, (err as Error).message);
      await this.chordError(body, `Callback error: ${(err as Error).message}`);
    }
  }

  /** Celery's chord_error_from_stack: the body is marked FAILURE (ChordError) and its errbacks get its id. */
  private async chordError(body: SignatureDict, message: string): Promise<void> {
    const id = str(body.options['task_id']);
    this.logger.error('Chord body %s[%s] not run: %s', body.task, id ?? '?', message);
    const wire: WireException = { exc_type: 'ChordError', exc_message: [message], exc_module: 'celery.exceptions' };
    if (id) await this.guard(`failing chord body ${id}`, () => this.backend.storeResult(buildResultMeta({ taskId: id, status: States.FAILURE, result: wire, traceback: null, now: Date.now() })));
    const errbacks = body.options['link_error'];
    const list = Array.isArray(errbacks) ? errbacks : errbacks ? [errbacks] : [];
    if (list.length && id) await this.guard(`errbacks of chord body ${id}`, () => this.sendAll(list as SignatureDict[], [id], { parent_id: id, root_id: str(body.options['root_id']) ?? id }));
  }

  /** Runs a workflow step; a failure is logged and the worker carries on (the task itself already finished). */
  private async guard(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.error({ err }, 'workflow: %s failed: %s', what, err instanceof Error ? err.message : String(err));
    }
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
