/** Direct RPC bodies and handshake proofs: codecs, request checks, HMAC proofs in both directions. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, FrameError } from '../../../src/errors.js';
import { CodecId } from '../../../src/rpc/framing.js';
import { BodyCodecs, toErrorInfo, toGoAway, toRequest, type BodyCodec } from '../../../src/rpc/tcp/body.js';
import { NONCE_BYTES, nonceOf, proofMatches, proofOf, secretBuffer, toHello } from '../../../src/rpc/tcp/handshake.js';
import { tcpSettings } from '../../../src/rpc/tcp/options.js';

const asBuffer = (b: Buffer | string): Buffer => (typeof b === 'string' ? Buffer.from(b) : b);

describe('bodies', () => {
  const codecs = new BodyCodecs();

  it('round-trips requests and results in json and msgpack; undefined is an empty body', () => {
    const request = { method: 'add', args: [1, 2], namespace: 'calc', version: '1.2', context: { user: 'u' } };
    for (const id of [CodecId.JSON, CodecId.MSGPACK]) {
      expect(toRequest(codecs.decode(id, asBuffer(codecs.encode(id, request, 'request')), 'request'))).toEqual(request);
      expect(codecs.decode(id, asBuffer(codecs.encode(id, { r: [1, 'é'] }, 'reply')), 'reply')).toEqual({ r: [1, 'é'] });
      expect(asBuffer(codecs.encode(id, undefined, 'reply')).length).toBe(0);
      expect(codecs.decode(id, Buffer.alloc(0), 'reply')).toBeUndefined();
    }
  });

  it('turns undecodable bytes and unserved codecs into FrameError', () => {
    expect(() => codecs.decode(CodecId.JSON, Buffer.from('{"method": "add", '), 'request')).toThrow(/request body is not valid json/);
    expect(() => codecs.decode(CodecId.MSGPACK, Buffer.from([0x92, 0x01]), 'request')).toThrow(FrameError);
    expect(() => codecs.decode(CodecId.PROTOBUF, Buffer.from([1]), 'request')).toThrow(/protobuf codec, which this side does not serve/);
  });

  it('takes extra codecs (protobuf stubs) with the kind of body they carry', () => {
    const kinds: string[] = [];
    const fake: BodyCodec = {
      id: CodecId.PROTOBUF,
      name: 'protobuf',
      encode: (value, kind, method) => (kinds.push(`${kind} ${method ?? ''}`), Buffer.from(JSON.stringify(value))),
      decode: (body, kind, method) => (kinds.push(`${kind} ${method ?? ''}`), JSON.parse(body.toString())),
    };
    const withProto = new BodyCodecs([fake]);
    const body = withProto.encode(CodecId.PROTOBUF, { method: 'm', args: {} }, 'request');
    expect(withProto.decode(CodecId.PROTOBUF, asBuffer(body), 'request')).toEqual({ method: 'm', args: {} });
    expect(withProto.decode(CodecId.PROTOBUF, asBuffer(withProto.encode(CodecId.PROTOBUF, 7, 'reply', 'm')), 'reply', 'm')).toBe(7);
    expect(kinds).toEqual(['request ', 'request ', 'reply m', 'reply m']);
    expect(tcpSettings('tcp://h:1', { codec: 'protobuf', bodyCodecs: [fake] }).codec).toBe(fake);
  });

  it('checks the shape of requests', () => {
    expect(toRequest({ method: 'm' })).toEqual({ method: 'm', args: {} });
    expect(() => toRequest([1])).toThrow(/must be an object with 'method' and 'args', not an array/);
    expect(() => toRequest({ method: '' })).toThrow(/needs 'method'/);
    expect(() => toRequest({ method: 'm', args: 3 })).toThrow(/'args' of a request must be an object or an array/);
    expect(() => toRequest({ method: 'm', args: [], version: 2 })).toThrow(/'version'/);
    expect(() => toRequest({ method: 'm', args: [], context: [] })).toThrow(/'context'/);
  });

  it('reads error and goaway bodies, even broken ones', () => {
    expect(toErrorInfo({ type: 'ValueError', message: 'bad', module: 'builtins', stack: 's', data: 1 })).toEqual({
      type: 'ValueError',
      message: 'bad',
      module: 'builtins',
      stack: 's',
      data: 1,
    });
    expect(toErrorInfo('nope').message).toMatch(/without type and message/);
    expect(toGoAway({ code: 'closing', message: 'bye' })).toEqual({ code: 'closing', message: 'bye' });
    expect(toGoAway(null).code).toBe('E_RPC_FRAME');
  });
});

describe('handshake proofs', () => {
  const secret = Buffer.from('s3cret');
  const sn = randomBytes(NONCE_BYTES);
  const cn = randomBytes(NONCE_BYTES);

  it('binds the proof to the role, both nonces and the secret', () => {
    const client = proofOf(secret, 'client', sn, cn);
    expect(proofMatches(client, client.toString('base64'))).toBe(true);
    expect(proofMatches(client, proofOf(secret, 'server', sn, cn).toString('base64'))).toBe(false);
    expect(proofMatches(client, proofOf(secret, 'client', cn, sn).toString('base64'))).toBe(false);
    expect(proofMatches(client, proofOf(Buffer.from('other'), 'client', sn, cn).toString('base64'))).toBe(false);
    expect(proofMatches(client, client.subarray(0, 16).toString('base64'))).toBe(false);
    expect(proofMatches(client, 42)).toBe(false);
  });

  it('reads nonces, secrets and greetings', () => {
    expect(nonceOf(sn.toString('base64'))?.equals(sn)).toBe(true);
    expect(nonceOf(randomBytes(8).toString('base64'))).toBeUndefined();
    expect(secretBuffer('')).toBeUndefined();
    expect(secretBuffer('x')?.toString()).toBe('x');
    expect(toHello({ protocol: 1, auth: false })).toEqual({ protocol: 1, auth: false });
    expect(() => toHello({ protocol: 2, auth: false })).toThrow(/protocol 2/);
    expect(() => toHello({ protocol: 1, auth: true })).toThrow(/without a valid nonce/);
    expect(() => toHello('hi')).toThrow(/unreadable HELLO/);
  });
});

describe('tcp settings', () => {
  it('reads tcp:// and tls:// URLs', () => {
    expect(tcpSettings('tcp://127.0.0.1:0')).toMatchObject({ host: '127.0.0.1', port: 0, tls: undefined, url: 'tcp://127.0.0.1:0' });
    expect(tcpSettings('tls://[::1]:4000')).toMatchObject({ host: '::1', port: 4000, tls: {}, url: 'tls://[::1]:4000' });
    expect(tcpSettings('tcp://h:1', { tls: { ca: 'x' } }).url).toBe('tls://h:1');
    expect(tcpSettings('tcp://h:1', { secret: 'k', maxMessageSize: 4096, codec: 'msgpack' })).toMatchObject({ maxBody: 4096 });
  });

  it('says what is wrong with a bad URL or option', () => {
    expect(() => tcpSettings('http://h:1')).toThrow(ConfigError);
    expect(() => tcpSettings('tcp://h')).toThrow(/needs a host and a port/);
    expect(() => tcpSettings('tcp://h:1/x')).toThrow(/more than host and port/);
    expect(() => tcpSettings('tcp://h:1', { codec: 'xml' })).toThrow(/unknown codec 'xml'/);
    expect(() => tcpSettings('tcp://h:1', { maxMessageSize: 10 })).toThrow(/maxMessageSize/);
    expect(() => tcpSettings('tcp://h:1', { frameTimeout: -1 })).toThrow(/frameTimeout/);
  });
});
