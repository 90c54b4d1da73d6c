/**
 * The broker-level message every transport carries: an AMQP-shaped body + content type + headers + properties.
 *
 *   field             type                     notes
 *   body              Buffer                   serialized bytes (the codec named by contentType made them)
 *   contentType       string                   'application/json', 'application/x-msgpack'
 *   contentEncoding   string                   'utf-8' for text codecs, 'binary' otherwise
 *   headers           Record<string, unknown>  application headers (Celery puts the task headers here)
 *   properties        MessageProperties        AMQP basic properties, Celery's snake_case spelling
 */

export interface MessageProperties {
  correlation_id?: string;
  reply_to?: string;
  /** 2 = persistent (default), 1 = transient. */
  delivery_mode?: number;
  priority?: number;
  /** Per-message TTL in milliseconds, as a string (AMQP). */
  expiration?: string;
}

export interface RawMessage {
  body: Buffer;
  contentType: string;
  contentEncoding: string;
  headers: Record<string, unknown>;
  properties: MessageProperties;
}

/** Where a message went: the exchange it was published to and its routing key. */
export interface DeliveryInfo {
  exchange: string;
  routing_key: string;
}
