/**
 * memory:// — a whole broker inside one process, for tests and single-process apps.
 *
 * Features: direct, topic and fanout exchanges (through the virtual router), priorities (higher first),
 * prefetch, ack / reject / requeue, a dead-letter list, message TTL (a queue's `messageTtl` and a message's
 * `expiration`: expired messages are dropped). Nothing is persistent or shared between processes.
 * Connection string: `memory://` (anything after the scheme names a separate broker inside the app).
 * Options: `visibilityTimeout` (ms, default 1 h).
 *
 * State lives on the instance: two apps with `memory://` do not share queues unless they share a transport.
 */
import { encodeEnvelope } from '../../protocol/envelope.js';
import { VirtualTransport } from '../virtual/base.js';
import type { ClaimedMessage, PutItem, StoredDeadLetter, VirtualStore } from '../virtual/store.js';
import type { Binding, ExchangeDeclaration, QueueDeclaration, QueueInfo, TransportFactory, TransportOptions } from '../types.js';

/** A message as kept: the put item itself, completed in place (one object per message, claimed or not). */
interface Stored extends PutItem {
  seq: number;
  redelivered: boolean;
  /** The consumer holding it, while claimed. */
  owner: string | undefined;
  /** When a claimed message becomes visible again unless acked or extended. */
  visibleAt: number;
}

/** Whether `a` is delivered before `b`: higher priority first, then earlier arrival. */
function goesBefore(a: Stored, b: Stored): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

/** A ready queue with O(1) take from the head (Array#shift copies the whole array once it is large). */
class ReadyQueue {
  private items: (Stored | undefined)[] = [];
  private head = 0;
  /** Queued messages with a deadline (`expiresAt`): only then does `dropExpired` walk the queue. */
  private expiring = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): Stored | undefined {
    return this.items[this.head];
  }

  take(): Stored | undefined {
    if (this.head >= this.items.length) return undefined;
    const msg = this.items[this.head];
    this.items[this.head++] = undefined;
    if (msg?.expiresAt !== undefined) this.expiring--;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return msg;
  }

  /**
   * Keeps the queue ordered by priority (higher first), then by arrival. A new message usually goes last
   * (O(1)); a requeued one (an old arrival number) goes back near the head: found by binary search, not a
   * walk over everything queued after it.
   */
  insert(msg: Stored): void {
    if (msg.expiresAt !== undefined) this.expiring++;
    const q = this.items;
    if (q.length === this.head || !goesBefore(msg, q[q.length - 1] as Stored)) {
      q.push(msg);
      return;
    }
    if (this.head > 0 && goesBefore(msg, q[this.head] as Stored)) {
      q[--this.head] = msg;
      return;
    }
    let lo = this.head;
    let hi = q.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (goesBefore(msg, q[mid] as Stored)) hi = mid;
      else lo = mid + 1;
    }
    q.splice(lo, 0, msg);
  }

  /** Takes the expired messages at the head away (what a claim would otherwise hand out first). */
  dropExpiredHead(now: number): void {
    for (let h = this.peek(); h?.expiresAt !== undefined && h.expiresAt < now; h = this.peek()) this.take();
  }

  /** Removes every expired message, wherever it is queued (O(n), and only while some message has a deadline). */
  dropExpired(now: number): void {
    if (this.expiring === 0) return;
    const kept = this.items.slice(this.head).filter((m) => !(m && m.expiresAt !== undefined && m.expiresAt < now));
    this.items = kept;
    this.head = 0;
    this.expiring = kept.filter((m) => m?.expiresAt !== undefined).length;
  }
}

class MemoryStore implements VirtualStore {
  readonly capabilities = {
    name: 'memory', fanout: true, topic: true, fanoutPatterns: false, priority: 'higher-first', persistent: false,
    crossProcess: false, visibilityTimeout: true, deadLetter: true, messageTtl: true,
  } as const;
  readonly keepsObjects = true;
  private readonly exchanges = new Map<string, ExchangeDeclaration>();
  private readonly bindingsOf = new Map<string, Binding[]>();
  private readonly ready = new Map<string, ReadyQueue>();
  /** Claimed messages by tag. */
  private readonly held = new Map<string, Stored>();
  private readonly dead: StoredDeadLetter[] = [];
  private readonly listeners = new Set<() => void>();
  /** Queues declared with `messageTtl` (x-message-ttl): the TTL in ms. */
  private readonly ttls = new Map<string, number>();
  /** Queues declared with `expires`: their period and last use. */
  private readonly expiring = new Map<string, { expires: number; usedAt: number }>();
  private seq = 0;
  /** Lower bound of the held messages' deadlines: claim() looks for lapsed ones only once it has passed. */
  private nextExpiry = Number.POSITIVE_INFINITY;

  constructor(private readonly now: () => number) {}

