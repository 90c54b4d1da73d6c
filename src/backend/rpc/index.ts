/**
 * rpc:// — Celery's rpc result backend: no result store. A worker publishes each state of a task to the
 * reply queue named by the task message's reply_to (default exchange, routing key = that queue), with
 * correlation_id = the task id; the producer consumes its own reply queue and keeps the latest state.
 *
 * Features
 * - Wire-identical to Celery's: reply queue named after the app's oid, durable false, auto_delete true,
 *   x-expires = result_expires; reply body `{task_id, status, result, traceback, children}` in JSON,
 *   delivery_mode 1 (transient). Python producers read celeriac results and the other way round.
 * - Results go only to the process that sent the task (as in Celery): `getMeta()` of a task sent
 *   elsewhere stays PENDING. The latest 10,000 states are kept in memory, none after the process exits.
 * - Rides on the app's broker transport (whatever it is): needs the default exchange to route to a queue
 *   by name. On amqp:// that is RabbitMQ itself; on redis:// and sqlite:// the same queues are emulated
 *   (works celeriac to celeriac; Celery's own rpc backend wants AMQP).
 *
 * Connection string
 *   rpc://
 *
 * Options
 *   resultExpires   seconds an unused reply queue lives (x-expires; default 1 day, 0 = no expiry)
 */
import { BackendError, ConfigError, ResultTimeoutError } from '../../errors.js';
import { jsonCodec } from '../../protocol/codecs.js';
import { pendingMeta, type ResultMeta } from '../../protocol/result-meta.js';
import { isReady } from '../../protocol/states.js';
import type { Consumer, Delivery, Transport } from '../../transport/types.js';
import type { BackendFactory, BackendOptions, ReplyAddress, ResultBackend, WaitOptions } from '../types.js';

/** States kept for getMeta() after they arrived (the oldest are dropped first). */
const KEEP = 10_000;

interface Waiter {
  resolve(meta: ResultMeta): void;
  reject(error: Error): void;
}

function isTransport(value: unknown): value is Transport {
  return typeof value === 'object' && value !== null && typeof (value as Transport).publish === 'function' && typeof (value as Transport).createConsumer === 'function';
}

export class RpcBackend implements ResultBackend {
  private transport: Transport | undefined;
  private consumer: Consumer | undefined;
  private listening: Promise<void> | undefined;
  private readonly states = new Map<string, ResultMeta>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(
    readonly url: string,
    private readonly options: BackendOptions,
  ) {}

  async connect(): Promise<void> {
    if (this.transport) return;
    if (!this.options.broker) throw new ConfigError("rpc:// sends results through the app's broker: create the backend from an app (new Celeriac(..., { backend: 'rpc://' }))");
    const transport = await this.options.broker();
    if (!isTransport(transport)) throw new ConfigError('rpc:// needs a broker transport: the broker option did not give one');
    this.transport = transport;
  }

  /** Declares this app's reply queue and starts reading it (once). */
  prepareReplies(): Promise<void> {
    this.listening ??= this.listen();
    this.listening.catch(() => (this.listening = undefined));
    return this.listening;
  }

  private async listen(): Promise<void> {
    await this.connect();
    const transport = this.transport as Transport;
    const queue = this.replyQueue();
    const expires = (this.options.resultExpires ?? 86_400) * 1000;
    try {
      await transport.declareQueue({ name: queue, durable: false, autoDelete: true, ...(expires > 0 ? { expires } : {}) });
      this.consumer = transport.createConsumer({ prefetch: 0, onMessage: (d) => this.onReply(d) });
      await this.consumer.consume(queue);
    } catch (cause) {
      throw new BackendError(`rpc:// cannot read its reply queue '${queue}': ${(cause as Error).message}`, { cause });
    }
  }

  private replyQueue(): string {
    const queue = this.options.replyTo;
    if (!queue) throw new ConfigError("rpc:// needs the app's reply queue name (options.replyTo): create the backend from an app");
    return queue;
  }

