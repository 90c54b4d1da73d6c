// Event bodies against the golden captures from Celery 5.2.6 (tests/fixtures/wire/events): every fixture
// parses, the same event built by celeriac matches field by field (keys in Celery's order), routing keys and
// the message envelope match, and malformed bodies fail with EventError.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventError } from '../../../src/errors.js';
import { decodeEnvelope, encodeEnvelope } from '../../../src/protocol/envelope.js';
import {
  batchRoutingKey, buildEvent, buildEventMessage, eventGroup, eventQueueName, eventRoutingKey, EVENT_TYPES, parseEventBody, parseEventMessage,
  utcOffsetHours, type AnyEvent, type EventFieldMap, type EventType,
} from '../../../src/protocol/events.js';
import { argsRepr, kwargsRepr, pyRepr } from '../../../src/protocol/pyrepr.js';
import { WIRE_DIR, type CapturedEnvelope } from './wire-fixtures.js';

interface EventFixture {
  source: string;
  channel: string;
  event: AnyEvent;
  batched: boolean;
  envelope: CapturedEnvelope;
  decoded_body: AnyEvent | AnyEvent[];
  raw: string;
}

const dir = join(WIRE_DIR, 'events');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as EventFixture] as const);

/** The standard fields and the type's fields of a captured event, as buildEvent takes them. */
function split(e: AnyEvent): { fields: Record<string, unknown>; stamp: { hostname: string; pid: number; clock: number; now: number; utcoffset: number } } {
  const { hostname, utcoffset, pid, clock, timestamp, type: _type, ...fields } = e;
  return { fields, stamp: { hostname, pid, clock, utcoffset, now: timestamp * 1000 } };
}

describe('event fixtures', () => {
  it('cover every worker event and the task events a worker sends', () => {
    expect(fixtures.map(([n]) => n)).toEqual(['task-failed', 'task-received', 'task-retried', 'task-revoked', 'task-started', 'task-succeeded', 'worker-heartbeat', 'worker-offline', 'worker-online']);
    for (const [name] of fixtures) expect(EVENT_TYPES).toContain(name);
  });

  it.each(fixtures)('%s parses as Celery sent it (single or batched)', (name, f) => {
    const { message, deliveryInfo } = decodeEnvelope(f.raw);
    const events = parseEventMessage(message);
    expect(events).toEqual(Array.isArray(f.decoded_body) ? f.decoded_body : [f.decoded_body]);
    expect(Array.isArray(f.decoded_body)).toBe(f.batched);
    expect(events).toContainEqual(f.event);
    expect(f.event.type).toBe(name);
    // Routing: single events under their type with dots, batches under '<group>.multi'.
    const key = f.batched ? batchRoutingKey(eventGroup(name)) : eventRoutingKey(name);
    expect(deliveryInfo).toEqual({ exchange: 'celeryev', routing_key: key });
    expect(f.channel).toBe(`/13.celeryev/${key}`);
  });

  it.each(fixtures)('%s is rebuilt field for field, keys in Celery order', (name, f) => {
    const { fields, stamp } = split(f.event);
    const built = buildEvent(name as EventType, fields as unknown as EventFieldMap[EventType], stamp);
    expect(built).toEqual(f.event);
    expect(Object.keys(built)).toEqual(Object.keys(f.event));
    expect(built.timestamp).toBe(f.event.timestamp);
  });

  it.each(fixtures)('%s: the whole message is rebuilt (headers, delivery mode, body)', (_name, f) => {
    const body = f.decoded_body;
    const msg = buildEventMessage(body, f.event.hostname);
    expect(msg.headers).toEqual(f.envelope.headers);
    expect(msg.properties.delivery_mode).toBe(f.envelope.properties['delivery_mode']);
    expect(msg.contentType).toBe(f.envelope['content-type']);
    expect(msg.contentEncoding).toBe(f.envelope['content-encoding']);
    expect(JSON.parse(msg.body.toString())).toEqual(body);
    // Through kombu's envelope and back.
    const info = f.envelope.properties.delivery_info;
    const again = decodeEnvelope(encodeEnvelope(msg, info, 'tag'));
    expect(parseEventMessage(again.message)).toEqual(Array.isArray(body) ? body : [body]);
  });

  it('task fields are the Python reprs celeriac makes (args, kwargs, result)', () => {
    const received = fixtures.find(([n]) => n === 'task-received')?.[1].event as AnyEvent;
    expect(argsRepr([2, 2])).toBe(received['args']);
    expect(kwargsRepr({})).toBe(received['kwargs']);
    const succeeded = fixtures.find(([n]) => n === 'task-succeeded')?.[1].event as AnyEvent;
    expect(pyRepr(4)).toBe(succeeded['result']);
  });
});

