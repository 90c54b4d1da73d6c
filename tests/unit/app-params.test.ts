// Keyword arguments for TypeScript tasks: parameter names read from the function, Python's binding rules.
import { describe, expect, it } from 'vitest';
import { parameterNames, placeKwargs } from '../../src/app/params.js';

describe('parameterNames', () => {
  it('reads plain names and names with defaults, including defaults with commas and brackets', () => {
    expect(parameterNames((x: number, y: number) => x + y)).toEqual(['x', 'y']);
    expect(parameterNames((name: string, greeting = 'hello, (you)') => name + greeting)).toEqual(['name', 'greeting']);
    expect(parameterNames(function add(x: number, y = [1, 2], z = { a: 1 }) { return x + y.length + z.a; })).toEqual(['x', 'y', 'z']);
    expect(parameterNames(async (x: number) => x)).toEqual(['x']);
    expect(parameterNames(() => 1)).toEqual([]);
  });

  it('gives up on destructured and rest parameters', () => {
    expect(parameterNames(({ a }: { a: number }) => a)).toBeUndefined();
    expect(parameterNames((...rest: number[]) => rest)).toBeUndefined();
  });
});

describe('placeKwargs', () => {
  it('places kwargs by name after the positional arguments', () => {
    expect(placeKwargs([1], { b: 2 }, ['a', 'b'])).toEqual([1, 2]);
    expect(placeKwargs([], { b: 2, a: 1 }, ['a', 'b'])).toEqual([1, 2]);
  });

  it('passes kwargs matching no parameter as one trailing object', () => {
    expect(placeKwargs([1], { extra: true }, ['a', 'b'])).toEqual([1, undefined, { extra: true }]);
    expect(placeKwargs([1], { k: 'v' }, undefined)).toEqual([1, { k: 'v' }]);
  });

  it('refuses a kwarg that repeats a positional argument, as Python does', () => {
    expect(() => placeKwargs([1], { a: 2 }, ['a', 'b'])).toThrow(TypeError);
  });
});
