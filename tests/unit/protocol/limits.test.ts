// Message limits: body size, stored envelope size, nesting depth, bounded decompression.
import { deflateSync, brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ContentDisallowedError, MessageTooLargeError, ProtocolError } from '../../../src/errors.js';
import { CodecRegistry } from '../../../src/protocol/codecs.js';
import { decompressBody } from '../../../src/protocol/compression.js';
import { checkDepth, checkOutgoingSize, DEFAULT_MAX_MESSAGE_SIZE, envelopeTooLarge, messageSizeLimit, sizeProblem } from '../../../src/protocol/limits.js';

describe('size limits', () => {
  it('reads the option, with 0 for no limit and the default for nonsense', () => {
    expect(messageSizeLimit(undefined)).toBe(DEFAULT_MAX_MESSAGE_SIZE);
    expect(messageSizeLimit('1024')).toBe(1024);
    expect(messageSizeLimit(0)).toBe(0);
    expect(messageSizeLimit(-5)).toBe(DEFAULT_MAX_MESSAGE_SIZE);
    expect(messageSizeLimit('lots')).toBe(DEFAULT_MAX_MESSAGE_SIZE);
  });

  it('refuses a body over the limit on send, saying what to do; 0 means none', () => {
    expect(sizeProblem(10, 10)).toBeUndefined();
    expect(sizeProblem(11, 10)).toMatch(/over maxMessageSize/);
    expect(sizeProblem(10 ** 9, 0)).toBeUndefined();
    expect(() => checkOutgoingSize(2 << 20, 1 << 20, "publish to 'q'")).toThrow(MessageTooLargeError);
    expect(() => checkOutgoingSize(2 << 20, 1 << 20, "publish to 'q'")).toThrow(/Send a reference instead/);
  });

  it('a stored envelope too long for any body within the limit is refused unread', () => {
    expect(envelopeTooLarge(1000, 0)).toBe(false);
    expect(envelopeTooLarge(Math.ceil((3000 * 4) / 3) + 65_536, 3000)).toBe(false);
    expect(envelopeTooLarge(Math.ceil((3000 * 4) / 3) + 65_537, 3000)).toBe(true);
  });
});

describe('nesting depth', () => {
  const nested = (d: number): unknown => JSON.parse('['.repeat(d) + ']'.repeat(d));
  it('walks only bodies long enough to nest too deep, without recursion', () => {
    expect(() => checkDepth(nested(100), 200, 2)).not.toThrow();
    expect(() => checkDepth(nested(101), 202, 2)).toThrow(MessageTooLargeError);
    expect(() => checkDepth(nested(200_000), 400_000, 2)).toThrow(/levels deep/);
    expect(() => checkDepth({ a: Buffer.alloc(10_000) }, 10_000)).not.toThrow();
  });

  it('the codec registry refuses deep JSON and msgpack bodies', () => {
    const codecs = new CodecRegistry();
    expect(() => codecs.decode('application/json', Buffer.from('['.repeat(500) + ']'.repeat(500)))).toThrow(MessageTooLargeError);
    const msgpack = Buffer.concat([Buffer.alloc(500, 0x91), Buffer.from([0x90])]);
    expect(() => codecs.decode('application/x-msgpack', msgpack)).toThrow(MessageTooLargeError);
    expect(codecs.decode('application/json', Buffer.from('[[1],{},null]'))).toEqual([[1], {}, null]);
  });
});

describe('decompression', () => {
  const body = Buffer.from('[[1, 2], {}, null]');
  it("inflates kombu's zlib and brotli bodies; no header, no change", () => {
    expect(decompressBody({}, body, 0)).toBe(body);
    expect(decompressBody({ compression: 'application/x-gzip' }, deflateSync(body), 100)).toEqual(body);
    expect(decompressBody({ compression: 'application/x-brotli' }, brotliCompressSync(body), 100)).toEqual(body);
  });

  it('a body that inflates past the limit is refused without inflating it all', () => {
    const bomb = deflateSync(Buffer.alloc(64 << 20));
    expect(() => decompressBody({ compression: 'application/x-gzip' }, bomb, 1 << 20)).toThrow(MessageTooLargeError);
  });

  it('unknown compressors and bodies that are not compressed are clear errors', () => {
    expect(() => decompressBody({ compression: 'application/x-bz2' }, body, 0)).toThrow(ContentDisallowedError);
    expect(() => decompressBody({ compression: 'application/x-gzip' }, body, 0)).toThrow(ProtocolError);
    expect(() => decompressBody({ compression: 42 }, body, 0)).toThrow(/must be a content type/);
  });
});
