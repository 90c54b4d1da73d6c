/**
 * The consumer of a virtual transport: claims messages up to the prefetch window, hands them out as
 * deliveries, settles them (acks are batched per tick and, on stores with ackAndClaim, ride the next claim),
 * and wakes on the store's signal or a fallback poll.
 */
import { ProtocolError, TransportError } from '../../errors.js';
import { decodeEnvelope } from '../../protocol/envelope.js';
import { envelopeTooLarge, sizeProblem } from '../../protocol/limits.js';
import { uuid } from '../../util/ids.js';
import type { Clock } from '../../util/clock.js';
import type { Consumer, ConsumerOptions, Delivery } from '../types.js';
import type { ClaimedMessage, VirtualStore } from './store.js';

/** What a consumer needs of its transport. */
export interface ConsumerHost {
  readonly store: VirtualStore;
  readonly clock: Clock;
  readonly visibilityTimeout: number;
  readonly pollInterval: number;
  /** Largest message body in bytes (0 = none): bigger deliveries are dead-lettered, not handed out. */
  readonly maxMessageSize: number;
  connect(): Promise<void>;
}

/** How many messages one claim takes when the prefetch window is unlimited. */
const UNLIMITED_BATCH = 256;

/** Acks given since the last write; every ack of a batch returns its one promise. */
interface AckBatch {
  readonly tags: string[];
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
  /** Its tick has passed: whoever claims next, or the end of the claim loop, writes it. */
  due: boolean;
}

function newAckBatch(): AckBatch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { tags: [], promise, resolve, reject, due: false };
}

export class VirtualConsumer implements Consumer {
  readonly owner = uuid();
  private readonly active: string[] = [];
  private readonly held = new Set<string>();
  private prefetch: number;
  private fetching = false;
  /** The running claim loop, awaited by close() so nothing is claimed after the hand-back. */
  private loop: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  /** Acks not yet sent, and ack writes in flight (close() waits for both). */
  private acks: AckBatch | undefined;
  private readonly ackWrites = new Set<Promise<void>>();
  /**
   * Acks the store refused (connection lost, disk full): written again on every poll until they go through,
   * and kept invisible meanwhile, so a finished task is not delivered again once its hold would lapse.
   */
  private readonly unsentAcks = new Set<string>();
  private retryingAcks = false;

  constructor(
    private readonly transport: ConsumerHost,
    private readonly options: ConsumerOptions,
    private readonly onClosed: () => void,
  ) {
    this.prefetch = options.prefetch;
  }

  get queues(): readonly string[] {
    return this.active;
  }

  async consume(queue: string): Promise<void> {
    await this.transport.connect();
    if (this.closed) throw new TransportError('consumer is closed: create a new consumer to read this queue again');
    if (!this.active.includes(queue)) this.active.push(queue);
    if (!this.unwatch) {
      const unwatch = this.transport.store.watch(() => this.wake());
      const unstatus = this.transport.store.onStatus?.((status, error) => {
        if (status === 'restored') return this.wake();
        this.reportError(new TransportError(`lost the connection to the broker (${error?.message ?? 'closed'}); reconnecting with back-off, nothing held is lost`));
      });
      this.unwatch = () => {
        unwatch();
        unstatus?.();
      };
      this.armPoll();
      this.armKeepAlive();
    }
    this.wake();
  }

  async cancel(queue: string): Promise<void> {
    const i = this.active.indexOf(queue);
    if (i !== -1) this.active.splice(i, 1);
  }

  setPrefetch(prefetch: number): void {
    this.prefetch = prefetch;
    this.wake();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.active.length = 0;
    this.unwatch?.();
    clearInterval(this.pollTimer);
    clearInterval(this.keepAliveTimer);
    await this.loop;
    // Acks already given are written before the hand-back (their callers learn of a failure too).
    const pending = this.takeAcks();
    if (pending) this.writeAcks(pending);
    await Promise.all([...this.ackWrites]);
    await this.retryAcks();
    // Hand back by owner, not by tag: a tag whose visibility lapsed may be another consumer's by now.
    this.held.clear();
    await this.transport.store.release(this.owner);
    this.onClosed();
  }

  /** Fallback poll: catches messages whose visibility ran out and stores that cannot signal. */
  private armPoll(): void {
    this.pollTimer = setInterval(() => {
      void this.retryAcks();
      this.wake();
    }, this.transport.pollInterval);
    this.pollTimer.unref();
  }

