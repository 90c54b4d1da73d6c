// Type-level checks of the canvas: partial signatures accept the trailing arguments, immutable ones the
// whole list; chain, chord and group results carry the types of their last step, body and members.
// `npm run typecheck` fails if any of these stop holding.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { AsyncResult, Celeriac, chain, chord, group, GroupResult, type Chain, type Chord, type Group, type Signature, type TaskError } from '../../src/index.js';

describe('canvas types', () => {
  const app = new Celeriac('types', { broker: 'memory://', backend: 'memory://' });
  const add = app.task('tasks.add', (x: number, y: number) => x + y);
  const shout = app.task('tasks.shout', async (text: string) => text.toUpperCase());
  const total = app.task('tasks.total', (xs: number[]) => xs.reduce((a, b) => a + b, 0));

  it('s() takes any trailing part of the arguments; si() takes them all', () => {
    expectTypeOf(add.s(1, 2)).toEqualTypeOf<Signature<number>>();
    expectTypeOf(add.s(2)).toEqualTypeOf<Signature<number>>();
    expectTypeOf(add.s()).toEqualTypeOf<Signature<number>>();
    expectTypeOf(add.si(1, 2)).toEqualTypeOf<Signature<number>>();
    expectTypeOf(shout.s('x').set({ queue: 'q', countdown: 5 })).toEqualTypeOf<Signature<string>>();
    const never = (): void => {
      // @ts-expect-error a string is not a number
      void add.s('2');
      // @ts-expect-error si() needs every argument
      void add.si(1);
      // @ts-expect-error too many arguments
      void add.s(1, 2, 3);
      // @ts-expect-error not a signature option
      void add.s(1).set({ qeue: 'x' });
    };
    expect(typeof never).toBe('function');
  });

  it('a chain has its last step type; a chord its body type; a group a tuple of its members', () => {
    expectTypeOf(chain(add.s(1, 1), add.s(2), shout.s())).toEqualTypeOf<Chain<string>>();
    expectTypeOf(add.s(1, 1).pipe(total.s())).toEqualTypeOf<Chain<number>>();
    expectTypeOf(chord([add.s(1, 1), add.s(2, 2)], total.s())).toEqualTypeOf<Chord<number>>();
    const g = group([add.s(1, 1), shout.s('a')] as const);
    expectTypeOf(g).toExtend<Group<[number, string]>>();
    expectTypeOf(add.map([1, 2])).toEqualTypeOf<Signature<number[]>>();
    expectTypeOf(add.starmap([[1, 2]])).toEqualTypeOf<Signature<number[]>>();
    expectTypeOf(add.chunks([[1, 2]], 10)).toEqualTypeOf<Group<number[][]>>();
  });

  it('applyAsync results are typed: AsyncResult for chain and chord, GroupResult for a group', () => {
    expectTypeOf(chain(add.s(1, 1), shout.s()).applyAsync()).toEqualTypeOf<Promise<AsyncResult<string>>>();
    expectTypeOf(chord([add.s(1, 1)], total.s()).applyAsync()).toEqualTypeOf<Promise<AsyncResult<number>>>();
    const members = [1, 2, 3].map((i) => add.s(i, i));
    expectTypeOf(group(members).applyAsync()).toEqualTypeOf<Promise<GroupResult<number[]>>>();
    const gr = new GroupResult<number[]>("empty", [], app);
    expectTypeOf(gr.get()).toEqualTypeOf<Promise<number[]>>();
    expectTypeOf(gr.get({ propagate: false })).toEqualTypeOf<Promise<(number | TaskError)[]>>();
    expectTypeOf(gr.completedCount()).toEqualTypeOf<Promise<number>>();
    expect(members).toHaveLength(3);
    return expect(gr.get()).resolves.toEqual([]);
  });
});