describe('event helpers', () => {
  it('routing keys, groups and queue names are Celery\'s', () => {
    expect(eventRoutingKey('worker-heartbeat')).toBe('worker.heartbeat');
    expect(eventRoutingKey('custom-my-event')).toBe('custom.my.event');
    expect(eventGroup('task-sent')).toBe('task');
    expect(eventGroup('custom-my-event')).toBe('custom');
    expect(batchRoutingKey('task')).toBe('task.multi');
    expect(eventQueueName('abc')).toBe('celeryev.abc');
  });

  it('utcoffset is hours west of UTC, floored, as Python time.timezone // 3600', () => {
    const at = (minutesWest: number): Date => Object.assign(new Date(0), { getTimezoneOffset: () => minutesWest });
    expect(utcOffsetHours(at(0))).toBe(0);
    expect(utcOffsetHours(at(300))).toBe(5); // New York, winter
    expect(utcOffsetHours(at(-120))).toBe(-2); // Berlin, summer
    expect(utcOffsetHours(at(-330))).toBe(-6); // India: -5.5 floors to -6, as Python's //
  });

  it('a custom event type keeps its fields', () => {
    const e = buildEvent('custom-thing', { answer: 42 }, { hostname: 'h', pid: 1, clock: 3, now: 1500, utcoffset: 0 });
    expect(e).toEqual({ hostname: 'h', utcoffset: 0, pid: 1, clock: 3, answer: 42, timestamp: 1.5, type: 'custom-thing' });
    expect(parseEventBody(e)).toEqual([e]);
  });
});

describe('malformed event bodies', () => {
  const json = (body: string, contentType = 'application/json') => ({ body: Buffer.from(body), contentType, contentEncoding: 'utf-8', headers: {}, properties: {} });
  it.each([
    ['not JSON', json('{nope'), /not JSON/],
    ['msgpack', json('{}', 'application/x-msgpack'), /application\/json/],
    ['a number', json('42'), /JSON object/],
    ['no type', json('{"hostname": "h"}'), /no 'type'/],
    ['a task event without uuid', json('{"type": "task-started", "hostname": "h"}'), /no task 'uuid'/],
    ['a worker event without hostname', json('{"type": "worker-online"}'), /no 'hostname'/],
    ['a clock that is not a number', json('{"type": "worker-online", "hostname": "h", "clock": "x"}'), /'clock' must be a number/],
    ['a batch with one bad event', json('[{"type": "task-started", "uuid": "u"}, {"type": 5}]'), /no 'type'/],
    ['task-received without a name', json('{"type": "task-received", "uuid": "u"}'), /'name' must be a string/],
  ])('%s fails with EventError', (_what, msg, why) => {
    expect(() => parseEventMessage(msg)).toThrow(EventError);
    expect(() => parseEventMessage(msg)).toThrow(why);
  });

  it('an event without a type cannot be built', () => {
    expect(() => buildEvent('', {}, { hostname: 'h', pid: 1, clock: 1, now: 0, utcoffset: 0 })).toThrow(EventError);
  });
});
