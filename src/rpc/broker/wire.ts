/**
 * oslo.messaging's rabbit wire format (oslo.messaging 14, envelope 2.0), pure: RpcRequest / RpcOutcome to and
 * from broker messages. No I/O, no clock; ids are parameters. Checked against golden messages captured from
 * Python oslo.messaging (tests/fixtures/oslo/).
 *
 *   every message      content_type application/json, content_encoding utf-8, delivery_mode 2, no headers
 *   body (envelope)    {"oslo.version": "2.0", "oslo.message": "<the payload below, as a JSON string>"}
 *
 *   request payload    field               type            notes
 *                      method              string          the endpoint method
 *                      args                object          keyword arguments (celeriac also carries an array)
 *                      namespace           string?         only when the target has one
 *                      version             string?         only when the target has one ('1.2')
 *                      _msg_id             string          calls only: uuid4 hex, the reply's key
 *                      _reply_q            string          calls only: the caller's reply queue
 *                      _timeout            number | null   calls only: call-monitor timeout, seconds; the server
 *                                                          heartbeats every _timeout/2 s while the method runs
 *                      _unique_id          string          uuid4 hex, for duplicate detection
 *                      _context_<key>      any             one field per key of the caller's context
 *                      (a call also sets the AMQP `expiration` property: its timeout in ms)
 *
 *   reply payload      result              any             the method's return value (null on failure)
 *                      failure             string | null   JSON of {class, module, message, tb: [lines],
 *                                                          args: [...], kwargs: {...}} (oslo's
 *                                                          serialize_remote_exception)
 *                      ending              boolean         true: the last message of this call; a message
 *                                                          with ending false and no result or failure is a
 *                                                          call-monitor heartbeat
 *                      _msg_id             string          the request's _msg_id
 *                      _unique_id          string          uuid4 hex
 */
import type { RawMessage } from '../../protocol/message.js';
import type { RemoteErrorInfo, RpcArgs, RpcOutcome, RpcRequest } from '../types.js';

export const ENVELOPE_VERSION = '2.0';
const VERSION_KEY = 'oslo.version';
const MESSAGE_KEY = 'oslo.message';
const CONTEXT_PREFIX = '_context_';
const JSON_TYPE = 'application/json';

/** A request as received: what the handler gets, and where (and whether) to answer. */
export interface IncomingRequest {
  request: RpcRequest;
  uniqueId?: string;
  /** Set for calls: the reply goes to `replyQueue`, keyed by `msgId`. */
  msgId?: string;
  replyQueue?: string;
  /** The caller's call-monitor timeout in seconds (heartbeat every half of it), when it sent one. */
  callMonitorTimeout?: number;
}

/** One reply message as received. */
export interface IncomingReply {
  msgId: string;
  uniqueId?: string;
  /** The outcome this message carries; undefined for a heartbeat or a bare `ending`. */
  outcome?: RpcOutcome;
  ending: boolean;
}

/** A message that is not what it claims to be; `replyTo` is set when the sender still waits for an answer. */
export interface Malformed {
  ok: false;
  reason: string;
  replyTo?: { msgId: string; replyQueue: string };
}

export type Decoded<T> = { ok: true; value: T } | Malformed;

/** The identifiers a call carries; casts carry only `uniqueId`. */
export interface RequestIds {
  uniqueId: string;
  msgId?: string;
  replyQueue?: string;
  /** Call-monitor timeout in seconds (`_timeout`); null sends `_timeout: null` as oslo does without one. */
  callMonitorTimeout?: number | null;
}

function message(payload: Record<string, unknown>, properties: RawMessage['properties'] = {}): RawMessage {
  const envelope = { [VERSION_KEY]: ENVELOPE_VERSION, [MESSAGE_KEY]: JSON.stringify(payload) };
  return {
    body: Buffer.from(JSON.stringify(envelope), 'utf8'),
    contentType: JSON_TYPE,
    contentEncoding: 'utf-8',
    headers: {},
    properties: { delivery_mode: 2, priority: 0, ...properties },
  };
}