  /** Keeps held messages invisible while this consumer lives, however long it holds them. */
  private armKeepAlive(): void {
    // Three extensions per timeout, so a short timeout never lapses while this consumer lives.
    // (Capped at setInterval's largest delay, about 24.8 days.)
    const every = Math.min(2 ** 31 - 1, Math.max(1, Math.floor(this.transport.visibilityTimeout / 3)));
    this.keepAliveTimer = setInterval(() => {
      if (this.held.size === 0 && this.unsentAcks.size === 0) return;
      const until = this.transport.clock.now() + this.transport.visibilityTimeout;
      Promise.resolve(this.transport.store.extend([...this.held, ...this.unsentAcks], until)).catch((e: unknown) => this.reportError(e));
    }, every);
    this.keepAliveTimer.unref();
  }

  private room(): number {
    if (this.prefetch <= 0) return UNLIMITED_BATCH;
    return this.prefetch - this.held.size;
  }

  /**
   * Whether to claim now: always when holding nothing; otherwise once a quarter of the window is free, so
   * a busy consumer claims in batches instead of one message per ack. (Waiting for three quarters, tried
   * for fewer Redis round trips at -c 1, starves slots: a consumer holding two long tasks of a window of
   * three, or of four with prefetch multiplier 1, would never fill its free slot.)
   */
  private shouldClaim(): boolean {
    const room = this.room();
    return room > 0 && (this.held.size === 0 || room >= Math.max(1, Math.floor(this.prefetch / 4)));
  }

  /** Starts a claim loop unless one is running; a running loop is told to go round once more. */
  private wake(): void {
    if (this.closed || this.active.length === 0) return;
    if (this.fetching) {
      this.again = true;
      return;
    }
    this.fetching = true;
    this.loop = this.fetchLoop();
  }

