// Hostile remote-control (pidbox) and event messages, generated with fast-check. Pidbox: malformed requests
// (must be dead-lettered), well-formed requests with garbage arguments (must get an error reply or be ignored,
// never crash), and good pings (must be answered). Events: malformed ones (dead-lettered), odd but parseable
// ones (fields of the wrong type, reserved keys: kept out of the cluster state), and good ones (recorded).
import fc from 'fast-check';
import type { RawMessage } from '../../src/protocol/message.js';

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const raw = (body: Buffer, contentType = 'application/json', headers: Record<string, unknown> = { clock: 1, expires: 0 }): RawMessage => ({ body, contentType, contentEncoding: 'utf-8', headers, properties: { delivery_mode: 2 } });
const deep = (d: number): string => '{"a":'.repeat(d) + '1' + '}'.repeat(d);
const odd = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }));

/** Commands left out of the fuzz: each does what it says when its arguments are valid (stop the worker, consume a new queue). */
const SPARED = new Set(['shutdown', 'add_consumer']);

export interface ControlCase {
  kind: 'malformed' | 'garbage' | 'good';
  label: string;
  message?: RawMessage;
}

/** Malformed pidbox requests: the node must dead-letter each with a reason. */
export function malformedRequest(maxSize: number): fc.Arbitrary<ControlCase> {
  const m = (label: string, message: RawMessage): ControlCase => ({ kind: 'malformed', label, message });
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 100 }).map((b) => m('not-json', raw(Buffer.concat([Buffer.from("{'"), Buffer.from(b)])))),
    fc.constantFrom('application/x-python-serialize', 'application/x-msgpack', 'text/plain', '').map((t) => m('content-type', raw(json({ method: 'ping', arguments: {} }), t))),
    odd.filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)).map((v) => m('not-object', raw(json(v)))),
    odd.filter((v) => typeof v !== 'string').map((v) => m('bad-method', raw(json({ method: v, arguments: {} })))),
    fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer())).map((a) => m('arguments-not-mapping', raw(json({ method: 'ping', arguments: a })))),
    fc.integer({ min: 101, max: 3_000 }).map((d) => m('deep', raw(Buffer.from(`{"method":"ping","arguments":${deep(d)}}`)))),
    fc.integer({ min: maxSize + 1, max: maxSize * 2 }).map((n) => m('huge', raw(json({ method: 'ping', arguments: { pad: 'x'.repeat(n) } })))),
  );
}

/** Well-formed requests for real commands (or none) with arguments of every wrong kind, addressed to `hostname`. */
export function garbageRequest(hostname: string, commands: readonly string[]): fc.Arbitrary<ControlCase> {
  const names = commands.filter((c) => !SPARED.has(c));
  return fc
    .record({
      method: fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty')),
      arguments: fc.dictionary(fc.constantFrom('n', 'max', 'min', 'task_name', 'rate_limit', 'soft', 'hard', 'task_id', 'ids', 'queue', 'signal', 'terminate', 'taskinfoitems', 'safe', 'with_defaults', 'id', 'topic', 'action', '__proto__'), odd, { maxKeys: 4 }),
      reply: fc.boolean(),
      pattern: fc.option(fc.constantFrom('*', '(', '[', 'a{99999}', '*@*'), { nil: undefined }),
      matcher: fc.option(fc.constantFrom('glob', 'pcre', 'nope'), { nil: undefined }),
    })
    .map(({ method, arguments: args, reply, pattern, matcher }) => {
      const body: Record<string, unknown> = { method, arguments: args, destination: [hostname], pattern: pattern ?? null, matcher: matcher ?? null };
      if (reply) Object.assign(body, { ticket: `fuzz-${Math.random()}`, reply_to: { exchange: 'fuzz-nowhere', routing_key: 'nobody' } });
      return { kind: 'garbage' as const, label: `garbage:${names.includes(method) ? method : 'unknown'}`, message: raw(json(body)) };
    });
}

/** Malformed event messages: the receiver must dead-letter each with a reason. */
export function malformedEvent(maxSize: number): fc.Arbitrary<ControlCase> {
  const m = (label: string, message: RawMessage): ControlCase => ({ kind: 'malformed', label, message });
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 100 }).map((b) => m('not-json', raw(Buffer.concat([Buffer.from("[{'"), Buffer.from(b)]), 'application/json', {}))),
    fc.constantFrom('application/x-python-serialize', 'application/x-msgpack', 'text/plain').map((t) => m('content-type', raw(json({ type: 'task-succeeded', uuid: 'x' }), t, {}))),
    odd.filter((v) => v === null || typeof v !== 'object').map((v) => m('not-object', raw(json(v), 'application/json', {}))),
    fc.constant(m('no-type', raw(json({ hostname: 'h', uuid: 'u' }), 'application/json', {}))),
    fc.tuple(fc.constantFrom('hostname', 'clock', 'timestamp', 'pid', 'utcoffset'), fc.oneof(fc.constant([]), fc.constant({}), fc.boolean())).map(([f, v]) => m('bad-standard-field', raw(json({ type: 'task-started', uuid: 'u', [f]: v }), 'application/json', {}))),
    fc.constant(m('task-without-uuid', raw(json({ type: 'task-succeeded', hostname: 'h' }), 'application/json', {}))),
    fc.constant(m('worker-without-hostname', raw(json({ type: 'worker-heartbeat' }), 'application/json', {}))),
    fc.integer({ min: 101, max: 3_000 }).map((d) => m('deep', raw(Buffer.from(`{"type":"custom","x":${deep(d)}}`), 'application/json', {}))),
    fc.integer({ min: maxSize + 1, max: maxSize * 2 }).map((n) => m('huge', raw(json({ type: 'custom', pad: 'x'.repeat(n) }), 'application/json', {}))),
  );
}

/** Parseable events with fields of the wrong type and reserved keys: processed, never let into the views' types. */
export function oddEvent(hostname: string, i: number): fc.Arbitrary<ControlCase> {
  return fc
    .record({
      type: fc.constantFrom('worker-heartbeat', 'worker-online', 'task-succeeded', 'task-failed', 'task-received', 'task-custom'),
      fields: fc.dictionary(fc.constantFrom('freq', 'loadavg', 'active', 'processed', 'heartbeats', 'alive', 'at', 'state', 'worker', 'runtime', 'args', 'name', 'result', '__proto__', 'constructor', 'exception'), odd, { maxKeys: 5 }),
    })
    .map(({ type, fields }) => {
      // task-received must name its task (a string), else it is malformed rather than odd.
      const text = JSON.stringify({ ...fields, ...(type === 'task-received' ? { name: 'odd' } : {}), type, hostname, uuid: `odd-${i}`, timestamp: Date.now() / 1000, clock: i });
      // An own '__proto__' key, as JSON.parse makes it.
      const body = Buffer.from(text.replace(/^\{/, '{"__proto__":{"polluted":true},'));
      return { kind: 'garbage' as const, label: `odd:${type}`, message: raw(body, 'application/json', { hostname }) };
    });
}
