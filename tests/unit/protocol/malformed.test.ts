/** Malformed task messages and envelopes are refused with ProtocolError / ContentDisallowedError, never evaluated. */
import { describe, expect, it } from 'vitest';
import { ContentDisallowedError, ProtocolError } from '../../../src/errors.js';
import { CodecRegistry } from '../../../src/protocol/codecs.js';
import { decodeEnvelope } from '../../../src/protocol/envelope.js';
import type { RawMessage } from '../../../src/protocol/message.js';
import { parseTaskMessage } from '../../../src/protocol/task-message.js';

const codecs = new CodecRegistry();
const EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };

function msg(body: string | Buffer, headers: Record<string, unknown> = { task: 'tasks.add', id: 'id-1' }, contentType = 'application/json'): RawMessage {
  return { body: typeof body === 'string' ? Buffer.from(body) : body, contentType, contentEncoding: 'utf-8', headers, properties: {} };
}

const parse = (m: RawMessage) => () => parseTaskMessage(m, codecs);

describe('malformed task messages', () => {
  it('a body that is not JSON is a ProtocolError (not a content refusal)', () => {
    expect(parse(msg('[[1], {}, {'))).toThrow(ProtocolError);
    expect(parse(msg('[[1], {}, {'))).not.toThrow(ContentDisallowedError);
    expect(parse(msg('[[1], {}, {'))).toThrow(/not valid json/);
  });

  it('a body that is not [args, kwargs, embed] is refused', () => {
    expect(parse(msg('{"args": [1]}'))).toThrow(/body must be \[args, kwargs, embed\]/);
    expect(parse(msg('[[1]]'))).toThrow(ProtocolError);
    expect(parse(msg('"text"'))).toThrow(ProtocolError);
  });

  it('a v2 message without an id header is refused', () => {
    expect(parse(msg(JSON.stringify([[1], {}, EMBED]), { task: 'tasks.add' }))).toThrow(/no 'id' header/);
  });

  it('args must be a list and kwargs a mapping', () => {
    expect(parse(msg(JSON.stringify([{ a: 1 }, {}, EMBED])))).toThrow(/args must be a list/);
    expect(parse(msg(JSON.stringify([[1], [2], EMBED])))).toThrow(/kwargs must be a mapping/);
  });

  it('pickle and yaml are refused before decoding; so are unknown content types', () => {
    // A pickle that would run code if loaded: it must never reach a decoder.
    const pickle = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.");
    for (const type of ['application/x-python-serialize', 'application/data', 'application/x-yaml']) {
      expect(parse(msg(pickle, undefined, type))).toThrow(ContentDisallowedError);
    }
    expect(parse(msg(pickle, undefined, 'application/x-python-serialize'))).toThrow(/refusing to decode a pickle/);
    expect(parse(msg('[]', undefined, 'application/x-foo'))).toThrow(ContentDisallowedError);
    expect(parse(msg('[]', undefined, ''))).toThrow(ContentDisallowedError);
  });

  it('bad eta / expires headers are refused', () => {
    const body = JSON.stringify([[1], {}, EMBED]);
    expect(parse(msg(body, { task: 't', id: 'i', eta: 'soon' }))).toThrow(/'eta' is not an ISO-8601 time/);
    expect(parse(msg(body, { task: 't', id: 'i', expires: 12 }))).toThrow(/'expires' must be an ISO-8601 string/);
  });

  it('neither v2 headers nor a v1 body is not a task message', () => {
    expect(parse(msg(JSON.stringify([[1], {}, EMBED]), {}))).toThrow(/not a task message/);
  });

  it('protocol v1 (everything in the body) is still read', () => {
    const v1 = { task: 'tasks.add', id: 'v1-id', args: [1, 2], kwargs: { k: 1 }, retries: 2, eta: '2030-01-02T03:04:05+00:00', taskset: 'g', timelimit: [30, 10] };
    const req = parseTaskMessage(msg(JSON.stringify(v1), {}), codecs);
    expect(req).toMatchObject({ id: 'v1-id', name: 'tasks.add', args: [1, 2], kwargs: { k: 1 }, retries: 2, groupId: 'g', timeLimit: [30, 10], argsrepr: '(1, 2)' });
    expect(req.eta?.toISOString()).toBe('2030-01-02T03:04:05.000Z');
  });

  it('tolerates missing optional headers and newer Celery headers', () => {
    const req = parseTaskMessage(msg(JSON.stringify([[], {}]), { task: 't', id: 'i', stamped_headers: ['s'], stamps: { s: 1 }, replaced_task_nesting: 0 }), codecs);
    expect(req).toMatchObject({ id: 'i', timeLimit: [null, null], retries: 0, rootId: null, lang: 'py', embed: EMBED });
    expect(req.headers['stamps']).toEqual({ s: 1 });
  });
});

describe('malformed envelopes', () => {
  it('refuses text that is not a kombu envelope', () => {
    expect(() => decodeEnvelope('{not json')).toThrow(ProtocolError);
    expect(() => decodeEnvelope('[1, 2]')).toThrow(/not a kombu envelope/);
    expect(() => decodeEnvelope('{"body": 1, "properties": {}}')).toThrow(ProtocolError);
    expect(() => decodeEnvelope('{"body": "x", "properties": {"body_encoding": "rot13"}}')).toThrow(/unsupported body_encoding/);
  });
});
