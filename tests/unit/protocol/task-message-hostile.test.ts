// Task messages that are well-formed JSON but hostile: time limits that are no limits, workflow entries that are
// not signatures, headers nested too deep, bodies over the size limit, compressed bodies.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MessageTooLargeError, ProtocolError } from '../../../src/errors.js';
import { CodecRegistry, jsonCodec } from '../../../src/protocol/codecs.js';
import type { RawMessage } from '../../../src/protocol/message.js';
import { buildTaskMessage, parseTaskMessage } from '../../../src/protocol/task-message.js';

const codecs = new CodecRegistry();
const base = (): RawMessage => buildTaskMessage({ id: 'i', name: 't', args: [1], now: 0, origin: 'o' }, jsonCodec);
const withEmbed = (embed: unknown): RawMessage => ({ ...base(), body: Buffer.from(JSON.stringify([[1], {}, embed])) });

describe('hostile task messages', () => {
  it('a time limit that is not a positive number is no limit', () => {
    for (const limit of [[-1, 0], [0, -5], ['10', null], [null, Number.MAX_VALUE]]) {
      const m = base();
      m.headers['timelimit'] = limit;
      const [hard, soft] = parseTaskMessage(m, codecs).timeLimit;
      expect(hard === null || hard > 0).toBe(true);
      expect(soft === null || soft > 0).toBe(true);
    }
  });

  it('links, chain and chord must be signatures', () => {
    expect(parseTaskMessage(withEmbed({ callbacks: [{ task: 'x', args: [], kwargs: {}, options: {} }] }), codecs).embed.callbacks).toHaveLength(1);
    expect(() => parseTaskMessage(withEmbed({ callbacks: [12] }), codecs)).toThrow(/callbacks\[0\] is not a signature/);
    expect(() => parseTaskMessage(withEmbed({ chain: 'x' }), codecs)).toThrow(/chain must be a list/);
    expect(() => parseTaskMessage(withEmbed({ chord: { task: 't', kwargs: [] } }), codecs)).toThrow(/chord: kwargs must be a mapping/);
    expect(() => parseTaskMessage(withEmbed({ errbacks: [{ task: 't', args: 'no' }] }), codecs)).toThrow(/args must be a list/);
  });

  it('refuses headers nested too deep and bodies over the limit', () => {
    const deep = base();
    deep.headers['x-deep'] = JSON.parse('{"a":'.repeat(200) + '1' + '}'.repeat(200)) as unknown;
    expect(() => parseTaskMessage(deep, codecs)).toThrow(MessageTooLargeError);
    const big = { ...base(), body: Buffer.from(JSON.stringify([['x'.repeat(2000)], {}, null])) };
    expect(() => parseTaskMessage(big, codecs, 1000)).toThrow(/over maxMessageSize/);
    expect(parseTaskMessage(big, codecs, 0).args).toHaveLength(1);
  });

  it("inflates kombu's compressed bodies, within the limit", () => {
    const m = base();
    const zipped = { ...m, body: deflateSync(m.body), headers: { ...m.headers, compression: 'application/x-gzip' } };
    expect(parseTaskMessage(zipped, codecs).args).toEqual([1]);
    expect(() => parseTaskMessage({ ...zipped, body: deflateSync(Buffer.alloc(100_000, 32)) }, codecs, 50_000)).toThrow(MessageTooLargeError);
    expect(() => parseTaskMessage({ ...m, headers: { ...m.headers, compression: 'application/x-gzip' } }, codecs)).toThrow(ProtocolError);
  });
});
