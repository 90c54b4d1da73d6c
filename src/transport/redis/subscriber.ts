/**
 * The broker's one waiting connection per process. It carries:
 * - fanout (kombu: PSUBSCRIBE to `/{db}.{exchange}[/{routing_key}]`), buffered per bound queue until claimed;
 * - wake-ups: Redis client-side-caching invalidations (CLIENT TRACKING on the command connection,
 *   redirected here), which tell within a round trip that another client pushed to a queue list we read,
 *   Python producers included, with no polling and without popping anything (claims stay atomic in Lua).
 *   Default (not broadcast) mode: a consumer that found its lists empty reads their lengths, which asks
 *   Redis to report the next write to exactly those keys, and not to every key sharing their prefix
 *   (a broadcast prefix 'celery' would also report every 'celery-task-meta-*' result write).
 * Servers without CLIENT TRACKING (Redis < 6) fall back to the transport's poll.
 */
import { uuid } from '../../util/ids.js';
import type { ClaimedMessage } from '../virtual/store.js';
import { connectRedis, type ParsedRedisUrl, type RedisClient } from './connection.js';
import { RedisKeys, SEP } from './keys.js';

const INVALIDATE = '__redis__:invalidate';

interface FanoutBinding {
  exchange: string;
  routingKey: string;
  patterns: string[];
}

export class Subscriber {
  private sub: Promise<RedisClient> | undefined;
  private readonly name = `celeriac-sub-${uuid()}`;
  private readonly fanout = new Map<string, FanoutBinding>();
  private readonly buffers = new Map<string, ClaimedMessage[]>();
  private readonly fanoutTags = new Set<string>();
  private readonly tracked = new Set<string>();
  private trackingApplied = '';
  private trackingUnsupported = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly parsed: ParsedRedisUrl,
    private readonly main: RedisClient,
    private readonly keys: RedisKeys,
    private readonly wake: () => void,
  ) {
    main.on('ready', () => {
      // A reconnected command connection has lost its tracking state.
      this.trackingApplied = '';
      void this.applyTracking();
    });
  }

  private connection(): Promise<RedisClient> {
    this.sub ??= (async () => {
      const sub = await connectRedis(this.url, this.parsed, this.name);
      sub.on('pmessage', (pattern: string, _channel: string, message: string) => this.onFanout(pattern, message));
      sub.on('message', (channel: string, message: unknown) => {
        if (channel === INVALIDATE) this.onInvalidate(message);
      });
      sub.on('ready', () => {
        // New connection id after a reconnect: tracking must be redirected again.
        this.trackingApplied = '';
        void this.applyTracking();
      });
      await sub.subscribe(INVALIDATE);
      return sub;
    })();
    return this.sub;
  }

  /**
   * Resolves once subscribed, so a broadcast published right after the binding is received. A binding
   * with routing key '' or '#' takes every message of the exchange, whatever key it was published with
   * (fanout ignores keys; kombu's fanout_patterns puts the key in the channel name); another key only
   * its own channel (kombu's pattern, '#' read as '*').
   */
  async bindFanout(queue: string, exchange: string, routingKey: string): Promise<void> {
    const patterns =
      routingKey === '' || routingKey === '#'
        ? [this.keys.fanoutChannel(exchange, ''), this.keys.fanoutPattern(exchange, '#')]
        : [this.keys.fanoutPattern(exchange, routingKey)];
    this.fanout.set(queue, { exchange, routingKey, patterns });
    if (!this.buffers.has(queue)) this.buffers.set(queue, []);
    await (await this.connection()).psubscribe(...patterns);
  }

  unbindFanout(queue: string): void {
    const binding = this.fanout.get(queue);
    this.fanout.delete(queue);
    this.buffers.delete(queue);
    const stale = binding?.patterns.filter((p) => ![...this.fanout.values()].some((b) => b.patterns.includes(p))) ?? [];
    if (stale.length) void this.sub?.then((sub) => sub.punsubscribe(...stale)).catch(() => undefined);
  }

  /** Drops the fanout bindings of every queue bound to `exchange` (the exchange was deleted). */
  unbindExchange(exchange: string): void {
    for (const [queue, b] of [...this.fanout]) if (b.exchange === exchange) this.unbindFanout(queue);
  }

  isFanout(queue: string): boolean {
    return this.fanout.has(queue);
  }

  isFanoutTag(tag: string): boolean {
    return this.fanoutTags.delete(tag);
  }

  private onFanout(pattern: string, envelope: string): void {
    let any = false;
    for (const [queue, b] of this.fanout) {
      if (!b.patterns.includes(pattern)) continue;
      const tag = uuid();
      this.fanoutTags.add(tag);
      this.buffers.get(queue)?.push({ tag, queue, envelope, redelivered: false });
      any = true;
    }
    if (any) this.wake();
  }

  /** Buffered fanout messages for these queues, up to `max`. */
  takeFanout(queues: readonly string[], max: number): ClaimedMessage[] {
    const out: ClaimedMessage[] = [];
    for (const q of queues) {
      const buf = this.buffers.get(q);
      while (buf && buf.length && out.length < max) out.push(buf.shift() as ClaimedMessage);
    }
    return out;
  }

  /**
   * Asks to be woken by the next push to these queues' lists (call it after finding them empty): their
   * lengths are read on the tracked connection. Resolves true when one is not empty after all (a push
   * landed in between), so the caller claims again at once.
   */
  async arm(queues: readonly string[]): Promise<boolean> {
    for (const q of queues) this.tracked.add(q);
    await this.applyTracking();
    if (this.trackingApplied !== 'on') return false;
    const pipe = this.main.pipeline();
    for (const q of queues) for (const key of this.keys.lists(q)) pipe.llen(key);
    const res = (await pipe.exec()) ?? [];
    return res.some(([, n]) => Number(n ?? 0) > 0);
  }

  private async applyTracking(): Promise<void> {
    if (this.closed || this.trackingUnsupported || this.trackingApplied === 'on') return;
    try {
      await this.connection();
      const clients = String(await this.main.client('LIST'));
      const line = clients.split('\n').find((l) => l.includes(` name=${this.name} `));
      const id = line ? /(?:^|\s)id=(\d+)/.exec(line)?.[1] : undefined;
      if (!id) return;
      await this.main.call('CLIENT', 'TRACKING', 'OFF');
      await this.main.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id, 'NOLOOP');
      this.trackingApplied = 'on';
    } catch (err) {
      if (/unknown|syntax|ERR/i.test((err as Error).message)) this.trackingUnsupported = true;
    }
  }

  private onInvalidate(message: unknown): void {
    const keys = Array.isArray(message) ? message.map(String) : message === null || message === undefined ? null : String(message).split(',');
    if (keys === null) return this.wake();
    for (const key of keys) {
      for (const q of this.tracked) {
        const base = this.keys.list(q);
        if (key === base || key.startsWith(base + SEP)) return this.wake();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const sub = this.sub;
    this.sub = undefined;
    if (sub) {
      const s = await sub.catch(() => undefined);
      if (s) await s.quit().catch(() => s.disconnect());
    }
  }
}
