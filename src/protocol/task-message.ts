/**
 * Celery message protocol v2: build and parse task messages. Pure: `now` and ids are parameters.
 *
 *   headers (all keys always present, null when unused)
 *     lang            'js' here ('py' from Python)       task        task name (marks protocol v2)
 *     id              task id                             shadow      display name or null
 *     eta             ISO-8601 or null                    expires     ISO-8601 or null
 *     group           group id or null                    group_index position in the group or null
 *     retries         int                                 timelimit   [hard, soft] seconds, each may be null
 *     root_id         first task of the workflow          parent_id   task that sent this one, or null
 *     argsrepr        Python repr of args                 kwargsrepr  Python repr of kwargs
 *     origin          sender node, 'gen<pid>@<host>'      ignore_result  bool
 *     (Celery 5.3+ adds stamped_headers, stamps, replaced_task_nesting: accepted when present, never sent,
 *      so the key set and order are exactly Celery 5.2.6's; user `headers` follow ignore_result)
 *   properties
 *     correlation_id  task id       reply_to     reply queue or ''     delivery_mode  2 persistent
 *     expiration      ms until `expires`, as a string (only when expires is set; kombu adds it)
 *     priority        0..255 or absent (the kombu envelope then says 0)
 *   body = [args, kwargs, embed]
 *     embed = { callbacks: Signature[]|null, errbacks: Signature[]|null, chain: Signature[]|null,
 *               chord: Signature|null }   (chain is reversed: the worker pops the last element)
 *
 * Protocol v1 (everything in the body, no `task` header) is parsed too, so very old producers still work.
 */
import { ProtocolError } from '../errors.js';
import type { Codec, CodecRegistry } from './codecs.js';
import { decompressBody } from './compression.js';
import { checkDepth, checkIncomingSize } from './limits.js';
import type { RawMessage } from './message.js';
import { argsRepr, kwargsRepr } from './pyrepr.js';

/** A Celery signature as it travels inside messages (link, link_error, chain, chord). */
export interface SignatureDict {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  chord_size?: number | null;
  [extra: string]: unknown;
}

export interface TaskEmbed {
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  chain: SignatureDict[] | null;
  chord: SignatureDict | null;
}

export interface TaskMessageInput {
  id: string;
  name: string;
  args?: readonly unknown[];
  kwargs?: Record<string, unknown>;
  /** Milliseconds since the epoch; countdown and relative expiry are computed from it. */
  now: number;
  /** Seconds from `now`. Ignored when `eta` is given. */
  countdown?: number;
  eta?: Date | string | number | null;
  /** Seconds from `now`, or an absolute time. */
  expires?: number | Date | string | null;
  retries?: number;
  /** Hard limit in seconds. */
  timeLimit?: number | null;
  /** Soft limit in seconds. */
  softTimeLimit?: number | null;
  rootId?: string | null;
  parentId?: string | null;
  groupId?: string | null;
  groupIndex?: number | null;
  shadow?: string | null;
  origin: string;
  ignoreResult?: boolean;
  replyTo?: string;
  priority?: number | null;
  /** 2 (persistent, default) or 1 (transient). */
  deliveryMode?: number;
  callbacks?: SignatureDict[] | null;
  errbacks?: SignatureDict[] | null;
  chain?: SignatureDict[] | null;
  chord?: SignatureDict | null;
  /** Extra headers, merged last (e.g. stamps). */
  headers?: Record<string, unknown>;
}

/** A parsed task message, normalised from protocol v2 (or v1). */
export interface TaskRequest {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: TaskEmbed;
  eta: Date | null;
  expires: Date | null;
  retries: number;
  /** [hard, soft] in seconds. */
  timeLimit: [number | null, number | null];
  rootId: string | null;
  parentId: string | null;
  groupId: string | null;
  groupIndex: number | null;
  shadow: string | null;
  origin: string | null;
  ignoreResult: boolean;
  replyTo: string | null;
  correlationId: string;
  argsrepr: string;
  kwargsrepr: string;
  lang: string;
  headers: Record<string, unknown>;
}

/** What a running task knows of the message that started it: plain data, so it can cross to threads. */
export interface TaskRequestInfo {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  retries: number;
  /** The worker's node name. */
  hostname: string;
  eta: string | null;
  expires: string | null;
  parentId: string | null;
  rootId: string | null;
  groupId: string | null;
  deliveryInfo: { exchange: string; routingKey: string; queue: string };
}

export function requestInfo(task: TaskRequest, hostname: string, delivery: { exchange: string; routingKey: string; queue: string }): TaskRequestInfo {
  return {
    id: task.id,
    name: task.name,
    args: task.args,
    kwargs: task.kwargs,
    retries: task.retries,
    hostname,
    eta: task.eta?.toISOString() ?? null,
    expires: task.expires?.toISOString() ?? null,
    parentId: task.parentId,
    rootId: task.rootId,
    groupId: task.groupId,
    deliveryInfo: { exchange: delivery.exchange, routingKey: delivery.routingKey, queue: delivery.queue },
  };
}

