/** Helpers of the Transport conformance suite: a recording consumer and a per-case fixture. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RawMessage } from '../protocol/message.js';
import type { Consumer, Delivery, QueueDeclaration, QueueInfo, Transport, TransportCapabilities } from './types.js';

/** How long to wait for expected deliveries, and how long "nothing more arrives" is watched, in ms. */
export interface Limits {
  timeout: number;
  quiet: number;
}

/** The optional methods of `Transport` (see its header): a case about one is skipped where it is missing. */
export type OptionalMethod = 'deleteExchange';

/** Why a case about an optional method does not apply to `t`, or undefined when it does. */
export function lacks(t: Transport, method: OptionalMethod | undefined): string | undefined {
  return method && typeof t[method] !== 'function' ? `the transport does not implement the optional ${method}()` : undefined;
}

/**
 * Registers one case: `needs` returns a reason to skip when the capabilities rule the case out; `optional`
 * names the optional method the case is about (skipped where the transport lacks it).
 */
export type AddCase = (
  name: string,
  fn: (f: Fixture) => Promise<void>,
  opts?: { needs?: (c: TransportCapabilities) => string | undefined; skip?: string; optional?: OptionalMethod },
) => void;

/** A QueueInfo's name and message counts (the optional `consumers` has its own case). */
export function counts(info: QueueInfo | undefined): Pick<QueueInfo, 'name' | 'messages' | 'unacked'> | undefined {
  return info && { name: info.name, messages: info.messages, unacked: info.unacked };
}

export function message(body: string | Buffer, extra: Partial<RawMessage> = {}): RawMessage {
  return {
    body: typeof body === 'string' ? Buffer.from(body) : body,
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: {},
    properties: {},
    ...extra,
  };
}

export const text = (d: Delivery): string => d.message.body.toString('utf8');
export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A consumer that records its deliveries and lets a case wait for a count. */
export class Collector {
  readonly deliveries: Delivery[] = [];
  readonly errors: Error[] = [];
  readonly consumer: Consumer;
  private wakeUp: (() => void) | undefined;

  constructor(transport: Transport, prefetch: number, private readonly limits: Limits, autoAck = false) {
    this.consumer = transport.createConsumer({
      prefetch,
      onMessage: (d) => {
        this.deliveries.push(d);
        if (autoAck) void d.ack();
        this.wakeUp?.();
      },
      onError: (e) => {
        this.errors.push(e);
        this.wakeUp?.();
      },
    });
  }

  /** Resolves once `count` deliveries (in total) arrived; fails after the timeout. */
  async waitFor(count: number, what = 'deliveries'): Promise<Delivery[]> {
    const deadline = Date.now() + this.limits.timeout;
    while (this.deliveries.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`expected ${count} ${what}, got ${this.deliveries.length} after ${this.limits.timeout} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
    return this.deliveries.slice(0, count);
  }

  /** Asserts the delivery count stays at `count` for the quiet period. */
  async staysAt(count: number, why: string): Promise<void> {
    await delay(this.limits.quiet);
    assert.equal(this.deliveries.length, count, why);
  }
}

/** One transport, unique names, and cleanup, for one case. */
export class Fixture {
  readonly ns = `cf-${randomUUID().slice(0, 8)}`;
  private readonly queues = new Set<string>();
  private readonly collectors: Collector[] = [];

  constructor(readonly t: Transport, readonly limits: Limits) {}

  name(suffix: string): string {
    return `${this.ns}.${suffix}`;
  }

  async queue(suffix: string, maxPriority?: number, extra: Partial<QueueDeclaration> = {}): Promise<string> {
    const name = this.name(suffix);
    await this.t.declareQueue({ name, durable: true, ...(maxPriority ? { maxPriority } : {}), ...extra });
    this.queues.add(name);
    return name;
  }

  async publish(queue: string, body: string | Buffer, extra: Partial<RawMessage> = {}): Promise<void> {
    await this.t.publish(message(body, extra), { exchange: '', routingKey: queue });
  }

  async consumer(queues: string[], prefetch: number, autoAck = false): Promise<Collector> {
    const c = new Collector(this.t, prefetch, this.limits, autoAck);
    this.collectors.push(c);
    for (const q of queues) await c.consumer.consume(q);
    return c;
  }

  async cleanup(): Promise<void> {
    for (const c of this.collectors) await c.consumer.close().catch(() => undefined);
    for (const q of this.queues) await this.t.deleteQueue(q).catch(() => undefined);
    await this.t.close();
  }
}
