// Type-level checks of the RPC client: a method's argument and result types flow from the interface to
// call(), cast() and the proxy. `npm run typecheck` fails if any of these stop holding.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { RpcClient, type CallArgs, type RpcCallContext, type RpcDriver } from '../../src/rpc/index.js';

interface ComputeApi {
  add(args: { x: number; y: number }): number;
  greet(args: { name: string }, ctx?: RpcCallContext): Promise<string>;
  sum(a: number, b: number): number;
  now(): Date;
  name: string;
}

describe('RPC client types', () => {
  const client = new RpcClient<ComputeApi>(async () => ({}) as RpcDriver, { topic: 'compute' });

  it('types arguments and results from the interface', () => {
    expectTypeOf(client.call<'add'>).parameter(1).toEqualTypeOf<{ x: number; y: number } | [{ x: number; y: number }]>();
    expectTypeOf(client.call<'add'>).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(client.call<'greet'>).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf(client.call<'sum'>).parameter(1).toEqualTypeOf<[a: number, b: number]>();
    expectTypeOf<CallArgs<ComputeApi['now']>>().toEqualTypeOf<[]>();
    expectTypeOf(client.proxy.add).toEqualTypeOf<(args: { x: number; y: number }) => Promise<number>>();
    expectTypeOf(client.proxy.greet).parameters.toEqualTypeOf<[{ name: string }]>();
    expectTypeOf(client.proxy.sum).toEqualTypeOf<(a: number, b: number) => Promise<number>>();
    expectTypeOf(client.prepare({ server: 'h1' })).toEqualTypeOf<RpcClient<ComputeApi>>();
    expect(typeof client.proxy.add).toBe('function');
  });

  it('rejects wrong names and arguments at compile time', () => {
    const never = (): void => {
      // @ts-expect-error not a method of the interface
      void client.call('nope', {});
      // @ts-expect-error a property is not a method
      void client.call('name', []);
      // @ts-expect-error y is missing
      void client.call('add', { x: 1 });
      // @ts-expect-error a string is not a number
      void client.proxy.sum('1', 2);
      // @ts-expect-error too few arguments
      void client.call('sum', [1]);
    };
    expect(typeof never).toBe('function');
  });
});

describe('an untyped RPC client', () => {
  it('takes any arguments and gives unknown results', () => {
    const client = new RpcClient(async () => ({}) as RpcDriver, { topic: 'compute' });
    // Type checks only: the calls are never run (there is no driver behind this client).
    const calls = () => [client.call('anything', { x: 1 }), client.call('anything', [1, 'two'])] as const;
    expectTypeOf<ReturnType<typeof calls>[0]>().toEqualTypeOf<Promise<unknown>>();
    expectTypeOf<ReturnType<typeof calls>[1]>().toEqualTypeOf<Promise<unknown>>();
    expectTypeOf(client.proxy.whatever).parameters.toEqualTypeOf<[args: Record<string, unknown> | readonly unknown[]]>();
    expect(typeof client.prepare).toBe('function');
  });
});