  private onReply(delivery: Delivery): void {
    void delivery.ack().catch(() => undefined);
    let body: unknown;
    try {
      body = jsonCodec.decode(delivery.message.body);
    } catch {
      return; // not a result: nothing waits for it
    }
    if (typeof body !== 'object' || body === null || typeof (body as ResultMeta).status !== 'string') return;
    const raw = body as Partial<ResultMeta>;
    const taskId = String(delivery.message.properties.correlation_id ?? raw.task_id ?? '');
    if (!taskId) return;
    const meta: ResultMeta = {
      status: raw.status as string,
      result: raw.result ?? null,
      traceback: raw.traceback ?? null,
      children: raw.children ?? [],
      date_done: raw.date_done ?? null,
      task_id: taskId,
    };
    const current = this.states.get(taskId);
    if (current && isReady(current.status) && !isReady(meta.status)) return;
    this.states.delete(taskId); // re-inserted last: the Map's order is the eviction order
    this.states.set(taskId, meta);
    if (this.states.size > KEEP) this.states.delete(this.states.keys().next().value as string);
    if (!isReady(meta.status)) return;
    const waiting = this.waiters.get(taskId);
    this.waiters.delete(taskId);
    for (const w of waiting ?? []) w.resolve(meta);
  }

  async storeResult(meta: ResultMeta, reply?: ReplyAddress): Promise<void> {
    if (!reply?.replyTo) return; // Celery's rpc backend drops results nobody asked for
    await this.connect();
    const body = { task_id: meta.task_id, status: meta.status, result: meta.result, traceback: meta.traceback, children: meta.children };
    await (this.transport as Transport).publish(
      {
        body: jsonCodec.encode(body),
        contentType: jsonCodec.contentType,
        contentEncoding: jsonCodec.contentEncoding,
        headers: {},
        properties: { correlation_id: reply.correlationId || meta.task_id, delivery_mode: 1, priority: 0 },
      },
      { exchange: '', routingKey: reply.replyTo },
    );
  }

  async getMeta(taskId: string): Promise<ResultMeta> {
    await this.prepareReplies();
    return this.states.get(taskId) ?? pendingMeta(taskId);
  }

  async waitFor(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    await this.prepareReplies();
    const known = this.states.get(taskId);
    if (known && isReady(known.status)) return known;
    if (this.closed) throw new BackendError('the rpc:// backend is closed');
    return new Promise<ResultMeta>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const set = this.waiters.get(taskId) ?? new Set<Waiter>();
      this.waiters.set(taskId, set);
      const onAbort = (): void => finish(options.signal?.reason instanceof Error ? options.signal.reason : new ResultTimeoutError(`waiting for task ${taskId} was aborted`));
      const finish = (error: Error | undefined, meta?: ResultMeta): void => {
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        set.delete(waiter);
        if (error) reject(error);
        else resolve(meta as ResultMeta);
      };
      const waiter: Waiter = { resolve: (m) => finish(undefined, m), reject: (e) => finish(e) };
      set.add(waiter);
      if (options.timeout !== undefined) {
        const state = this.states.get(taskId)?.status ?? 'PENDING';
        timer = setTimeout(() => finish(new ResultTimeoutError(`task ${taskId} was not ready after ${options.timeout} ms (state ${state}). Is a worker consuming its queue? rpc:// results reach only the process that sent the task.`)), options.timeout);
      }
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async forget(taskId: string): Promise<void> {
    this.states.delete(taskId);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const set of this.waiters.values()) for (const w of set) w.reject(new BackendError('the rpc:// backend was closed while a result was awaited'));
    this.waiters.clear();
    await this.consumer?.close().catch(() => undefined);
    this.consumer = undefined;
    this.listening = undefined;
    this.transport = undefined; // the app owns the broker connection and closes it
  }
}

export const createBackend: BackendFactory = (url, options) => new RpcBackend(url, options);
