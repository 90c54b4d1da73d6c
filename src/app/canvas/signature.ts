/**
 * Signatures (Celery's canvas): a task call to send later, and the chain, group and chord built from them.
 * Each serialises to Celery's signature dict; the classes are immutable (`set`, `link` return new ones).
 */
import type { SignatureDict } from '../../protocol/task-message.js';
import { AsyncResult } from '../result.js';
import { applySignature, chordDict, membersOf, normalize, type Applied } from './apply.js';
import { GroupResult } from './group-result.js';
import { toWireOptions } from './options.js';
import type { CanvasApp, Signable, SignatureOptions } from './types.js';

/** Options for sending a signature now: its own options plus links. */
export interface SignatureApplyOptions extends SignatureOptions {
  kwargs?: Record<string, unknown>;
  /** Called with this task's result when it succeeds. */
  link?: Signable | Signable[];
  /** Called with this task's id when it fails. */
  linkError?: Signable | Signable[];
}

const list = (v: Signable | Signable[] | undefined): SignatureDict[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((s) => s.toDict()));

/** The part every canvas element shares: the dict, options, links, and `pipe` into a chain. */
export abstract class CanvasSignature<R> implements Signable {
  /** Phantom: the result type, for inference only. */
  declare readonly __result?: R;

  constructor(
    readonly app: CanvasApp,
    protected readonly dict: SignatureDict,
  ) {}

  protected abstract with(dict: SignatureDict): this;

  /** Celery's signature dict (what travels in messages). */
  toDict(): SignatureDict {
    return structuredClone(this.dict);
  }

  toJSON(): SignatureDict {
    return this.toDict();
  }

  /** The signature with these options (queue, countdown, eta, expires, priority, taskId...). */
  set(options: SignatureOptions): this {
    return this.with({ ...this.dict, options: { ...this.dict.options, ...toWireOptions(options) } });
  }

  /** The signature with a callback, sent with this one's result when it succeeds (Celery's `link`). */
  link(callback: Signable): this {
    return this.addLink('link', callback);
  }

  /** The signature with an errback, sent with this one's id when it fails (Celery's `link_error`). */
  linkError(errback: Signable): this {
    return this.addLink('link_error', errback);
  }

  private addLink(key: 'link' | 'link_error', sig: Signable): this {
    const current = this.dict.options[key];
    const links = Array.isArray(current) ? current : current ? [current] : [];
    return this.with({ ...this.dict, options: { ...this.dict.options, [key]: [...links, sig.toDict()] } });
  }

  /** This, then `next` with this one's result (Celery's `|`). */
  pipe<N>(next: CanvasSignature<N>): Chain<N> {
    return new Chain<N>(this.app, chainDict([this.toDict(), next.toDict()]));
  }

  protected send(args: readonly unknown[], options: SignatureApplyOptions): Promise<Applied> {
    const { kwargs, link, linkError, ...rest } = options;
    const wire: Record<string, unknown> = toWireOptions(rest);
    if (link) wire['link'] = list(link);
    if (linkError) wire['link_error'] = list(linkError);
    return applySignature(this.app, this.dict, { args, kwargs, options: wire });
  }
}

/** A task call: `add.s(2, 2)` (the parent's result goes first) or `add.si(2, 2)` (immutable). */
export class Signature<R = unknown> extends CanvasSignature<R> {
  get task(): string {
    return this.dict.task;
  }

  get args(): readonly unknown[] {
    return this.dict.args;
  }

  get immutable(): boolean {
    return this.dict.immutable;
  }

  protected with(dict: SignatureDict): this {
    return new Signature<R>(this.app, dict) as this;
  }

  /** Sends the task; `args` go before the signature's own unless it is immutable. */
  async applyAsync(args: readonly unknown[] = [], options: SignatureApplyOptions = {}): Promise<AsyncResult<R>> {
    const { id } = await this.send(args, options);
    return new AsyncResult<R>(id, this.app);
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

export function chainDict(tasks: SignatureDict[], options: Record<string, unknown> = {}): SignatureDict {
  return { task: 'celery.chain', args: [], kwargs: { tasks }, options, subtask_type: 'chain', immutable: false };
}

/** Steps run one after the other, each given the previous one's result; its result is the last step's. */
export class Chain<R = unknown> extends CanvasSignature<R> {
  protected with(dict: SignatureDict): this {
    return new Chain<R>(this.app, dict) as this;
  }

  get tasks(): SignatureDict[] {
    return membersOf(this.dict);
  }

  override pipe<N>(next: CanvasSignature<N>): Chain<N> {
    return new Chain<N>(this.app, chainDict([...this.tasks, next.toDict()], this.dict.options));
  }

  async applyAsync(args: readonly unknown[] = [], options: SignatureApplyOptions = {}): Promise<AsyncResult<R>> {
    const { id } = await this.send(args, options);
    return new AsyncResult<R>(id, this.app);
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

/** Signatures run in parallel; the result is a GroupResult of their results in order. */
export class Group<R extends unknown[] = unknown[]> extends CanvasSignature<R> {
  protected with(dict: SignatureDict): this {
    return new Group<R>(this.app, dict) as this;
  }

  get tasks(): SignatureDict[] {
    return membersOf(this.dict);
  }

  async applyAsync(args: readonly unknown[] = [], options: SignatureApplyOptions = {}): Promise<GroupResult<R>> {
    const applied = await this.send(args, options);
    return GroupResult.fromApplied<R>(this.app, applied);
  }

  delay(...args: unknown[]): Promise<GroupResult<R>> {
    return this.applyAsync(args);
  }
}

/** A group whose results, in order, go to one body task once every member has succeeded. */
export class Chord<R = unknown> extends CanvasSignature<R> {
  protected with(dict: SignatureDict): this {
    return new Chord<R>(this.app, dict) as this;
  }

  get header(): SignatureDict[] {
    return membersOf(this.dict, 'header');
  }

  get body(): SignatureDict {
    return normalize(this.dict.kwargs['body']);
  }

  /** Sends the header; the result is the body's. Options (queue, linkError...) apply to the body. */
  async applyAsync(args: readonly unknown[] = [], options: SignatureApplyOptions = {}): Promise<AsyncResult<R>> {
    const { id } = await this.send(args, options);
    return new AsyncResult<R>(id, this.app);
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }
}

export function makeChord<R>(app: CanvasApp, header: Signable[] | Group, body: CanvasSignature<R>): Chord<R> {
  const group = header instanceof Group ? header.toDict() : { task: 'celery.group', args: [], kwargs: { tasks: header.map((h) => h.toDict()) }, options: {}, subtask_type: 'group', immutable: false };
  return new Chord<R>(app, chordDict(group, body.toDict()));
}
