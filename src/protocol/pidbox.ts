/**
 * kombu's pidbox messages (remote control), exactly as Celery 5 sends them. Pure: the clock value, the
 * time and the ticket are parameters.
 *
 *   names (namespace 'celery')
 *     request exchange  celery.pidbox                    fanout, non-durable, not auto-delete
 *     node queue        <hostname>.celery.pidbox         non-durable, auto-delete, expires 10 s, message TTL 300 s
 *     reply exchange    reply.celery.pidbox              direct, non-durable, not auto-delete
 *     reply queue       <oid>.reply.celery.pidbox        routing key <oid>, non-durable, auto-delete, expires 10 s, message TTL 300 s
 *   (as Celery 5.2.6 declares them on RabbitMQ; a declaration that differs fails with PRECONDITION_FAILED)
 *
 *   request  headers  clock (sender's Lamport clock), expires (UNIX seconds, 0 = never)
 *            body     { method, arguments, destination (list | null), pattern, matcher ('glob' | 'pcre' | null),
 *                       ticket?, reply_to?: { exchange, routing_key } }     (ticket and reply_to only when a reply is wanted)
 *            delivery_mode 2
 *   reply    headers  ticket (the request's), clock
 *            body     { "<hostname>": <reply> }   a control reply is { ok: ... } or { error: ... }
 *            delivery_mode 1
 *   JSON by default; with message signing on, requests and replies are signed with the auth serializer (Celery's
 *   mailbox uses the task serializer) and unsigned ones are refused: a `PidboxSerializer` says which.
 */
import { ProtocolError } from '../errors.js';
import { checkDepth, checkIncomingSize } from './limits.js';
import type { RawMessage } from './message.js';

export interface PidboxNames {
  exchange: string;
  replyExchange: string;
  nodeQueue(hostname: string): string;
  replyQueue(oid: string): string;
}

export function pidboxNames(namespace = 'celery'): PidboxNames {
  return {
    exchange: `${namespace}.pidbox`,
    replyExchange: `reply.${namespace}.pidbox`,
    nodeQueue: (hostname) => `${hostname}.${namespace}.pidbox`,
    replyQueue: (oid) => `${oid}.reply.${namespace}.pidbox`,
  };
}

/** Celery's queue settings: control_queue_expires 10 s and control_queue_ttl 300 s, for node and reply queues alike. */
export const PIDBOX_QUEUE_EXPIRES_MS = 10_000;
export const PIDBOX_MESSAGE_TTL_MS = 300_000;

export interface PidboxReplyTo {
  exchange: string;
  routing_key: string;
}

export interface PidboxRequest {
  method: string;
  arguments: Record<string, unknown>;
  destination: string[] | null;
  pattern: string | null;
  matcher: string | null;
  ticket?: string;
  reply_to?: PidboxReplyTo;
}

export interface ParsedPidboxRequest {
  request: PidboxRequest;
  /** The sender's clock, if sent. */
  clock: number | undefined;
  /** UNIX seconds after which the request is stale; 0 = never. */
  expires: number;
}

export interface ParsedPidboxReply {
  ticket: string | undefined;
  clock: number | undefined;
  /** `{ hostname: reply }`. */
  replies: Record<string, unknown>;
}

const JSON_TYPE = 'application/json';

/** How pidbox bodies are encoded and decoded: plain JSON (the default), or signed. */
export interface PidboxSerializer {
  encode(value: unknown): { body: Buffer; contentType: string; contentEncoding: string };
  /** Decodes a body; throws ProtocolError (SecurityError for an unsigned or tampered one). */
  decode(msg: RawMessage, what: string): unknown;
}