/**
 * Celery's datetime form: `2026-11-22T10:50:00.123456+00:00` (Python isoformat, UTC, microseconds).
 * `micros` supplies the sub-millisecond digits (0..999) a JS time cannot hold.
 */
export function isoTime(ms: number, micros = 0): string {
  if (!Number.isFinite(ms)) throw new ProtocolError(`invalid time ${ms}: use an ISO-8601 string, a Date or ms since the epoch`);
  const sub = String(Math.min(999, Math.max(0, Math.trunc(micros)))).padStart(3, '0');
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_m, millis: string) => `.${millis}${sub}+00:00`);
}

/** A time as Celery sends it, normalised to UTC; a string keeps its microseconds. Returns [iso, ms]. */
function toIso(value: Date | string | number): [string, number] {
  if (typeof value !== 'string') {
    const ms = value instanceof Date ? value.getTime() : value;
    return [isoTime(ms), ms];
  }
  const ms = parseIsoTime(value);
  if (ms === null) throw new ProtocolError(`invalid date '${value}': use an ISO-8601 string or a Date`);
  const sub = /\.\d{3}(\d{1,3})/.exec(value)?.[1];
  return [isoTime(ms, sub ? Number(sub.padEnd(3, '0')) : 0), ms];
}

/** Parses an ISO-8601 time; a time without an offset is taken as UTC (Celery's enable_utc default). */
export function parseIsoTime(text: string): number | null {
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  // JS Date accepts at most milliseconds; Python sends microseconds.
  const trimmed = text.replace(/(\.\d{3})\d+/, '$1');
  const ms = Date.parse(hasZone ? trimmed : `${trimmed}Z`);
  return Number.isNaN(ms) ? null : ms;
}

export function buildTaskMessage(input: TaskMessageInput, codec: Codec): RawMessage {
  const args = input.args ? input.args.slice() : [];
  const kwargs = input.kwargs ?? {};
  let eta: string | null = null;
  if (input.eta !== undefined && input.eta !== null) eta = toIso(input.eta)[0];
  else if (input.countdown !== undefined && input.countdown !== null) eta = isoTime(input.now + input.countdown * 1000);
  let expires: string | null = null;
  // kombu also sends the expiry as an AMQP per-message TTL: `expiration`, ms from now as a string.
  let expiration: string | undefined;
  if (typeof input.expires === 'number') {
    expires = isoTime(input.now + input.expires * 1000);
    expiration = String(Math.max(0, Math.trunc(input.expires * 1000)));
  } else if (input.expires !== undefined && input.expires !== null) {
    const [text, ms] = toIso(input.expires);
    expires = text;
    expiration = String(Math.max(0, Math.trunc(ms - input.now)));
  }
  const headers: Record<string, unknown> = {
    lang: 'js',
    task: input.name,
    id: input.id,
    shadow: input.shadow ?? null,
    eta,
    expires,
    group: input.groupId ?? null,
    group_index: input.groupIndex ?? null,
    retries: input.retries ?? 0,
    timelimit: [input.timeLimit ?? null, input.softTimeLimit ?? null],
    root_id: input.rootId ?? input.id,
    parent_id: input.parentId ?? null,
    argsrepr: argsRepr(args),
    kwargsrepr: kwargsRepr(kwargs),
    origin: input.origin,
    ignore_result: input.ignoreResult ?? false,
  };
  if (input.headers) Object.assign(headers, input.headers);
  const embed: TaskEmbed = {
    callbacks: input.callbacks ?? null,
    errbacks: input.errbacks ?? null,
    chain: input.chain ?? null,
    chord: input.chord ?? null,
  };
  const properties: RawMessage['properties'] = {
    correlation_id: input.id,
    reply_to: input.replyTo ?? '',
    delivery_mode: input.deliveryMode ?? 2,
  };
  if (expiration !== undefined) properties.expiration = expiration;
  if (input.priority !== undefined && input.priority !== null) properties.priority = input.priority;
  return {
    body: codec.encode([args, kwargs, embed]),
    contentType: codec.contentType,
    contentEncoding: codec.contentEncoding,
    headers,
    properties,
  };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function parseTime(v: unknown, field: string): Date | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v !== 'string') throw new ProtocolError(`header '${field}' must be an ISO-8601 string, got ${JSON.stringify(v)}`);
  const ms = parseIsoTime(v);
  if (ms === null) throw new ProtocolError(`header '${field}' is not an ISO-8601 time: '${v}'`);
  return new Date(ms);
}

/** [hard, soft]: a limit that is not a positive number is no limit (Celery sends null). */
function parseTimeLimit(v: unknown): [number | null, number | null] {
  if (!Array.isArray(v)) return [null, null];
  const positive = (x: unknown): number | null => {
    const n = num(x);
    return n !== null && n > 0 ? n : null;
  };
  return [positive(v[0]), positive(v[1])];
}

