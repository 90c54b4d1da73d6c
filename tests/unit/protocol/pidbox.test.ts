// pidbox bodies against the golden captures from Celery 5.2.6 (tests/fixtures/wire/pidbox).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../../src/protocol/envelope.js';
import { buildPidboxReply, buildPidboxRequest, parsePidboxReply, parsePidboxRequest, pidboxNames, type PidboxRequest } from '../../../src/protocol/pidbox.js';
import { ProtocolError } from '../../../src/errors.js';
import { WIRE_DIR } from './wire-fixtures.js';

interface PidboxFixture {
  python_call: string;
  channel?: string;
  queue_list?: string;
  envelope: { headers: Record<string, unknown>; properties: Record<string, unknown> & { delivery_info: { exchange: string; routing_key: string } } };
  decoded_body: Record<string, unknown>;
  raw: string;
}

const dir = join(WIRE_DIR, 'pidbox');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as PidboxFixture] as const);
const requests = fixtures.filter(([n]) => n.endsWith('_request'));
const replies = fixtures.filter(([n]) => n.endsWith('_reply'));

describe('pidbox names', () => {
  it('are kombu\'s for the celery namespace', () => {
    const n = pidboxNames();
    expect(n.exchange).toBe('celery.pidbox');
    expect(n.replyExchange).toBe('reply.celery.pidbox');
    expect(n.nodeQueue('w1@host')).toBe('w1@host.celery.pidbox');
    expect(n.replyQueue('abc')).toBe('abc.reply.celery.pidbox');
    expect(pidboxNames('other').exchange).toBe('other.pidbox');
  });

  it('match the captured channels and reply lists', () => {
    for (const [, f] of requests) expect(f.channel).toBe(`/13.${pidboxNames().exchange}`);
    for (const [, f] of replies) {
      const key = f.envelope.properties.delivery_info.routing_key;
      expect(f.queue_list).toBe(pidboxNames().replyQueue(key));
      expect(f.envelope.properties.delivery_info.exchange).toBe('reply.celery.pidbox');
    }
  });
});

describe('pidbox requests', () => {
  it.each(requests)('%s parses as Celery sent it', (_name, f) => {
    const { message } = decodeEnvelope(f.raw);
    const parsed = parsePidboxRequest(message);
    expect(parsed.request).toEqual(f.decoded_body);
    expect(parsed.clock).toBe(f.envelope.headers['clock']);
    expect(parsed.expires).toBe(f.envelope.headers['expires']);
  });

  it.each(requests)('%s is rebuilt field for field, keys in kombu order', (_name, f) => {
    const body = f.decoded_body as unknown as PidboxRequest;
    const msg = buildPidboxRequest(body, { clock: f.envelope.headers['clock'] as number, expires: f.envelope.headers['expires'] as number });
    expect(JSON.parse(msg.body.toString())).toEqual(f.decoded_body);
    expect(Object.keys(JSON.parse(msg.body.toString()) as object)).toEqual(Object.keys(f.decoded_body));
    expect(msg.headers).toEqual(f.envelope.headers);
    expect(msg.contentType).toBe('application/json');
    const envelope = JSON.parse(encodeEnvelope(msg, f.envelope.properties.delivery_info, 'tag')) as { properties: Record<string, unknown> };
    expect(envelope.properties['delivery_mode']).toBe(f.envelope.properties['delivery_mode']);
  });

  it('refuses bodies that are not JSON or have no method, with a ProtocolError', () => {
    const base = buildPidboxRequest({ method: 'ping', arguments: {}, destination: null, pattern: null, matcher: null }, { clock: 1, expires: 0 });
    expect(() => parsePidboxRequest({ ...base, body: Buffer.from('{nope') })).toThrow(ProtocolError);
    expect(() => parsePidboxRequest({ ...base, body: Buffer.from('{"arguments": {}}') })).toThrow(/no method/);
    expect(() => parsePidboxRequest({ ...base, contentType: 'application/x-python-serialize' })).toThrow(/only accepts application\/json/);
    expect(() => parsePidboxRequest({ ...base, body: Buffer.from('{"method": "x", "arguments": [1]}') })).toThrow(/not a mapping/);
  });
});

describe('pidbox replies', () => {
  it.each(replies)('%s parses and is rebuilt as Celery sent it', (_name, f) => {
    const { message } = decodeEnvelope(f.raw);
    const parsed = parsePidboxReply(message);
    expect(parsed.replies).toEqual(f.decoded_body);
    expect(parsed.ticket).toBe(f.envelope.headers['ticket']);
    const [host, reply] = Object.entries(f.decoded_body)[0] as [string, unknown];
    const built = buildPidboxReply(host, reply, { ticket: parsed.ticket as string, clock: parsed.clock as number });
    expect(built.headers).toEqual(f.envelope.headers);
    expect(JSON.parse(built.body.toString())).toEqual(f.decoded_body);
    const envelope = JSON.parse(encodeEnvelope(built, f.envelope.properties.delivery_info, 'tag')) as { properties: Record<string, unknown> };
    expect(envelope.properties['delivery_mode']).toBe(1);
  });
});
