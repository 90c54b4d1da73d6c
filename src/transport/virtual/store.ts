/**
 * The few primitives a broker without exchanges must provide (kombu's virtual channel idea): keep
 * queues of stored envelopes, claim them for a consumer, settle them. `VirtualTransport` builds the
 * whole `Transport` contract (routing, prefetch, acks, requeue, dead letters) on top, once.
 *
 * Every primitive may answer synchronously (memory, SQLite) or with a promise (network stores).
 */
import type { DecodedEnvelope } from '../../protocol/envelope.js';
import type { Binding, DeadLetter, ExchangeDeclaration, QueueDeclaration, QueueInfo, TransportCapabilities } from '../types.js';
import type { ExpiryStore } from './expiry.js';

export type MaybePromise<T> = T | Promise<T>;

export interface PutItem {
  /** Set instead of `envelope` (which is then '') for stores with `keepsObjects`. */
  decoded?: DecodedEnvelope;
  queue: string;
  /** kombu JSON envelope (see protocol/envelope.ts). */
  envelope: string;
  /** Delivery tag, unique per message. */
  tag: string;
  priority: number;
  /**
   * From the message's `expiration` property: ms since the epoch after which it is dropped, never delivered.
   * Stores with `capabilities.messageTtl` also apply the queue's `messageTtl` at put (the earlier deadline wins).
   */
  expiresAt?: number;
}

export interface ClaimedMessage {
  /** The message as put, from stores with `keepsObjects`: nothing to decode. */
  decoded?: DecodedEnvelope;
  tag: string;
  queue: string;
  envelope: string;
  redelivered: boolean;
}

/** A dead letter as stored: the envelope is decoded by the transport when listed. */
export type StoredDeadLetter = Omit<DeadLetter, 'message'> & { envelope: string };

/** `touchQueues` / `sweepExpired` (see expiry.ts) honour `QueueDeclaration.expires`; declareQueue records it. */
export interface VirtualStore extends ExpiryStore {
  readonly capabilities: TransportCapabilities;
  /** In-process stores keep message objects: the transport skips the JSON envelope both ways. */
  readonly keepsObjects?: boolean;
  open(): MaybePromise<void>;
  close(): MaybePromise<void>;

  declareExchange(exchange: ExchangeDeclaration): MaybePromise<void>;
  getExchange(name: string): MaybePromise<ExchangeDeclaration | undefined>;
  /** Forgets the exchange and its bindings (the queues stay). */
  deleteExchange(name: string): MaybePromise<void>;
  declareQueue(queue: QueueDeclaration): MaybePromise<void>;
  deleteQueue(name: string): MaybePromise<void>;
  addBinding(binding: Binding): MaybePromise<void>;
  bindings(exchange: string): MaybePromise<Binding[]>;

  /** Stores messages; all or none. */
  put(items: readonly PutItem[]): MaybePromise<void>;
  /**
   * Optional: the broker's own broadcast for fanout exchanges (Redis PUBLISH, as kombu does). When
   * present, fanout publishes go here instead of being copied into every bound queue.
   */
  putFanout?(exchange: string, routingKey: string, envelope: string): MaybePromise<void>;
  /**
   * Atomically takes up to `max` ready messages from `queues` for `owner`: each becomes invisible to
   * others until settled, or until `visibleAt` (ms since epoch), after which it is ready again and
   * comes back marked redelivered. Higher priority first, then oldest first.
   */
  claim(queues: readonly string[], max: number, owner: string, visibleAt: number): MaybePromise<ClaimedMessage[]>;
  /**
   * Optional, for networked stores: acks `acks` exactly as ack() would (owner-checked), then claims as
   * claim() does, in one round trip. The acks are written even when nothing is claimed. The consumer
   * then rides the acks of finished deliveries on its next claim instead of sending them apart.
   */
  ackAndClaim?(acks: readonly string[], queues: readonly string[], max: number, owner: string, visibleAt: number): MaybePromise<ClaimedMessage[]>;
  /** Pushes the invisibility of held messages to `visibleAt` (keep-alive for long holds). */
  extend(tags: readonly string[], visibleAt: number): MaybePromise<void>;
  /**
   * Settling is owner-checked: a consumer that stalled past its visibility timeout must not ack, requeue or
   * dead-letter a message another consumer has claimed since; such a call does nothing.
   */
  ack(tags: readonly string[], owner: string): MaybePromise<void>;
  /** Makes held messages ready again at once, marked redelivered. */
  requeue(tags: readonly string[], owner: string): MaybePromise<void>;
  /** Moves a held (or undecodable) message to the dead-letter store. */
  deadLetter(tag: string, reason: string, at: number, owner: string): MaybePromise<void>;
  /** Hands back every message `owner` still holds. */
  release(owner: string): MaybePromise<void>;
  purge(queue: string): MaybePromise<number>;
  info(queue: string): MaybePromise<QueueInfo>;
  listQueues(): MaybePromise<QueueInfo[]>;
  deadLetters(limit: number): MaybePromise<StoredDeadLetter[]>;

  /**
   * Calls `listener` when the store may have new ready messages (a put here or in another process).
   * Returns an unsubscribe function. Stores that cannot tell rely on the transport's fallback poll.
   */
  watch(listener: () => void): () => void;

  /**
   * Optional, for networked stores: reports losing the connection ('lost', once per outage) and getting it
   * back ('restored'). Consumers pass 'lost' to their onError and claim again on 'restored'.
   */
  onStatus?(listener: (status: 'lost' | 'restored', error?: Error) => void): () => void;
}
