/**
 * Celery's monitoring events (celeryev), exactly as Celery 5.2.6 sends them. Pure: the time, the host
 * name, the pid, the clock value and the UTC offset are parameters.
 *
 *   exchange      celeryev: topic (fanout on brokers whose fanout filters by routing-key pattern: kombu's Redis)
 *   routing key   the type with '-' -> '.' (worker.heartbeat); a batch of one group's events: '<group>.multi'
 *   message       content-type application/json, headers { hostname }, delivery_mode 1 (transient)
 *   body          one event object, or a list of them (a batch, Celery 4+)
 *
 *   every event   hostname, utcoffset (hours WEST of UTC, Python's time.timezone // 3600), pid,
 *                 clock (Lamport), ...the type's fields..., timestamp (float UNIX seconds), type
 *   worker-online / worker-heartbeat / worker-offline
 *                 freq (s between heartbeats), active, processed, loadavg [1, 5, 15], sw_ident, sw_ver, sw_sys
 *   task-sent     uuid, root_id, parent_id, name, args, kwargs, retries, eta, expires, queue, exchange, routing_key
 *   task-received uuid, name, args, kwargs, root_id, parent_id, retries, eta, expires
 *   task-started  uuid
 *   task-succeeded uuid, result, runtime (s)
 *   task-failed   uuid, exception, traceback
 *   task-retried  uuid, exception, traceback
 *   task-revoked  uuid, terminated, signum, expired
 *   task-rejected uuid, requeue
 *   (args, kwargs, result and exception are Python reprs: '(2, 2)', "{}", '4', "ValueError('boom')";
 *    eta and expires ISO-8601 strings or null)
 */
import { EventError } from '../errors.js';
import { checkDepth, sizeProblem } from './limits.js';
import type { RawMessage } from './message.js';

export const EVENT_EXCHANGE = 'celeryev';
/** Celery's event_queue_prefix, event_queue_ttl (5 s) and event_queue_expires (60 s). */
export const EVENT_QUEUE_PREFIX = 'celeryev';
export const EVENT_QUEUE_TTL_MS = 5_000;
export const EVENT_QUEUE_EXPIRES_MS = 60_000;
/** Celery's default worker heartbeat interval (seconds). */
export const HEARTBEAT_FREQ = 2.0;

/** Fields every event carries. */
export interface StandardFields {
  hostname: string;
  utcoffset: number;
  pid: number;
  clock: number;
  /** UNIX seconds (float). */
  timestamp: number;
}

export interface WorkerFields {
  freq: number;
  active: number;
  processed: number;
  loadavg: number[];
  sw_ident: string;
  sw_ver: string;
  sw_sys: string;
}

export interface TaskSentFields {
  uuid: string;
  root_id: string | null;
  parent_id: string | null;
  name: string;
  args: string;
  kwargs: string;
  retries: number;
  eta: string | null;
  expires: string | null;
  queue: string;
  exchange: string;
  routing_key: string;
}

export interface TaskReceivedFields {
  uuid: string;
  name: string;
  args: string;
  kwargs: string;
  root_id: string | null;
  parent_id: string | null;
  retries: number;
  eta: string | null;
  expires: string | null;
}

export interface TaskErrorFields {
  uuid: string;
  exception: string;
  traceback: string;
}

/** The typed event map: each Celery event type and the fields it adds to the standard ones. */
export interface EventFieldMap {
  'worker-online': WorkerFields;
  'worker-heartbeat': WorkerFields;
  'worker-offline': WorkerFields;
  'task-sent': TaskSentFields;
  'task-received': TaskReceivedFields;
  'task-started': { uuid: string };
  'task-succeeded': { uuid: string; result: string; runtime: number };
  'task-failed': TaskErrorFields;
  'task-retried': TaskErrorFields;
  'task-revoked': { uuid: string; terminated: boolean; signum: number | string | null; expired: boolean };
  'task-rejected': { uuid: string; requeue: boolean };
}

export type EventType = keyof EventFieldMap;
export const EVENT_TYPES: readonly EventType[] = [
  'worker-online', 'worker-heartbeat', 'worker-offline',
  'task-sent', 'task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'task-rejected',
];

/** The fields an event of `type` carries: checked for the known types, free for custom ones ('custom-thing'). */
export type FieldsOf<T extends string> = T extends EventType ? EventFieldMap[T] : Record<string, unknown>;

/** One event of a known type, with its fields typed. */
export type CeleryEvent<T extends EventType = EventType> = { [K in T]: StandardFields & EventFieldMap[K] & { type: K } }[T];

/** Any event as received: a known one, or a custom type (`custom-thing`) whose fields are not known here. */
export type AnyEvent = StandardFields & { type: string; [field: string]: unknown };

export type TaskEventType = Extract<EventType, `task-${string}`>;
export type WorkerEventType = Extract<EventType, `worker-${string}`>;

/** Who sends an event and when: what the dispatcher fills in. */
export interface EventStamp {
  hostname: string;
  pid: number;
  clock: number;
  /** ms since the epoch. */
  now: number;
  /** Hours west of UTC (see utcOffsetHours). */
  utcoffset: number;
}

