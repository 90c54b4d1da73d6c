/** argsrepr / kwargsrepr must read exactly as Celery writes them (Python repr). */
import { describe, expect, it } from 'vitest';
import { argsRepr, kwargsRepr, pyRepr } from '../../../src/protocol/pyrepr.js';
import { allMessages, eventFixtures } from './wire-fixtures.js';

describe("repr of the captured messages' arguments", () => {
  it.each(allMessages())('%s', (_label, fx, m) => {
    const [args, kwargs] = m.decoded_body;
    const h = m.envelope.headers;
    // Python keeps the caller's type: a tuple from delay()/apply_async((..)), a list from args=[...] (and () for []).
    const listForm = fx.python_call.includes('args=[') && args.length > 0;
    expect(listForm ? pyRepr(args) : argsRepr(args)).toBe(h['argsrepr']);
    expect(kwargsRepr(kwargs)).toBe(h['kwargsrepr']);
  });

  it('matches the repr strings in task-received events', () => {
    const received = eventFixtures().find(([n]) => n === 'task-received')?.[1].event as Record<string, unknown>;
    expect(argsRepr([2, 2])).toBe(received['args']);
    expect(kwargsRepr({})).toBe(received['kwargs']);
  });
});

describe('Python repr details', () => {
  it.each([
    [[], '()'],
    [[1], '(1,)'],
    [['a', null, true, false], "('a', None, True, False)"],
    [[[1, [2]], { a: { b: 1 } }], "([1, [2]], {'a': {'b': 1}})"],
  ])('argsRepr(%j) = %s', (args, want) => {
    expect(argsRepr(args)).toBe(want);
  });

  it.each([
    ["it's", `"it's"`],
    ['say "hi"', `'say "hi"'`],
    [`it's "both"`, `'it\\'s "both"'`],
    ['back\\slash', "'back\\\\slash'"],
    ['tab\tnl\ncr\r', "'tab\\tnl\\ncr\\r'"],
    ['\u0001\u007f', "'\\x01\\x7f'"],
    ['héllo ✓', "'héllo ✓'"],
  ])('strings: %j', (s, want) => {
    expect(pyRepr(s)).toBe(want);
  });

  it.each([
    [2.5, '2.5'],
    [1e-5, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [0.0001, '0.0001'],
    [1e21, '1e+21'],
    [1e16, '10000000000000000'],
    [-3, '-3'],
    [Number.NaN, 'nan'],
    [Number.POSITIVE_INFINITY, 'inf'],
    [Number.NEGATIVE_INFINITY, '-inf'],
  ])('numbers: %s', (n, want) => {
    expect(pyRepr(n)).toBe(want);
  });

  it('truncates long reprs to the limit', () => {
    const long = argsRepr(['x'.repeat(2000)]);
    expect(long).toHaveLength(1024);
    expect(long.endsWith('...')).toBe(true);
    expect(kwargsRepr({ k: 'v' }, 6)).toBe('{\'k...');
  });
});
