// The broker RPC codec (oslo.messaging's rabbit wire format) against golden messages captured from Python
// oslo.messaging 14.0.3 (tests/fixtures/python/oslo_capture.py wrote tests/fixtures/oslo/*.json).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RawMessage } from '../../../src/protocol/message.js';
import { fanoutExchange, listenerTopology, replyQueueDeclaration, requestRoute } from '../../../src/rpc/broker/topology.js';
import { decodeFailure, decodeReply, decodeRequest, encodeFailure, encodeReply, encodeRequest } from '../../../src/rpc/broker/wire.js';

interface Golden {
  exchange: string;
  routing_key: string;
  properties: { content_type: string; content_encoding: string; delivery_mode: number; priority: number; expiration?: string; application_headers: Record<string, unknown> };
  body: string;
}

const golden = (name: string): Golden => JSON.parse(readFileSync(new URL(`../../fixtures/oslo/${name}.json`, import.meta.url), 'utf8')) as Golden;

function raw(g: Golden): RawMessage {
  const p = g.properties;
  return {
    body: Buffer.from(g.body, 'utf8'),
    contentType: p.content_type,
    contentEncoding: p.content_encoding,
    headers: p.application_headers,
    properties: { delivery_mode: p.delivery_mode, priority: p.priority, ...(p.expiration ? { expiration: p.expiration } : {}) },
  };
}

/** The oslo.message payload of a body, parsed (key order kept). */
const payload = (body: string | Buffer): Record<string, unknown> => JSON.parse((JSON.parse(body.toString()) as Record<string, string>)['oslo.message'] as string) as Record<string, unknown>;

const jsonOf = (text: string): RawMessage => ({ body: Buffer.from(text), contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: {} });
const envelope = (inner: unknown): RawMessage => jsonOf(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify(inner) }));

describe('requests', () => {
  it('reads a Python call: method, keyword args, context, reply address, call-monitor timeout', () => {
    const g = golden('call');
    const p = payload(g.body);
    const d = decodeRequest(raw(g));
    expect(d).toEqual({
      ok: true,
      value: {
        request: { method: 'add', args: { x: 2, y: 40 }, context: { user: 'alice', request_id: 'req-1' } },
        uniqueId: p['_unique_id'],
        msgId: p['_msg_id'],
        replyQueue: p['_reply_q'],
        callMonitorTimeout: 2,
      },
    });
    expect(String(p['_reply_q'])).toMatch(/^reply_[0-9a-f]{32}$/);
  });

  it('writes the same call as Python: payload fields in the same order, same properties', () => {
    const g = golden('call');
    const p = payload(g.body);
    const ids = { uniqueId: String(p['_unique_id']), msgId: String(p['_msg_id']), replyQueue: String(p['_reply_q']), callMonitorTimeout: 2 };
    const msg = encodeRequest({ method: 'add', args: { x: 2, y: 40 }, context: { user: 'alice', request_id: 'req-1' } }, ids, 3000);
    const mine = payload(msg.body);
    expect(Object.keys(mine)).toEqual(Object.keys(p));
    expect(mine).toEqual(p);
    expect(Object.keys(JSON.parse(msg.body.toString()) as object)).toEqual(Object.keys(JSON.parse(g.body) as object));
    expect(msg).toMatchObject({ contentType: g.properties.content_type, contentEncoding: g.properties.content_encoding, headers: {} });
    expect(msg.properties).toEqual({ delivery_mode: 2, priority: 0, expiration: '3000' });
  });

  it('reads and writes casts: to the topic, to one server with namespace and version, fanout', () => {
    for (const [name, request] of [
      ['cast', { method: 'ping', args: { x: 1, name: 'a' }, context: { user: 'alice', request_id: 'req-1' } }],
      ['cast-server', { method: 'ping', args: { x: 2 }, namespace: 'ns', version: '1.2', context: { user: 'alice', request_id: 'req-1' } }],
      ['fanout-cast', { method: 'reload', args: { force: true }, context: { user: 'alice', request_id: 'req-1' } }],
    ] as const) {
      const g = golden(name);
      const p = payload(g.body);
      const d = decodeRequest(raw(g));
      expect(d, name).toEqual({ ok: true, value: { request, uniqueId: p['_unique_id'] } });
      const msg = encodeRequest(request, { uniqueId: String(p['_unique_id']) });
      expect(Object.keys(payload(msg.body)), name).toEqual(Object.keys(p));
      expect(payload(msg.body), name).toEqual(p);
      expect(msg.properties, name).toEqual({ delivery_mode: g.properties.delivery_mode, priority: g.properties.priority });
    }
  });

  it('routes as oslo publishes: control exchange by topic or topic.server, <topic>_fanout for fanout', () => {
    expect(golden('cast')).toMatchObject({ exchange: 'openstack', routing_key: 'golden' });
    expect(requestRoute({ topic: 'golden' }, 'openstack')).toEqual({ exchange: 'openstack', routingKey: 'golden', fanout: false });
    expect(golden('cast-server')).toMatchObject({ exchange: 'openstack', routing_key: 'golden.s1' });
    expect(requestRoute({ topic: 'golden', server: 's1' }, 'openstack')).toEqual({ exchange: 'openstack', routingKey: 'golden.s1', fanout: false });
    expect(requestRoute({ topic: 'golden', server: 's1', exchange: 'nova' }, 'openstack').exchange).toBe('nova');
    expect(golden('fanout-cast').exchange).toBe(fanoutExchange('golden'));
    // oslo publishes fanout casts with an empty key; celeriac with the topic (ignored by fanout exchanges,
    // matched by brokers whose fanout filters by key).
    expect(requestRoute({ topic: 'golden', fanout: true, server: 's1' }, 'openstack')).toEqual({ exchange: 'golden_fanout', routingKey: 'golden', fanout: true });
  });
});

