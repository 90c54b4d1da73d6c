// Type-level checks of Pyro proxies: a method's parameters and result type flow to the proxy (`Promise<R>`),
// generator methods stream, properties are awaited, `_names` are not remote, batches give typed tuples.
// `npm run typecheck` fails if these stop holding; vitest runs the file (no daemon needed: nothing is awaited).
import { describe, expect, expectTypeOf, it } from 'vitest';
import { proxy, type Remote, type RemoteIterator, type RemoteStream } from '../../src/rpc/objects/index.js';

class Greeter {
  getFortune(name: string): string {
    return name;
  }
  async later(n: number): Promise<number> {
    return n;
  }
  *numbers(n: number): Generator<number> {
    yield n;
  }
  async *ticks(): AsyncGenerator<string> {
    yield 'x';
  }
  list(): number[] {
    return [];
  }
  get name(): string {
    return 'g';
  }
  _private(): void {}
}

describe('Pyro proxy types', () => {
  const p: Remote<Greeter> = proxy<Greeter>('PYRO:g@127.0.0.1:1');

  it('maps methods to Promise-returning ones, generators to streams, properties to promises', () => {
    expectTypeOf(p.getFortune).parameters.toEqualTypeOf<[name: string]>();
    expectTypeOf(p.getFortune).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(p.later).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(p.list).returns.toEqualTypeOf<Promise<number[]>>();
    expectTypeOf(p.numbers).returns.toEqualTypeOf<RemoteStream<number>>();
    expectTypeOf(p.ticks).returns.toEqualTypeOf<RemoteStream<string>>();
    expectTypeOf<Awaited<RemoteStream<number>>>().toEqualTypeOf<RemoteIterator<number>>();
    expectTypeOf(p.name).toEqualTypeOf<Promise<string>>();
    expectTypeOf(p).not.toHaveProperty('_private');
    const batch = () => p._pyroBatch((b) => [b.getFortune('a'), b.later(1)] as const); // typed, never sent
    expectTypeOf(batch).returns.toEqualTypeOf<Promise<[string, number]>>();
    expectTypeOf(p._pyroSetAttr<'name'>).parameters.toEqualTypeOf<['name', string]>();
    expect(p._pyroUri).toBe('PYRO:g@127.0.0.1:1');
    p._pyroRelease();
  });
});
