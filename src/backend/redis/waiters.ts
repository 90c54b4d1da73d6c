/**
 * Waiting for results through one shared subscriber connection per backend. Celery PUBLISHes every stored
 * result on a channel named after its key, so a waiter SUBSCRIBEs to that channel (the SUBSCRIBEs of one
 * tick go out as one command), then GETs the key once to catch a result stored before the subscription
 * took effect, and the channel is UNSUBSCRIBEd when nobody waits for it any more. After a reconnect every
 * awaited channel is subscribed and read again, so a result published during the outage is not missed.
 */
import type { Redis } from 'ioredis';
import { BackendError, CeleriacError, ResultTimeoutError } from '../../errors.js';
import { parseResultMeta, type ResultMeta } from '../../protocol/result-meta.js';
import { isReady } from '../../protocol/states.js';
import type { WaitOptions } from '../types.js';
import { ignoreErrorEvents, quit } from '../../util/redis.js';

/** Channels per SUBSCRIBE / UNSUBSCRIBE and keys per MGET. */
const BATCH = 1000;
/** Pause before retrying subscriptions or reads that failed (connection trouble), ms. */
const RETRY_MS = 1000;

interface Waiter {
  /** The last state seen, for the timeout message. */
  state: string;
  resolve(meta: ResultMeta): void;
  reject(error: Error): void;
}

interface Awaited {
  taskId: string;
  waiters: Set<Waiter>;
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) out.push(items.slice(i, i + BATCH));
  return out;
}

export class ResultWaiters {
  /** Awaited keys (which are also the channels). */
  private readonly awaited = new Map<string, Awaited>();
  /** Channels SUBSCRIBE was sent for, and not UNSUBSCRIBE since. */
  private readonly subscribed = new Set<string>();
  /** Keys with a new waiter: subscribe if need be, then read once. */
  private readonly unchecked = new Set<string>();
  /** Keys that lost their last waiter: unsubscribe. */
  private readonly idle = new Set<string>();
  private subscriber: Redis | undefined;
  private wasReady = false;
  private scheduled = false;
  private flushing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * @param makeSubscriber a new, not yet connected subscriber connection (made on the first wait)
   * @param read values of keys, on the command connection
   */
  constructor(
    private readonly url: string,
    private readonly makeSubscriber: () => Redis,
    private readonly read: (keys: string[]) => Promise<(string | null)[]>,
  ) {}

  /** Waits for `key` to hold a ready state. `state` is the one read before; `timeout` counts from `startedAt`. */
  wait(key: string, taskId: string, state: string, options: WaitOptions, startedAt: number): Promise<ResultMeta> {
    return new Promise<ResultMeta>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (): void => {
        done = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const entry = this.awaited.get(key);
        if (entry?.waiters.delete(waiter) && entry.waiters.size === 0) {
          this.awaited.delete(key);
          this.idle.add(key);
          this.schedule();
        }
      };
      const waiter: Waiter = {
        state,
        resolve: (meta) => {
          if (done) return;
          finish();
          resolve(meta);
        },
        reject: (error) => {
          if (done) return;
          finish();
          reject(error);
        },
      };
      const onAbort = (): void =>
        waiter.reject(options.signal?.reason instanceof Error ? options.signal.reason : new ResultTimeoutError(`waiting for task ${taskId} was aborted`));
      if (this.closed) return waiter.reject(this.closedError(taskId));
      if (options.signal?.aborted) return onAbort();
      if (options.timeout !== undefined) {
        const left = Math.max(0, options.timeout - (Date.now() - startedAt));
        timer = setTimeout(() => {
          waiter.reject(
            new ResultTimeoutError(
              `task ${taskId} was not ready after ${options.timeout} ms (state ${waiter.state}). Is a worker consuming its queue? Raise the timeout, or check with \`celeriac result ${taskId}\`.`,
            ),
          );
        }, left);
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let entry = this.awaited.get(key);
      if (!entry) this.awaited.set(key, (entry = { taskId, waiters: new Set() }));
      entry.waiters.add(waiter);
      this.unchecked.add(key);
      this.schedule();
    });
  }

  /** Stops subscribing and closes the subscriber connection; pending waiters stay until `failPending`. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) await quit(sub);
  }

  /** Fails every pending waiter with BackendError (after close(), so none hangs). */
  failPending(): void {
    for (const entry of [...this.awaited.values()]) {
      for (const w of [...entry.waiters]) w.reject(this.closedError(entry.taskId));
    }
  }

  private closedError(taskId: string): BackendError {
    return new BackendError(`result backend ${this.url} was closed while waiting for task ${taskId}`);
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = this.makeSubscriber();
    ignoreErrorEvents(sub);
    sub.on('message', (channel: string, text: string) => this.settle(channel, text));
    sub.on('ready', () => this.onReady());
    this.subscriber = sub;
    return sub;
  }

  /** After a reconnect the server has forgotten the subscriptions: subscribe and read every awaited key again. */
  private onReady(): void {
    if (!this.wasReady) {
      this.wasReady = true;
      return;
    }
    this.subscribed.clear();
    this.idle.clear();
    for (const key of this.awaited.keys()) this.unchecked.add(key);
    this.schedule();
  }

  /** Resolves the waiters of `key` when `text` is a ready record; a record that cannot be read fails them. */
  private settle(key: string, text: string | null | undefined): void {
    const entry = this.awaited.get(key);
    if (!entry || text === null || text === undefined) return;
    let meta: ResultMeta;
    try {
      meta = parseResultMeta(text, entry.taskId);
    } catch (error) {
      for (const w of [...entry.waiters]) w.reject(error as CeleriacError);
      return;
    }
    if (!isReady(meta.status)) {
      for (const w of entry.waiters) w.state = meta.status;
      return;
    }
    for (const w of [...entry.waiters]) w.resolve(meta);
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Sends the pending SUBSCRIBEs and UNSUBSCRIBEs, then reads the newly awaited keys. One flush at a time. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (!this.closed && (this.unchecked.size > 0 || this.idle.size > 0)) {
        const drop = [...this.idle].filter((k) => !this.awaited.has(k) && this.subscribed.has(k));
        this.idle.clear();
        const check = [...this.unchecked].filter((k) => this.awaited.has(k));
        this.unchecked.clear();
        const add = check.filter((k) => !this.subscribed.has(k));
        for (const k of drop) this.subscribed.delete(k);
        for (const k of add) this.subscribed.add(k);
        try {
          const sub = this.connection();
          await Promise.all([...chunks(drop).map((c) => sub.unsubscribe(...c)), ...chunks(add).map((c) => sub.subscribe(...c))]);
          // Subscribed: anything stored from now on arrives as a message; read what was stored before.
          const live = check.filter((k) => this.awaited.has(k));
          const values = await Promise.all(chunks(live).map((c) => this.read(c)));
          values.flat().forEach((text, i) => this.settle(live[i] as string, text));
        } catch {
          if (this.closed) return;
          // Connection trouble: try these again shortly (ioredis reconnects meanwhile).
          for (const k of add) this.subscribed.delete(k);
          for (const k of check) if (this.awaited.has(k)) this.unchecked.add(k);
          for (const k of drop) {
            this.subscribed.add(k);
            this.idle.add(k);
          }
          this.retryLater();
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private retryLater(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, RETRY_MS);
  }
}
