// Type-level checks of the public API: argument and result types flow from a task's function to
// delay(), applyAsync() and get(). `npm run typecheck` (tsc) fails if any of these stop holding;
// vitest runs the file too, so the runtime parts are exercised.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { AsyncResult, Celeriac, type Task, type TaskError } from '../../src/index.js';

describe('public API types', () => {
  const app = new Celeriac('types', { broker: 'memory://', backend: 'memory://' });
  const add = app.task('tasks.add', (x: number, y: number) => x + y);
  const greet = app.task('tasks.greet', async (name: string, excited?: boolean) => `hi ${name}${excited ? '!' : ''}`);
  const nothing = app.task('tasks.nothing', () => undefined);

  it('infers argument and result types from the function', () => {
    expectTypeOf(add).toEqualTypeOf<Task<[x: number, y: number], number>>();
    expectTypeOf(add.delay).parameters.toEqualTypeOf<[x: number, y: number]>();
    expectTypeOf(add.delay).returns.toEqualTypeOf<Promise<AsyncResult<number>>>();
    // An async function's result is unwrapped.
    expectTypeOf(greet.delay).returns.toEqualTypeOf<Promise<AsyncResult<string>>>();
    expectTypeOf(nothing.delay).returns.toEqualTypeOf<Promise<AsyncResult<undefined>>>();
    expect(add.name).toBe('tasks.add');
  });

  it('get() resolves to the task result type; propagate:false adds TaskError', () => {
    const r = app.AsyncResult<number>('some-id');
    expectTypeOf(r.get()).toEqualTypeOf<Promise<number>>();
    const timed = r.get({ timeout: 10 });
    timed.catch(() => undefined); // no task runs: it times out, and that rejection is not the point here
    expectTypeOf(timed).toEqualTypeOf<Promise<number>>();
    expectTypeOf(r.get({ propagate: false })).toEqualTypeOf<Promise<number | TaskError>>();
    expectTypeOf(app.sendTask('tasks.add', [1, 2])).toEqualTypeOf<Promise<AsyncResult<unknown>>>();
    expectTypeOf(app.sendTask<number>('tasks.add', [1, 2])).toEqualTypeOf<Promise<AsyncResult<number>>>();
  });

  it('rejects wrong argument types at compile time', () => {
    // These calls are never run: they only have to fail type checking.
    const never = (): void => {
      // @ts-expect-error a string is not a number
      void add.delay('5', 5);
      // @ts-expect-error too few arguments
      void add.delay(5);
      // @ts-expect-error too many arguments
      void add.delay(1, 2, 3);
      // @ts-expect-error applyAsync takes the argument tuple
      void add.applyAsync([1, 'x']);
      // @ts-expect-error unknown apply option
      void add.applyAsync([1, 2], { countdwn: 3 });
      // @ts-expect-error expires is seconds or a date
      void add.applyAsync([1, 2], { expires: true });
      // @ts-expect-error greet's optional flag is a boolean
      void greet.delay('bob', 'yes');
    };
    expect(typeof never).toBe('function');
    // Valid calls compile.
    const ok = (): void => {
      void add.applyAsync([5, 5], { countdown: 3, expires: 60, queue: 'for_add', priority: 5 });
      void greet.delay('bob');
      void greet.delay('bob', true);
    };
    expect(typeof ok).toBe('function');
  });

  it('rejects unknown configuration keys at compile time', () => {
    const never = (): Celeriac =>
      // @ts-expect-error not an option
      new Celeriac('x', { brokr: 'memory://' });
    expect(typeof never).toBe('function');
  });
});