describe('replies', () => {
  it('reads a result, a heartbeat and the result after heartbeats', () => {
    const reply = decodeReply(raw(golden('reply')));
    expect(reply).toEqual({ ok: true, value: { msgId: payload(golden('reply').body)['_msg_id'], uniqueId: payload(golden('reply').body)['_unique_id'], outcome: { ok: true, result: 42 }, ending: true } });
    const beat = decodeReply(raw(golden('heartbeat')));
    expect(beat.ok && beat.value.outcome).toBe(undefined);
    expect(beat.ok && beat.value.ending).toBe(false);
    const after = decodeReply(raw(golden('reply-after-heartbeat')));
    expect(after.ok && after.value).toMatchObject({ outcome: { ok: true, result: 'done' }, ending: true });
    expect(after.ok && beat.ok && after.value.msgId === beat.value.msgId).toBe(true);
  });

  it('reads a Python failure as a RemoteErrorInfo: type, module, message, traceback', () => {
    const d = decodeReply(raw(golden('reply-failure')));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const outcome = d.value.outcome;
    expect(outcome?.ok).toBe(false);
    if (!outcome || outcome.ok) return;
    expect(outcome.error).toMatchObject({ type: 'ValueError', module: 'builtins', message: 'bad x: 7' });
    expect(outcome.error.stack).toMatch(/^Traceback \(most recent call last\):\n/);
    expect(outcome.error.stack).toContain("raise ValueError('bad x: %r' % (x,))");
    expect(outcome.error.stack).toMatch(/ValueError: bad x: 7\n$/);
    expect(outcome.error.data).toBe(undefined);
  });

  it('writes replies, failures and heartbeats field for field as oslo', () => {
    for (const [name, outcome] of [
      ['reply', { ok: true, result: 42 }],
      ['reply-after-heartbeat', { ok: true, result: 'done' }],
      ['heartbeat', undefined],
    ] as const) {
      const p = payload(golden(name).body);
      const msg = encodeReply(String(p['_msg_id']), String(p['_unique_id']), outcome);
      expect(Object.keys(payload(msg.body)), name).toEqual(Object.keys(p));
      expect(payload(msg.body), name).toEqual(p);
      expect(msg.properties).toEqual({ delivery_mode: 2, priority: 0 });
    }
    const p = payload(golden('reply-failure').body);
    const theirs = JSON.parse(String(p['failure'])) as Record<string, unknown>;
    const info = decodeFailure(p['failure']);
    const mine = payload(encodeReply(String(p['_msg_id']), String(p['_unique_id']), { ok: false, error: info }).body);
    expect(Object.keys(mine)).toEqual(Object.keys(p));
    const failure = JSON.parse(String(mine['failure'])) as Record<string, unknown>;
    expect(Object.keys(failure)).toEqual(Object.keys(theirs));
    // Python groups each frame's lines in one tb entry; celeriac sends one entry per line (the same text).
    const text = (tb: unknown): string => (tb as string[]).join('');
    expect(text(failure['tb'])).toBe(text(theirs['tb']));
    expect({ ...failure, tb: null }).toEqual({ ...theirs, tb: null });
  });

  it('carries data as kwargs and back; a failure that is not JSON still reads', () => {
    const info = { type: 'QuotaError', module: 'celeriac', message: 'over quota', stack: 'QuotaError: over quota\n    at f (a.js:1:1)', data: { limit: 3 } };
    const wire = JSON.parse(encodeFailure(info)) as Record<string, unknown>;
    expect(wire).toMatchObject({ class: 'QuotaError', module: 'celeriac', args: ['over quota'], kwargs: { limit: 3 } });
    expect(wire['tb']).toEqual(['QuotaError: over quota\n', '    at f (a.js:1:1)\n']);
    expect(decodeFailure(encodeFailure(info))).toEqual({ ...info, stack: `${info.stack}\n` });
    expect(JSON.parse(encodeFailure({ type: 'E', message: 'm', data: [1] }))).toMatchObject({ module: null, tb: [], kwargs: { data: [1] } });
    expect(decodeFailure('not json')).toEqual({ type: 'RemoteError', message: 'not json', module: null, stack: null });
  });
});