/** A request message. `expirationMs` (calls) lets the broker drop it once the caller gave up. */
export function encodeRequest(request: RpcRequest, ids: RequestIds, expirationMs?: number): RawMessage {
  const payload: Record<string, unknown> = { method: request.method, args: request.args };
  if (request.namespace !== undefined) payload['namespace'] = request.namespace;
  if (request.version !== undefined) payload['version'] = request.version;
  if (ids.msgId !== undefined) {
    payload['_msg_id'] = ids.msgId;
    payload['_reply_q'] = ids.replyQueue;
    payload['_timeout'] = ids.callMonitorTimeout ?? null;
  }
  payload['_unique_id'] = ids.uniqueId;
  for (const [key, value] of Object.entries(request.context ?? {})) payload[CONTEXT_PREFIX + key] = value;
  return message(payload, expirationMs === undefined ? {} : { expiration: String(Math.max(1, Math.round(expirationMs))) });
}

/** A reply message: the outcome (ending true), or a heartbeat when `outcome` is undefined (ending false). */
export function encodeReply(msgId: string, uniqueId: string, outcome: RpcOutcome | undefined): RawMessage {
  const result = outcome?.ok ? (outcome.result ?? null) : null;
  const failure = outcome && !outcome.ok ? encodeFailure(outcome.error) : null;
  return message({ result, failure, ending: outcome !== undefined, _msg_id: msgId, _unique_id: uniqueId });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** oslo's serialize_remote_exception: `args` is [message]; `data` travels as kwargs (an object; anything else as {data}). */
export function encodeFailure(error: RemoteErrorInfo): string {
  const tb = error.stack ? error.stack.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1).map((line) => `${line}\n`) : [];
  const kwargs = error.data === undefined ? {} : isObject(error.data) ? error.data : { data: error.data };
  return JSON.stringify({ class: error.type, module: error.module ?? null, message: error.message, tb, args: [error.message], kwargs });
}

/** oslo's deserialize_remote_exception, without importing anything: type, module, message, tb as text, kwargs as data. */
export function decodeFailure(failure: unknown): RemoteErrorInfo {
  let raw: unknown = failure;
  if (typeof failure === 'string') {
    try {
      raw = JSON.parse(failure);
    } catch {
      return { type: 'RemoteError', message: failure, module: null, stack: null };
    }
  }
  if (!isObject(raw)) return { type: 'RemoteError', message: String(failure), module: null, stack: null };
  const tb = raw['tb'];
  const stack = Array.isArray(tb) ? tb.map(String).join('') : typeof tb === 'string' ? tb : null;
  const info: RemoteErrorInfo = {
    type: typeof raw['class'] === 'string' ? raw['class'] : 'RemoteError',
    message: typeof raw['message'] === 'string' ? raw['message'] : String(raw['message'] ?? ''),
    module: typeof raw['module'] === 'string' ? raw['module'] : null,
    stack: stack === '' ? null : stack,
  };
  const kwargs = raw['kwargs'];
  if (isObject(kwargs) && Object.keys(kwargs).length > 0) info.data = kwargs;
  return info;
}

/** The payload inside the envelope, or why there is none. */
export function openEnvelope(msg: RawMessage): Decoded<Record<string, unknown>> {
  if (msg.contentType !== JSON_TYPE) return { ok: false, reason: `content type '${msg.contentType}' is not ${JSON_TYPE} (oslo.messaging sends JSON)` };
  let envelope: unknown;
  try {
    envelope = JSON.parse(msg.body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'the body is not JSON' };
  }
  if (!isObject(envelope) || !(VERSION_KEY in envelope) || !(MESSAGE_KEY in envelope)) {
    return { ok: false, reason: `no oslo envelope: the body must be {"${VERSION_KEY}": "${ENVELOPE_VERSION}", "${MESSAGE_KEY}": "<JSON>"}` };
  }
  const version = envelope[VERSION_KEY];
  if (typeof version !== 'string' || !/^2\.0+$/.test(version)) {
    return { ok: false, reason: `envelope version ${JSON.stringify(version)} is not supported (this end speaks ${ENVELOPE_VERSION})` };
  }
  const inner = envelope[MESSAGE_KEY];
  if (typeof inner !== 'string') return { ok: false, reason: `"${MESSAGE_KEY}" must be a JSON string` };
  let payload: unknown;
  try {
    payload = JSON.parse(inner);
  } catch {
    return { ok: false, reason: `"${MESSAGE_KEY}" is not valid JSON` };
  }
  if (!isObject(payload)) return { ok: false, reason: `"${MESSAGE_KEY}" must hold a JSON object` };
  return { ok: true, value: payload };
}