/** Celery's `utcoffset()`: hours WEST of UTC at `date`, floored (Python's `time.timezone // 3600`). */
export function utcOffsetHours(date: Date): number {
  return Math.floor(date.getTimezoneOffset() / 60);
}

/** 'task' of 'task-succeeded' (Celery's group_from). */
export function eventGroup(type: string): string {
  return type.split('-', 1)[0] ?? type;
}

/** The routing key of one event: its type with '-' -> '.'. */
export function eventRoutingKey(type: string): string {
  return type.replace(/-/g, '.');
}

/** The routing key of a batch of one group's events: '<group>.multi'. */
export function batchRoutingKey(group: string): string {
  return `${group}.multi`;
}

/** The queue name of a monitor (Celery: `celeryev.<node id>`). */
export function eventQueueName(nodeId: string, prefix = EVENT_QUEUE_PREFIX): string {
  return `${prefix}.${nodeId}`;
}

/** Builds one event, keys in Celery's order: standard fields, the type's fields, then timestamp and type. */
export function buildEvent<T extends EventType>(type: T, fields: EventFieldMap[T], stamp: EventStamp): CeleryEvent<T>;
export function buildEvent(type: string, fields: Record<string, unknown>, stamp: EventStamp): AnyEvent;
export function buildEvent(type: string, fields: object, stamp: EventStamp): AnyEvent {
  if (!type || typeof type !== 'string') throw new EventError(`an event needs a type such as 'task-succeeded', got ${JSON.stringify(type)}`);
  return { hostname: stamp.hostname, utcoffset: stamp.utcoffset, pid: stamp.pid, clock: stamp.clock, ...fields, timestamp: stamp.now / 1000, type };
}

/** The broker message of one event or of a batch (a list), as Celery's EventDispatcher publishes it. */
export function buildEventMessage(body: AnyEvent | readonly AnyEvent[], hostname: string): RawMessage {
  return {
    body: Buffer.from(JSON.stringify(body), 'utf8'),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { hostname },
    properties: { delivery_mode: 1 },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const STRING_FIELDS: Partial<Record<EventType, readonly string[]>> = {
  'task-sent': ['uuid', 'name'],
  'task-received': ['uuid', 'name'],
};

/** Checks one event object; returns it typed, or throws EventError saying what is wrong. */
export function parseEvent(value: unknown): AnyEvent {
  if (!isRecord(value)) throw new EventError(`an event must be a JSON object, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
  const type = value['type'];
  if (typeof type !== 'string' || !type) throw new EventError(`event has no 'type' (expected e.g. 'task-succeeded'): ${JSON.stringify(value).slice(0, 200)}`);
  for (const [field, kind] of [['hostname', 'string'], ['clock', 'number'], ['timestamp', 'number'], ['pid', 'number'], ['utcoffset', 'number']] as const) {
    const v = value[field];
    if (v !== undefined && v !== null && typeof v !== kind) throw new EventError(`${type} event: '${field}' must be a ${kind}, got ${JSON.stringify(v)}`);
  }
  if (type.startsWith('task-') && typeof value['uuid'] !== 'string') throw new EventError(`${type} event has no task 'uuid'`);
  if (type.startsWith('worker-') && typeof value['hostname'] !== 'string') throw new EventError(`${type} event has no 'hostname'`);
  for (const field of STRING_FIELDS[type as EventType] ?? []) {
    if (typeof value[field] !== 'string') throw new EventError(`${type} event: '${field}' must be a string, got ${JSON.stringify(value[field])}`);
  }
  return value as AnyEvent;
}

/** A decoded body: one event or a batch (list) of them. */
export function parseEventBody(body: unknown): AnyEvent[] {
  return Array.isArray(body) ? body.map(parseEvent) : [parseEvent(body)];
}

/** Decodes an event message (JSON only, as Celery's events, at most `maxSize` bytes; 0 = any); throws EventError when it is not one. */
export function parseEventMessage(msg: RawMessage, maxSize = 0): AnyEvent[] {
  if (msg.contentType !== 'application/json') throw new EventError(`event message has content type '${String(msg.contentType).slice(0, 100)}': events are application/json`);
  const tooLarge = sizeProblem(msg.body.length, maxSize);
  if (tooLarge) throw new EventError(`event message too large: ${tooLarge}`);
  let body: unknown;
  try {
    body = JSON.parse(msg.body.toString('utf8'));
  } catch (cause) {
    throw new EventError(`event message body is not JSON: ${(cause as Error).message}`, { cause });
  }
  try {
    checkDepth(body, msg.body.length, 2);
  } catch (cause) {
    throw new EventError(`event message ${(cause as Error).message}`, { cause });
  }
  return parseEventBody(body);
}

/** Whether `event` is of the known type `type` (narrows its fields). */
export function isEventType<T extends EventType>(event: AnyEvent, type: T): event is CeleryEvent<T> & AnyEvent {
  return event.type === type;
}