  private async fetchLoop(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.closed && this.active.length > 0 && this.shouldClaim() && !this.awaitingAcks()) {
          const claimed = await this.claim();
          // Once closed, undelivered claims stay with this owner; close() releases them after this loop.
          for (const c of claimed) {
            if (this.closed) break;
            const deadLettering = this.deliver(c);
            if (deadLettering) await deadLettering;
          }
          if (claimed.length === 0) break;
        }
      } while (this.again && !this.closed);
    } catch (err) {
      this.reportError(err);
    } finally {
      this.fetching = false;
      // Acks that came due while this loop ran and found nothing to ride on go alone.
      if (this.acks?.due) this.writeAcks(this.takeAcks() as AckBatch);
    }
  }

  /**
   * On stores with ackAndClaim, acks given in this tick come due after it and wake the loop: the claim waits
   * for them (and for the results written meanwhile, which ride it too), so one claim serves a tick's tasks.
   */
  private awaitingAcks(): boolean {
    return this.acks !== undefined && !this.acks.due && this.transport.store.ackAndClaim !== undefined;
  }

  /** One claim; on stores with ackAndClaim the acks given so far ride along (one round trip, not two). */
  private async claim(): Promise<ClaimedMessage[]> {
    const { store, clock, visibilityTimeout } = this.transport;
    const until = clock.now() + visibilityTimeout;
    const batch = store.ackAndClaim ? this.takeAcks() : undefined;
    if (!batch || !store.ackAndClaim) return store.claim(this.active, this.room(), this.owner, until);
    try {
      const claimed = await store.ackAndClaim(batch.tags, this.active, this.room(), this.owner, until);
      batch.resolve();
      return claimed;
    } catch (err) {
      for (const t of batch.tags) this.unsentAcks.add(t);
      batch.reject(err);
      throw err;
    }
  }

  /** Hands one claimed message to `onMessage`; returns a promise only when it had to dead-letter it. */
  private deliver(c: ClaimedMessage): Promise<void> | undefined {
    const max = this.transport.maxMessageSize;
    if (!c.decoded && envelopeTooLarge(c.envelope.length, max)) {
      return this.refuse(c, `message too large: stored envelope of ${c.envelope.length} bytes cannot hold a body within maxMessageSize (${max} bytes)`);
    }
    let decoded;
    try {
      decoded = c.decoded ?? decodeEnvelope(c.envelope);
    } catch (err) {
      return this.refuse(c, `undecodable envelope: ${(err as Error).message}`);
    }
    const tooLarge = sizeProblem(decoded.message.body.length, max);
    if (tooLarge) return this.refuse(c, `message too large: ${tooLarge}`);
    this.held.add(c.tag);
    try {
      this.options.onMessage(new VirtualDelivery(this, c, decoded));
    } catch (err) {
      this.reportError(err);
    }
    return undefined;
  }

  /** Dead-letters a claimed message that is never handed out, and says so through onError. */
  private refuse(c: ClaimedMessage, reason: string): Promise<void> {
    this.reportError(new ProtocolError(`${reason} (queue '${c.queue}'): dead-lettered`));
    return Promise.resolve(this.transport.store.deadLetter(c.tag, reason, this.transport.clock.now(), this.owner));
  }

  /** Marks a delivery settled; false when it was settled already or handed back by close(). */
  settle(tag: string): boolean {
    return this.held.delete(tag);
  }

  /** Puts a delivery back (requeue) or dead-letters it, then looks for more work. */
  async rejectDelivery(tag: string, requeue: boolean, reason: string | undefined): Promise<void> {
    const store = this.transport.store;
    if (requeue) await store.requeue([tag], this.owner);
    else await store.deadLetter(tag, reason ?? 'rejected', this.transport.clock.now(), this.owner);
    this.wake();
  }

  /** Acks are gathered for one tick and written together; every ack of a batch shares its promise. */
  queueAck(tag: string): Promise<void> {
    let batch = this.acks;
    if (!batch) {
      const fresh = (batch = this.acks = newAckBatch());
      setImmediate(() => this.ackDue(fresh));
    }
    batch.tags.push(tag);
    return batch.promise;
  }

  /**
   * A batch's tick has passed. With ackAndClaim it rides the claim this ack makes room for (the claim loop
   * takes it, or writes it alone if it does not claim); otherwise it is written now.
   */
  private ackDue(batch: AckBatch): void {
    if (this.acks !== batch) return;
    batch.due = true;
    if (this.transport.store.ackAndClaim && !this.closed && this.active.length > 0) {
      this.wake();
      return;
    }
    this.writeAcks(this.takeAcks() as AckBatch);
  }

  private takeAcks(): AckBatch | undefined {
    const batch = this.acks;
    this.acks = undefined;
    return batch;
  }

  /** Writes a batch of acks on its own, then looks for more work. */
  private writeAcks(batch: AckBatch): void {
    const write = Promise.resolve()
      .then(() => this.transport.store.ack(batch.tags, this.owner))
      .then(
        () => {
          batch.resolve();
          this.wake();
        },
        (err: unknown) => {
          for (const t of batch.tags) this.unsentAcks.add(t);
          batch.reject(err);
        },
      );
    this.ackWrites.add(write);
    void write.finally(() => this.ackWrites.delete(write));
  }

  /** Writes the acks the store refused before; those it refuses again wait for the next poll. */
  private async retryAcks(): Promise<void> {
    if (this.unsentAcks.size === 0 || this.retryingAcks) return;
    this.retryingAcks = true;
    const tags = [...this.unsentAcks];
    try {
      await this.transport.store.ack(tags, this.owner);
      for (const t of tags) this.unsentAcks.delete(t);
      this.wake();
    } catch {
      // Still refused (the error was reported with the first attempt): tried again on the next poll.
    } finally {
      this.retryingAcks = false;
    }
  }

  private reportError(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.options.onError) this.options.onError(error);
  }
}

/** One message handed to the worker; settling it twice, or after close() handed it back, is a no-op. */
class VirtualDelivery implements Delivery {
  readonly message: Delivery['message'];
  readonly deliveryTag: string;
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;

  constructor(
    private readonly consumer: VirtualConsumer,
    c: ClaimedMessage,
    decoded: NonNullable<ClaimedMessage['decoded']>,
  ) {
    this.message = decoded.message;
    this.deliveryTag = c.tag;
    this.queue = c.queue;
    this.exchange = decoded.deliveryInfo.exchange;
    this.routingKey = decoded.deliveryInfo.routing_key;
    this.redelivered = c.redelivered || decoded.redelivered;
  }

  ack(): Promise<void> {
    if (!this.consumer.settle(this.deliveryTag)) return Promise.resolve();
    return this.consumer.queueAck(this.deliveryTag);
  }

  reject(options: { requeue: boolean; reason?: string }): Promise<void> {
    if (!this.consumer.settle(this.deliveryTag)) return Promise.resolve();
    return this.consumer.rejectDelivery(this.deliveryTag, options.requeue, options.reason);
  }
}
