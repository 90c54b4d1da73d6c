/** Codecs: JSON and msgpack round trips; pickle/yaml/unknown refused. */
import { describe, expect, it } from 'vitest';
import { ContentDisallowedError, ProtocolError } from '../../../src/errors.js';
import { CodecRegistry, jsonCodec, msgpackCodec, type Codec } from '../../../src/protocol/codecs.js';

const value = [[1, 2.5, 's', true, null, [1, [2]], { a: { b: 1 } }], { k: 'v', n: null, big: 2 ** 40 }, { callbacks: null }];

describe('codecs', () => {
  it.each([jsonCodec, msgpackCodec])('$name round-trips JSON values', (codec: Codec) => {
    const registry = new CodecRegistry();
    expect(registry.decode(codec.contentType, codec.encode(value))).toEqual(value);
  });

  it('json encodes compact UTF-8', () => {
    expect(jsonCodec.encode({ a: 'é' }).toString('utf8')).toBe('{"a":"é"}');
    expect(jsonCodec.contentEncoding).toBe('utf-8');
    expect(msgpackCodec.contentType).toBe('application/x-msgpack');
  });

  it('ignores content-type parameters and case', () => {
    const registry = new CodecRegistry();
    expect(registry.decode('Application/JSON; charset=utf-8', Buffer.from('[1]'))).toEqual([1]);
  });

  it('refuses pickle, yaml and unknown types; reports undecodable bodies', () => {
    const registry = new CodecRegistry();
    expect(() => registry.decode('application/x-python-serialize', Buffer.from('x'))).toThrow(ContentDisallowedError);
    expect(() => registry.decode('application/x-yaml', Buffer.from('x'))).toThrow(ContentDisallowedError);
    expect(() => registry.decode('text/plain', Buffer.from('x'))).toThrow(/unknown content type 'text\/plain'/);
    expect(() => registry.decode('application/json', Buffer.from('{'))).toThrow(ProtocolError);
  });

  it('is a value: a registry holds only what it was given, and looks codecs up by name', () => {
    const jsonOnly = new CodecRegistry([jsonCodec]);
    expect(() => jsonOnly.decode(msgpackCodec.contentType, msgpackCodec.encode(1))).toThrow(ContentDisallowedError);
    expect(new CodecRegistry().byNameOrThrow('msgpack')).toBe(msgpackCodec);
    expect(() => jsonOnly.byNameOrThrow('pickle')).toThrow(/unknown serializer 'pickle'/);
  });
});