/** A serializer over a codec and the registry that decodes (signed: the 'auth' codec, a signed-only registry). */
export function codecSerializer(codec: { encode(value: unknown): Buffer; contentType: string; contentEncoding: string }, codecs: { decode(contentType: string, body: Buffer): unknown }): PidboxSerializer {
  return {
    encode: (value) => ({ body: codec.encode(value), contentType: codec.contentType, contentEncoding: codec.contentEncoding }),
    decode: (msg) => codecs.decode(msg.contentType, msg.body),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function decodeJson(msg: RawMessage, what: string): unknown {
  if (msg.contentType !== JSON_TYPE) throw new ProtocolError(`pidbox ${what} has content type '${String(msg.contentType).slice(0, 100)}': the mailbox only accepts ${JSON_TYPE}`);
  let value: unknown;
  try {
    value = JSON.parse(msg.body.toString('utf8'));
  } catch (cause) {
    throw new ProtocolError(`pidbox ${what} body is not JSON: ${(cause as Error).message}`, { cause });
  }
  checkDepth(value, msg.body.length, 2);
  return value;
}

const JSON_SERIALIZER: PidboxSerializer = {
  encode: (value) => ({ body: Buffer.from(JSON.stringify(value), 'utf8'), contentType: JSON_TYPE, contentEncoding: 'utf-8' }),
  decode: decodeJson,
};

/** Builds a request, keys in kombu's order. `expires` in UNIX seconds (0 when no reply is wanted). */
export function buildPidboxRequest(request: PidboxRequest, headers: { clock: number; expires: number }, serializer: PidboxSerializer = JSON_SERIALIZER): RawMessage {
  const body: PidboxRequest = {
    method: request.method,
    arguments: request.arguments,
    destination: request.destination,
    pattern: request.pattern,
    matcher: request.matcher,
  };
  if (request.ticket !== undefined) body.ticket = request.ticket;
  if (request.reply_to !== undefined) body.reply_to = request.reply_to;
  return {
    ...serializer.encode(body),
    headers: { clock: headers.clock, expires: headers.expires },
    properties: { delivery_mode: 2 },
  };
}

/** Parses a request of at most `maxSize` bytes (0 = any); throws ProtocolError when it is not one. */
export function parsePidboxRequest(msg: RawMessage, maxSize = 0, serializer: PidboxSerializer = JSON_SERIALIZER): ParsedPidboxRequest {
  checkIncomingSize(msg.body.length, maxSize);
  const body = serializer.decode(msg, 'request');
  if (!isRecord(body) || typeof body['method'] !== 'string') throw new ProtocolError('pidbox request has no method: expected {method, arguments, destination, ...}');
  const args = body['arguments'] ?? {};
  if (!isRecord(args)) throw new ProtocolError(`pidbox request '${body['method']}' has arguments that are not a mapping`);
  const dest = body['destination'];
  const destination = Array.isArray(dest) ? dest.filter((d): d is string => typeof d === 'string') : typeof dest === 'string' ? [dest] : null;
  const replyTo = body['reply_to'];
  const request: PidboxRequest = {
    method: body['method'],
    arguments: args,
    destination,
    pattern: typeof body['pattern'] === 'string' ? body['pattern'] : null,
    matcher: typeof body['matcher'] === 'string' ? body['matcher'] : null,
  };
  if (typeof body['ticket'] === 'string') request.ticket = body['ticket'];
  if (isRecord(replyTo) && typeof replyTo['exchange'] === 'string' && typeof replyTo['routing_key'] === 'string') {
    request.reply_to = { exchange: replyTo['exchange'], routing_key: replyTo['routing_key'] };
  }
  const clock = msg.headers['clock'];
  const expires = msg.headers['expires'];
  return {
    request,
    clock: typeof clock === 'number' ? clock : undefined,
    expires: typeof expires === 'number' && Number.isFinite(expires) ? expires : 0,
  };
}

export function buildPidboxReply(hostname: string, reply: unknown, headers: { ticket: string; clock: number }, serializer: PidboxSerializer = JSON_SERIALIZER): RawMessage {
  return {
    ...serializer.encode({ [hostname]: reply ?? null }),
    headers: { ticket: headers.ticket, clock: headers.clock },
    properties: { delivery_mode: 1 },
  };
}

export function parsePidboxReply(msg: RawMessage, serializer: PidboxSerializer = JSON_SERIALIZER): ParsedPidboxReply {
  const body = serializer.decode(msg, 'reply');
  if (!isRecord(body)) throw new ProtocolError('pidbox reply is not a mapping of node name to reply');
  const ticket = msg.headers['ticket'];
  const clock = msg.headers['clock'];
  return { ticket: typeof ticket === 'string' ? ticket : undefined, clock: typeof clock === 'number' ? clock : undefined, replies: body };
}
