// Headers amqplib cannot encode by its own guess are wrapped; the rest pass through untouched.
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { fieldTable } from '../../../src/transport/amqp/headers.js';

// amqplib's own table encoder (not exported by the package: loaded by file).
const { encodeTable } = createRequire(import.meta.url)(`${process.cwd()}/node_modules/amqplib/lib/codec.js`) as { encodeTable(buf: Buffer, table: unknown, offset: number): number };

describe('AMQP field tables', () => {
  it('passes plain headers through as they are', () => {
    const h = { lang: 'py', retries: 3, timelimit: [null, null], eta: null, big: 2 ** 40, f: 1.5, nested: { a: [1, 'x'] } };
    expect(fieldTable(h)).toBe(h);
  });

  it('wraps numbers and keys that would make amqplib throw, so the publish goes out', () => {
    const h = { a: -4.3e43, b: Number.NaN, c: -Infinity, d: 1.5e15 + 0.5, e: { '!': 'x', y: 1 }, f: [1e300, undefined], g: undefined, h: 10n };
    const t = fieldTable(h);
    expect(() => encodeTable(Buffer.alloc(4096), t, 0)).not.toThrow();
    expect(t['a']).toEqual({ '!': 'double', value: -4.3e43 });
    expect(t['e']).toEqual({ '!': 'object', value: { '!': 'x', y: 1 } });
    expect('g' in t).toBe(false);
    expect(t['h']).toBe('10');
  });

  it('keeps a key named __proto__ an own header, never the table\'s prototype (found by tests/fuzz)', () => {
    const h = JSON.parse('{"x-a": {"__proto__": -1.7976931348623157e308, "k": 1}, "x-b": [{"!": 1, "__proto__": -4e51}]}') as Record<string, unknown>;
    const t = fieldTable(h);
    expect(() => encodeTable(Buffer.alloc(4096), t, 0)).not.toThrow();
    const a = t['x-a'] as Record<string, unknown>;
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(Object.keys(a)).toEqual(['__proto__', 'k']);
    expect(Object.getOwnPropertyDescriptor(a, '__proto__')?.value).toEqual({ '!': 'double', value: -1.7976931348623157e308 });
    expect(({} as Record<string, unknown>)['!']).toBeUndefined();
  });
});
