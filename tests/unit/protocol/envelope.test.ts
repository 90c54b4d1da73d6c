/** The kombu envelope: layout, round trip and redelivery marks. */
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../../src/protocol/envelope.js';
import type { RawMessage } from '../../../src/protocol/message.js';

const message: RawMessage = {
  body: Buffer.from([0, 1, 2, 250, 255]),
  contentType: 'application/x-msgpack',
  contentEncoding: 'binary',
  headers: { task: 't', nested: { a: [1, null] } },
  properties: { correlation_id: 'c', reply_to: 'r', delivery_mode: 2, expiration: '500', priority: 7 },
};

describe('kombu envelope', () => {
  it('round-trips a message, body bytes included', () => {
    const text = encodeEnvelope(message, { exchange: 'ex', routing_key: 'rk' }, 'tag-1');
    const env = decodeEnvelope(text);
    expect(env.message).toEqual(message);
    expect(env.deliveryInfo).toEqual({ exchange: 'ex', routing_key: 'rk' });
    expect(env.deliveryTag).toBe('tag-1');
    expect(env.redelivered).toBe(false);
  });

  it("writes kombu's key order and a priority of 0 when the message has none", () => {
    const { priority: _p, ...props } = message.properties;
    const parsed = JSON.parse(encodeEnvelope({ ...message, properties: props }, { exchange: '', routing_key: 'q' }, 't')) as Record<string, Record<string, unknown>>;
    expect(Object.keys(parsed)).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
    expect(Object.keys(parsed['properties'] as object)).toEqual(['correlation_id', 'reply_to', 'delivery_mode', 'expiration', 'delivery_info', 'priority', 'body_encoding', 'delivery_tag']);
    expect(parsed['properties']?.['priority']).toBe(0);
    expect(parsed['properties']?.['body_encoding']).toBe('base64');
    expect(parsed['body']).toBe(Buffer.from([0, 1, 2, 250, 255]).toString('base64'));
  });

  it('writes exactly the text JSON.stringify gives for the envelope object (undefined left out, strings escaped)', () => {
    const odd: RawMessage = {
      ...message,
      contentType: 'application/"json"',
      headers: { task: 'é\u2028"q"', argsrepr: '(1, \'\\n\')', skipped: undefined, list: [1.5, true, null] },
      properties: { correlation_id: 'c"1', reply_to: undefined, delivery_mode: 1, priority: undefined },
    };
    const info = { exchange: 'ex"', routing_key: 'rk\n' };
    const { priority, ...props } = odd.properties;
    const expected = JSON.stringify({
      body: odd.body.toString('base64'),
      'content-encoding': odd.contentEncoding,
      'content-type': odd.contentType,
      headers: odd.headers,
      properties: { ...props, delivery_info: info, priority: priority ?? 0, body_encoding: 'base64', delivery_tag: 'tag "2"' },
    });
    expect(encodeEnvelope(odd, info, 'tag "2"')).toBe(expected);
  });

  it('reads redelivered from delivery_info or headers (kombu sets both on restore)', () => {
    const base = JSON.parse(encodeEnvelope(message, { exchange: '', routing_key: 'q' }, 't')) as { headers: Record<string, unknown>; properties: { delivery_info: Record<string, unknown> } };
    base.properties.delivery_info['redelivered'] = true;
    expect(decodeEnvelope(JSON.stringify(base)).redelivered).toBe(true);
    delete base.properties.delivery_info['redelivered'];
    base.headers['redelivered'] = true;
    expect(decodeEnvelope(JSON.stringify(base)).redelivered).toBe(true);
  });

  it('accepts a utf-8 body_encoding and fills defaults for missing fields', () => {
    const env = decodeEnvelope(JSON.stringify({ body: '[1]', properties: { body_encoding: 'utf-8' } }));
    expect(env.message.body.toString()).toBe('[1]');
    expect(env.message.contentType).toBe('application/json');
    expect(env.message.headers).toEqual({});
    expect(env.deliveryInfo).toEqual({ exchange: '', routing_key: '' });
  });
});