const optionalString = (v: unknown): v is string | undefined | null => v === undefined || v === null || typeof v === 'string';

/** A request message to what a handler needs; a malformed one says why (and where its caller waits, if it does). */
export function decodeRequest(msg: RawMessage): Decoded<IncomingRequest> {
  const opened = openEnvelope(msg);
  if (!opened.ok) return opened;
  const p = opened.value;
  const msgId = p['_msg_id'];
  const replyQueue = p['_reply_q'];
  const isCall = msgId !== undefined && msgId !== null;
  const replyTo = typeof msgId === 'string' && msgId !== '' && typeof replyQueue === 'string' && replyQueue !== '' ? { msgId, replyQueue } : undefined;
  const bad = (reason: string): Malformed => (replyTo ? { ok: false, reason, replyTo } : { ok: false, reason });
  if (isCall && !replyTo) return bad('a call needs "_msg_id" and "_reply_q" as non-empty strings');
  if (typeof p['method'] !== 'string' || p['method'] === '') return bad('"method" must be a non-empty string');
  const args = p['args'] ?? {};
  if (typeof args !== 'object' || args === null) return bad('"args" must be an object of keyword arguments');
  if (!optionalString(p['namespace'])) return bad('"namespace" must be a string or null');
  if (!optionalString(p['version'])) return bad('"version" must be a string or null');
  const timeout = p['_timeout'];
  if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || !Number.isFinite(timeout))) return bad('"_timeout" must be a number of seconds or null');
  if (!optionalString(p['_unique_id'])) return bad('"_unique_id" must be a string');
  const request: RpcRequest = { method: p['method'], args: args as RpcArgs };
  if (typeof p['namespace'] === 'string') request.namespace = p['namespace'];
  if (typeof p['version'] === 'string') request.version = p['version'];
  const context: Record<string, unknown> = {};
  let hasContext = false;
  for (const [key, value] of Object.entries(p)) {
    if (key.startsWith(CONTEXT_PREFIX)) {
      context[key.slice(CONTEXT_PREFIX.length)] = value;
      hasContext = true;
    }
  }
  if (hasContext) request.context = context;
  const out: IncomingRequest = { request };
  if (typeof p['_unique_id'] === 'string') out.uniqueId = p['_unique_id'];
  if (replyTo) {
    out.msgId = replyTo.msgId;
    out.replyQueue = replyTo.replyQueue;
    if (typeof timeout === 'number' && timeout > 0) out.callMonitorTimeout = timeout;
  }
  return { ok: true, value: out };
}

/** A reply message to its outcome, a heartbeat, or why it is none. */
export function decodeReply(msg: RawMessage): Decoded<IncomingReply> {
  const opened = openEnvelope(msg);
  if (!opened.ok) return opened;
  const p = opened.value;
  const msgId = p['_msg_id'];
  if (typeof msgId !== 'string' || msgId === '') return { ok: false, reason: 'a reply needs "_msg_id" as a non-empty string' };
  const ending = p['ending'] ?? false;
  if (typeof ending !== 'boolean') return { ok: false, reason: '"ending" must be true or false' };
  const failure = p['failure'];
  const result = p['result'];
  const out: IncomingReply = { msgId, ending };
  if (typeof p['_unique_id'] === 'string') out.uniqueId = p['_unique_id'];
  if (failure !== undefined && failure !== null && failure !== '') out.outcome = { ok: false, error: decodeFailure(failure) };
  else if (result !== undefined && result !== null) out.outcome = { ok: true, result };
  return { ok: true, value: out };
}