describe('malformed messages say why', () => {
  const cases: [string, RawMessage, RegExp][] = [
    ['not JSON', jsonOf('{oops'), /not JSON/],
    ['no envelope', jsonOf('{"method": "add", "args": {}}'), /no oslo envelope/],
    ['envelope 3.0', jsonOf('{"oslo.version": "3.0", "oslo.message": "{}"}'), /version "3.0" is not supported/],
    ['oslo.message not a string', jsonOf('{"oslo.version": "2.0", "oslo.message": {"method": "x"}}'), /must be a JSON string/],
    ['oslo.message not JSON', jsonOf('{"oslo.version": "2.0", "oslo.message": "{x"}'), /not valid JSON/],
    ['oslo.message a list', envelope([1, 2]), /must hold a JSON object/],
    ['msgpack', { ...jsonOf('{}'), contentType: 'application/x-msgpack' }, /content type 'application\/x-msgpack'/],
    ['method missing', envelope({ args: {} }), /"method" must be a non-empty string/],
    ['args a string', envelope({ method: 'm', args: 'x' }), /"args" must be an object/],
    ['namespace a number', envelope({ method: 'm', args: {}, namespace: 3 }), /"namespace"/],
    ['call without reply queue', envelope({ method: 'm', args: {}, _msg_id: 'abc' }), /"_msg_id" and "_reply_q"/],
    ['_timeout a string', envelope({ method: 'm', args: {}, _msg_id: 'a', _reply_q: 'q', _timeout: '2' }), /"_timeout"/],
  ];
  it.each(cases)('request: %s', (_name, msg, reason) => {
    const d = decodeRequest(msg);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.reason).toMatch(reason);
  });

  it('a bad call that names its reply queue says where its caller waits', () => {
    const d = decodeRequest(envelope({ method: 7, _msg_id: 'm1', _reply_q: 'reply_x' }));
    expect(d).toEqual({ ok: false, reason: '"method" must be a non-empty string', replyTo: { msgId: 'm1', replyQueue: 'reply_x' } });
  });

  it('replies: no _msg_id, ending not a boolean', () => {
    expect(decodeReply(envelope({ result: 1, ending: true }))).toMatchObject({ ok: false, reason: expect.stringMatching(/_msg_id/) as unknown });
    expect(decodeReply(envelope({ result: 1, ending: 'yes', _msg_id: 'm' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/"ending"/) as unknown });
    expect(decodeReply(jsonOf('[]'))).toMatchObject({ ok: false });
  });
});

describe('topology', () => {
  it("declares oslo's flags: shared queues plain, fanout and reply queues with x-expires", () => {
    const o = { exchange: 'openstack', durable: false, autoDelete: false, transientTtl: 1_800_000 };
    const t = listenerTopology('openstack', 'compute', 'h1', 'abc', o);
    expect(t.exchanges).toEqual([
      { name: 'openstack', type: 'topic', durable: false, autoDelete: false },
      { name: 'compute_fanout', type: 'fanout', durable: false, autoDelete: true },
    ]);
    expect(t.queues).toEqual([
      { name: 'compute', durable: false, autoDelete: false },
      { name: 'compute.h1', durable: false, autoDelete: false },
      { name: 'compute_fanout_abc', durable: false, autoDelete: false, expires: 1_800_000 },
    ]);
    expect(t.bindings).toEqual([
      { queue: 'compute', exchange: 'openstack', routingKey: 'compute' },
      { queue: 'compute.h1', exchange: 'openstack', routingKey: 'compute.h1' },
      { queue: 'compute_fanout_abc', exchange: 'compute_fanout', routingKey: 'compute' },
    ]);
    expect(replyQueueDeclaration('reply_1', { ...o, transientTtl: 0 })).toEqual({ name: 'reply_1', durable: false, autoDelete: false });
  });
});