  open(): void {}
  close(): void {}
  declareExchange(e: ExchangeDeclaration): void { this.exchanges.set(e.name, e); }
  getExchange(name: string): ExchangeDeclaration | undefined { return this.exchanges.get(name); }
  deleteExchange(name: string): void {
    this.exchanges.delete(name);
    this.bindingsOf.delete(name);
  }
  declareQueue(q: QueueDeclaration): void {
    if (!this.ready.has(q.name)) this.ready.set(q.name, new ReadyQueue());
    if (q.expires && q.expires > 0) this.expiring.set(q.name, { expires: q.expires, usedAt: this.now() });
    if (q.messageTtl !== undefined && q.messageTtl >= 0) this.ttls.set(q.name, q.messageTtl);
    else this.ttls.delete(q.name);
  }
  touchQueues(names: readonly string[], at: number): string[] {
    const missing: string[] = [];
    for (const n of names) {
      const e = this.expiring.get(n);
      if (e) e.usedAt = at;
      else missing.push(n);
    }
    return missing;
  }
  sweepExpired(now: number): string[] {
    const stale = [...this.expiring].filter(([, e]) => now - e.usedAt > e.expires).map(([n]) => n);
    for (const n of stale) this.deleteQueue(n);
    return stale;
  }
  deleteQueue(name: string): void {
    this.expiring.delete(name);
    this.ttls.delete(name);
    this.ready.delete(name);
    for (const [tag, h] of this.held) if (h.queue === name) this.held.delete(tag);
    for (const [ex, list] of this.bindingsOf) this.bindingsOf.set(ex, list.filter((b) => b.queue !== name));
  }
  addBinding(b: Binding): void {
    const list = this.bindingsOf.get(b.exchange) ?? [];
    if (!list.some((x) => x.queue === b.queue && x.routingKey === b.routingKey)) list.push(b);
    this.bindingsOf.set(b.exchange, list);
  }
  bindings(exchange: string): Binding[] { return this.bindingsOf.get(exchange) ?? []; }

  private insert(msg: Stored): void {
    let q = this.ready.get(msg.queue);
    if (!q) this.ready.set(msg.queue, (q = new ReadyQueue()));
    q.insert(msg);
  }

  put(items: readonly PutItem[]): void {
    // The items are the transport's own, made for this put: completed in place rather than copied.
    const now = this.now();
    for (const item of items) {
      const msg = item as Stored;
      const ttl = this.ttls.get(msg.queue);
      if (ttl !== undefined) msg.expiresAt = Math.min(msg.expiresAt ?? Infinity, now + ttl);
      msg.seq = this.seq++;
      msg.redelivered = false;
      msg.owner = undefined;
      msg.visibleAt = 0;
      this.insert(msg);
    }
    for (const l of this.listeners) l();
  }

  claim(queues: readonly string[], max: number, owner: string, visibleAt: number): ClaimedMessage[] {
    const now = this.now();
    if (now >= this.nextExpiry) {
      this.nextExpiry = Number.POSITIVE_INFINITY;
      for (const h of this.held.values()) {
        if (h.visibleAt <= now) this.requeue([h.tag]);
        else if (h.visibleAt < this.nextExpiry) this.nextExpiry = h.visibleAt;
      }
    }
    const out: ClaimedMessage[] = [];
    while (out.length < max) {
      let best: ReadyQueue | undefined;
      for (const name of queues) {
        const q = this.ready.get(name);
        q?.dropExpiredHead(now);
        const head = q?.peek();
        const cur = best?.peek();
        if (head && (!cur || head.priority > cur.priority || (head.priority === cur.priority && head.seq < cur.seq))) best = q;
      }
      const msg = best?.take();
      if (!msg) break;
      msg.owner = owner;
      msg.visibleAt = visibleAt;
      this.held.set(msg.tag, msg);
      if (visibleAt < this.nextExpiry) this.nextExpiry = visibleAt;
      out.push(msg);
    }
    return out;
  }

  extend(tags: readonly string[], visibleAt: number): void {
    for (const t of tags) { const h = this.held.get(t); if (h) h.visibleAt = visibleAt; }
  }
  private heldBy(tag: string, owner: string | undefined): Stored | undefined {
    const h = this.held.get(tag);
    return h && (owner === undefined || h.owner === owner) ? h : undefined;
  }
  ack(tags: readonly string[], owner: string): void {
    for (const t of tags) if (this.heldBy(t, owner)) this.held.delete(t);
  }
  requeue(tags: readonly string[], owner?: string): void {
    for (const t of tags) {
      const h = this.heldBy(t, owner);
      if (!h) continue;
      this.held.delete(t);
      h.redelivered = true;
      h.owner = undefined;
      this.insert(h);
    }
    if (tags.length) for (const l of this.listeners) l();
  }
  deadLetter(tag: string, reason: string, at: number, owner: string): void {
    const h = this.heldBy(tag, owner);
    if (!h) return;
    this.held.delete(tag);
    const d = h.decoded;
    // Kept as an object: the envelope a dead letter is listed with is made now.
    const envelope = h.envelope || (d ? encodeEnvelope(d.message, d.deliveryInfo, tag) : '');
    this.dead.unshift({ id: tag, queue: h.queue, reason, at, envelope });
    // The newest 10,000 are kept, as on the other brokers.
    if (this.dead.length > 10_000) this.dead.length = 10_000;
  }
  release(owner: string): void {
    this.requeue([...this.held.values()].filter((h) => h.owner === owner).map((h) => h.tag), owner);
  }
  purge(queue: string): number {
    const n = this.ready.get(queue)?.length ?? 0;
    if (n) this.ready.set(queue, new ReadyQueue());
    return n;
  }
  info(queue: string): QueueInfo {
    let unacked = 0;
    for (const h of this.held.values()) if (h.queue === queue) unacked++;
    const ready = this.ready.get(queue);
    ready?.dropExpired(this.now());
    return { name: queue, messages: ready?.length ?? 0, unacked };
  }
  listQueues(): QueueInfo[] { return [...this.ready.keys()].sort().map((q) => this.info(q)); }
  deadLetters(limit: number): StoredDeadLetter[] { return this.dead.slice(0, limit); }
  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export const createTransport: TransportFactory = (url: string, options: TransportOptions) => {
  const transport: VirtualTransport = new VirtualTransport(url, new MemoryStore(() => transport.clock.now()), {
    visibilityTimeout: options.visibilityTimeout,
    maxMessageSize: options.maxMessageSize,
  });
  return transport;
};
