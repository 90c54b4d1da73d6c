/** The canvas: signatures, `chain`, `group`, `chord`, and their results. */
import { Chain, chainDict, Group, makeChord, type CanvasSignature, type Chord } from './signature.js';
import type { CanvasApp } from './types.js';

export { Signature, Chain, Group, Chord, CanvasSignature, type SignatureApplyOptions } from './signature.js';
export { GroupResult, type GroupProgress, type GroupGetOptions } from './group-result.js';
export type { SignatureOptions, Signable, CanvasApp } from './types.js';
export { applySignature, normalize, type Applied } from './apply.js';

/** The result type a signature, chain or chord produces. */
export type ResultOf<S> = S extends CanvasSignature<infer R> ? R : unknown;
type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : T[number];

const appOf = (sigs: readonly CanvasSignature<unknown>[], what: string): CanvasApp => {
  const first = sigs[0];
  if (!first) throw new TypeError(`${what} needs at least one signature, e.g. ${what}(add.s(1, 2), ...)`);
  return first.app;
};

/** Runs the signatures one after another, each with the previous result first (Celery's `chain`, or `a.pipe(b)`). */
export function chain<S extends readonly [CanvasSignature<unknown>, ...CanvasSignature<unknown>[]]>(...sigs: S): Chain<ResultOf<Last<S>>> {
  return new Chain(appOf(sigs, 'chain'), chainDict(sigs.map((s) => s.toDict())));
}

/** Runs the signatures in parallel; `applyAsync()` gives a GroupResult with their results in order. */
export function group<S extends readonly CanvasSignature<unknown>[]>(sigs: S): Group<{ -readonly [K in keyof S]: ResultOf<S[K]> }> {
  const app = appOf(sigs, 'group');
  return new Group(app, { task: 'celery.group', args: [], kwargs: { tasks: sigs.map((s) => s.toDict()) }, options: {}, subtask_type: 'group', immutable: false });
}

/** Runs `header` in parallel, then `body` once with all their results in order (only if every one succeeded). */
export function chord<R>(header: readonly CanvasSignature<unknown>[] | Group, body: CanvasSignature<R>): Chord<R> {
  return makeChord(body.app, header instanceof Group ? header : [...header], body);
}
