/**
 * RawMessage <-> AMQP basic properties, as py-amqp and kombu spell them on the wire (body bytes as they
 * are, headers as the application headers table), and the headers a dead letter carries.
 */
import type { Message, Options } from 'amqplib';
import type { MessageProperties, RawMessage } from '../../protocol/message.js';
import { fieldTable } from './headers.js';

/** Publish options for a message; delivery_mode defaults to 2 (persistent), as kombu's. */
export function publishOptions(message: RawMessage, mandatory: boolean): Options.Publish {
  const p = message.properties;
  const out: Options.Publish = {
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    headers: fieldTable(message.headers),
    deliveryMode: p.delivery_mode ?? 2,
    mandatory,
  };
  if (p.priority !== undefined && p.priority !== null) out.priority = p.priority;
  if (p.correlation_id !== undefined && p.correlation_id !== null) out.correlationId = p.correlation_id;
  if (p.reply_to !== undefined && p.reply_to !== null) out.replyTo = p.reply_to;
  if (p.expiration !== undefined && p.expiration !== null) out.expiration = p.expiration;
  return out;
}

/** The RawMessage of a received AMQP message; properties absent on the wire stay absent. */
export function rawMessage(msg: Message): RawMessage {
  const p = msg.properties;
  const properties: MessageProperties = {};
  if (p.correlationId !== undefined) properties.correlation_id = String(p.correlationId);
  if (p.replyTo !== undefined) properties.reply_to = String(p.replyTo);
  if (p.deliveryMode !== undefined) properties.delivery_mode = Number(p.deliveryMode);
  if (p.priority !== undefined) properties.priority = Number(p.priority);
  if (p.expiration !== undefined) properties.expiration = String(p.expiration);
  return {
    body: msg.content,
    contentType: p.contentType === undefined ? 'application/octet-stream' : String(p.contentType),
    contentEncoding: p.contentEncoding === undefined ? 'binary' : String(p.contentEncoding),
    headers: { ...(p.headers ?? {}) },
    properties,
  };
}

/** Header names celeriac adds to a dead letter; removed again when it is read back. */
export const DEAD = {
  id: 'x-celeriac-dead-id',
  queue: 'x-celeriac-dead-queue',
  reason: 'x-celeriac-dead-reason',
  at: 'x-celeriac-dead-at',
} as const;

/** A copy of `message` that carries why and where it died. */
export function deadLetterMessage(message: RawMessage, info: { id: string; queue: string; reason: string; at: number }): RawMessage {
  return {
    ...message,
    headers: { ...message.headers, [DEAD.id]: info.id, [DEAD.queue]: info.queue, [DEAD.reason]: info.reason, [DEAD.at]: info.at },
  };
}

/** Splits a stored dead letter into its original message and what was recorded about it. */
export function readDeadLetter(message: RawMessage): { id: string; queue: string; reason: string; at: number; message: RawMessage } {
  const headers = { ...message.headers };
  const info = { id: String(headers[DEAD.id] ?? ''), queue: String(headers[DEAD.queue] ?? ''), reason: String(headers[DEAD.reason] ?? ''), at: Number(headers[DEAD.at] ?? 0) };
  for (const key of Object.values(DEAD)) delete headers[key];
  return { ...info, message: { ...message, headers } };
}