/** A signature dict as Celery sends it (task name, args, kwargs, options); throws ProtocolError naming the field otherwise. */
function signature(v: unknown, where: string): SignatureDict {
  if (!isRecord(v) || typeof v['task'] !== 'string') throw new ProtocolError(`${where} is not a signature: expected {task, args, kwargs, options}, got ${JSON.stringify(v)?.slice(0, 80)}`);
  if (v['args'] !== undefined && v['args'] !== null && !Array.isArray(v['args'])) throw new ProtocolError(`${where}: args must be a list`);
  for (const field of ['kwargs', 'options']) {
    if (v[field] !== undefined && v[field] !== null && !isRecord(v[field])) throw new ProtocolError(`${where}: ${field} must be a mapping`);
  }
  return v as SignatureDict;
}

function sigList(v: unknown, where: string): SignatureDict[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) throw new ProtocolError(`${where} must be a list of signatures`);
  return v.map((s, i) => signature(s, `${where}[${i}]`));
}

function parseEmbed(v: unknown): TaskEmbed {
  const e = isRecord(v) ? v : {};
  return {
    callbacks: sigList(e['callbacks'], 'callbacks'),
    errbacks: sigList(e['errbacks'], 'errbacks'),
    chain: sigList(e['chain'], 'chain'),
    chord: e['chord'] === undefined || e['chord'] === null ? null : signature(e['chord'], 'chord'),
  };
}

/**
 * Parses a task message; throws ProtocolError (never evaluates anything) when it is malformed. A body compressed
 * by kombu (`compression` header) is inflated first; body and inflated body may be at most `maxSize` bytes (0 = no
 * limit; transports enforce it too, this is for those that do not).
 */
export function parseTaskMessage(msg: RawMessage, codecs: CodecRegistry, maxSize = 0): TaskRequest {
  const h = isRecord(msg.headers) ? msg.headers : {};
  checkIncomingSize(msg.body.length, maxSize);
  // Header values nested past the limit (a user header) would overflow whatever walks them later.
  for (const key in h) {
    const v = h[key];
    if (v !== null && typeof v === 'object') checkDepth({ [key]: v }, Number.MAX_SAFE_INTEGER);
  }
  const body = codecs.decode(msg.contentType, decompressBody(h, msg.body, maxSize));
  if (typeof h['task'] !== 'string') return parseV1(body, msg);
  const id = str(h['id']);
  if (!id) throw new ProtocolError(`task message for '${h['task']}' has no 'id' header`);
  if (!Array.isArray(body) || body.length < 2) {
    throw new ProtocolError(`task message ${id}: body must be [args, kwargs, embed], got ${JSON.stringify(body)?.slice(0, 80)}`);
  }
  const [args, kwargs, embed] = body as [unknown, unknown, unknown];
  if (!Array.isArray(args)) throw new ProtocolError(`task message ${id}: args must be a list`);
  if (!isRecord(kwargs)) throw new ProtocolError(`task message ${id}: kwargs must be a mapping`);
  return {
    id,
    name: h['task'],
    args,
    kwargs,
    embed: parseEmbed(embed),
    eta: parseTime(h['eta'], 'eta'),
    expires: parseTime(h['expires'], 'expires'),
    retries: num(h['retries']) ?? 0,
    timeLimit: parseTimeLimit(h['timelimit']),
    rootId: str(h['root_id']),
    parentId: str(h['parent_id']),
    groupId: str(h['group']),
    groupIndex: num(h['group_index']),
    shadow: str(h['shadow']),
    origin: str(h['origin']),
    ignoreResult: h['ignore_result'] === true,
    replyTo: str(msg.properties.reply_to) || null,
    correlationId: str(msg.properties.correlation_id) ?? id,
    argsrepr: str(h['argsrepr']) ?? argsRepr(args),
    kwargsrepr: str(h['kwargsrepr']) ?? kwargsRepr(kwargs),
    lang: str(h['lang']) ?? 'py',
    headers: h,
  };
}

function parseV1(body: unknown, msg: RawMessage): TaskRequest {
  if (!isRecord(body) || typeof body['task'] !== 'string' || typeof body['id'] !== 'string') {
    throw new ProtocolError("not a task message: no 'task' header (protocol v2) and no task/id in the body (protocol v1)");
  }
  const args = Array.isArray(body['args']) ? body['args'] : [];
  const kwargs = isRecord(body['kwargs']) ? body['kwargs'] : {};
  const id = body['id'];
  return {
    id,
    name: body['task'],
    args,
    kwargs,
    embed: { callbacks: sigList(body['callbacks'], 'callbacks'), errbacks: sigList(body['errbacks'], 'errbacks'), chain: null, chord: body['chord'] === undefined || body['chord'] === null ? null : signature(body['chord'], 'chord') },
    eta: parseTime(body['eta'], 'eta'),
    expires: parseTime(body['expires'], 'expires'),
    retries: num(body['retries']) ?? 0,
    timeLimit: parseTimeLimit(body['timelimit']),
    rootId: null,
    parentId: null,
    groupId: str(body['taskset']) ?? str(body['group']),
    groupIndex: num(body['group_index']),
    shadow: null,
    origin: null,
    ignoreResult: false,
    replyTo: str(msg.properties.reply_to) || null,
    correlationId: str(msg.properties.correlation_id) ?? id,
    argsrepr: argsRepr(args),
    kwargsrepr: kwargsRepr(kwargs),
    lang: 'py',
    headers: msg.headers ?? {},
  };
}
