/** The Redis implementation of the virtual-transport primitives, in kombu's key layout (see ./index.ts). */
import { readFileSync } from 'node:fs';
import { uuid } from '../../util/ids.js';
import type { ClaimedMessage, PutItem, StoredDeadLetter, VirtualStore } from '../virtual/store.js';
import type { Binding, ExchangeDeclaration, QueueDeclaration, QueueInfo, TransportCapabilities } from '../types.js';
import { connectRedis, type ParsedRedisUrl, type RedisClient } from './connection.js';
import { RedisKeys } from './keys.js';
import { markRedelivered, mutexExpiry, priorityOf, restoreVisible } from './restore.js';
import { Subscriber } from './subscriber.js';
import { addCarrier, serverKey, type RideCarrier, type RideRequest } from '../../util/redis-rides.js';

const script = (name: string): string => readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');

/**
 * claim.lua with result writes in front (util/redis-rides.ts): the backend's store script and claim.lua
 * become local functions (their KEYS and ARGV are parameters), run in that order.
 *   KEYS[1..n] the result keys, then claim.lua's KEYS
 *   ARGV[1] n   ARGV[2] the results' database   ARGV[3] this connection's database
 *   ARGV[4..3+3n] meta, status, expiry ms of each result, then claim.lua's ARGV
 * Returns the n answers of the store script, then claim.lua's answer.
 */
function claimStoringLua(storeLua: string, claimLua: string): string {
  return `local function store_one(KEYS, ARGV)
${storeLua}
end
local function claim(KEYS, ARGV)
${claimLua}
end
local n = tonumber(ARGV[1])
local out = {}
if n > 0 then
  if ARGV[2] ~= ARGV[3] then redis.call('SELECT', ARGV[2]) end
  for i = 1, n do
    local b = 3 + (i - 1) * 3
    out[i] = store_one({KEYS[i]}, {ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]})
  end
  if ARGV[2] ~= ARGV[3] then redis.call('SELECT', ARGV[3]) end
end
local ckeys = {}
for i = n + 1, #KEYS do ckeys[#ckeys + 1] = KEYS[i] end
local cargs = {}
for i = 4 + 3 * n, #ARGV do cargs[#cargs + 1] = ARGV[i] end
local claimed = claim(ckeys, cargs)
for i = 1, #claimed do out[n + i] = claimed[i] end
return out
`;
}

/** Most result writes one claim carries (the rest go with the next call). */
const RIDES_PER_CALL = 512;

/** Most dead letters kept. */
const DEAD_LETTERS_KEPT = 10_000;
/** How often (ms) a claimer sweeps unacked messages past the visibility timeout back (at most; half the timeout when shorter). */
const RESTORE_EVERY = 10_000;

interface HeldMessage {
  queue: string;
  envelope: string;
  owner: string;
  /** Already moved to the dead-letter list by the claim script (not a kombu envelope). */
  dead?: boolean;
}

type Commands = RedisClient & {
  celeriacClaim(numKeys: number, ...args: (string | number)[]): Promise<string[]>;
  celeriacRestore(k1: string, k2: string, k3: string, tag: string, payload: string, cutoff: string, front: string): Promise<number>;
  celeriacDeadLetter(k1: string, k2: string, k3: string, tag: string, record: string, kept: number): Promise<number>;
  celeriacUnackedCount(k1: string, ...queues: string[]): Promise<number[]>;
  celeriacTouchQueues(k1: string, at: number, ...queues: string[]): Promise<string[]>;
};

export interface RedisStoreOptions {
  keyPrefix: string;
  visibilityTimeout: number;
}

export class RedisStore implements VirtualStore, RideCarrier {
  readonly capabilities: TransportCapabilities = {
    name: 'redis', fanout: true, topic: true, fanoutPatterns: true, priority: 'lower-first', persistent: true,
    crossProcess: true, visibilityTimeout: true, deadLetter: true, messageTtl: false,
  };
  now: () => number = Date.now;
  readonly keys: RedisKeys;
  private client: Commands | undefined;
  private subscriber: Subscriber | undefined;
  private readonly exchanges = new Map<string, ExchangeDeclaration>();
  private readonly declared = new Set<string>();
  /** Binding members this process added, per exchange: restored if Redis lost them (a restart without persistence). */
  private readonly localBindings = new Map<string, Set<string>>();
  private readonly held = new Map<string, HeldMessage>();
  private readonly listeners = new Set<() => void>();
  private readonly statusListeners = new Set<(status: 'lost' | 'restored', error?: Error) => void>();
  private lost = false;
  private lastError: Error | undefined;
  private rotation = 0;
  /** Receipts of claims that failed: the next claim goes with one of them, and gets what it took if it ran. */
  private readonly unanswered: string[] = [];
  /** Receipts of claims answered: deleted by the next claim. */
  private readonly answered: string[] = [];
  private lastRestore = 0;
  /** Result writes handed over by a result backend of the same server (util/redis-rides.ts), not yet sent. */
  private rides: RideRequest | undefined;
  private ridesTimer: NodeJS.Immediate | undefined;
  private readonly rideWrites = new Set<Promise<void>>();
  /** The claim-and-store command defined for each store script seen. */
  private readonly rideCommands = new Map<string, string>();
  private withdraw: (() => void) | undefined;

  constructor(
    private readonly url: string,
    private readonly parsed: ParsedRedisUrl,
    private readonly options: RedisStoreOptions,
  ) {
    this.keys = new RedisKeys(options.keyPrefix, parsed.db);
  }

  private get redis(): Commands {
    if (!this.client) throw new Error('redis store used before open()');
    return this.client;
  }

  async open(): Promise<void> {
    const client = (await connectRedis(this.url, this.parsed, 'celeriac')) as Commands;
    client.defineCommand('celeriacClaim', { lua: script('claim') });
    client.defineCommand('celeriacRestore', { numberOfKeys: 3, lua: script('restore') });
    client.defineCommand('celeriacDeadLetter', { numberOfKeys: 3, lua: script('dead-letter') });
    client.defineCommand('celeriacUnackedCount', { numberOfKeys: 1, lua: script('unacked-count') });
    client.defineCommand('celeriacTouchQueues', { numberOfKeys: 1, lua: script('touch-queues') });
    client.on('error', (err: Error) => {
      this.lastError = err;
    });
    client.on('close', () => {
      if (this.lost || !this.client) return;
      this.lost = true;
      for (const l of this.statusListeners) l('lost', this.lastError);
    });
    client.on('ready', () => {
      if (!this.lost) return;
      this.lost = false;
      for (const l of this.statusListeners) l('restored');
    });
    this.client = client;
    this.subscriber = new Subscriber(this.url, this.parsed, client, this.keys, () => this.notify());
  }

  async close(): Promise<void> {
    this.withdraw?.();
    this.withdraw = undefined;
    this.writeRides();
    await Promise.all([...this.rideWrites]);
    await this.subscriber?.close();
    this.subscriber = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await client.quit().catch(() => client.disconnect());
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  declareExchange(e: ExchangeDeclaration): void {
    this.exchanges.set(e.name, e);
  }

  /** Exchanges are declared per process in kombu; one only seen through its bindings is taken as direct. */
  async getExchange(name: string): Promise<ExchangeDeclaration | undefined> {
    const local = this.exchanges.get(name);
    if (local) return local;
    return (await this.redis.exists(this.keys.binding(name))) ? { name, type: 'direct' } : undefined;
  }

  /** As kombu's exchange_delete: the binding set goes, and with it the exchange (known only through it). */
  async deleteExchange(name: string): Promise<void> {
    await this.redis.del(this.keys.binding(name));
    this.exchanges.delete(name);
    this.localBindings.delete(name);
    this.subscriber?.unbindExchange(name);
  }

  async declareQueue(q: QueueDeclaration): Promise<void> {
    this.declared.add(q.name);
    if (q.expires && q.expires > 0) await this.redis.hset(this.keys.queueExpiry, q.name, `${q.expires}:${this.now()}`);
  }

  async touchQueues(names: readonly string[], at: number): Promise<string[]> {
    return names.length ? this.redis.celeriacTouchQueues(this.keys.queueExpiry, at, ...names) : [];
  }

  async sweepExpired(now: number): Promise<string[]> {
    const stale = RedisKeys.staleQueues(await this.redis.hgetall(this.keys.queueExpiry), now);
    for (const name of stale) await this.deleteQueue(name);
    return stale;
  }

  async deleteQueue(name: string): Promise<void> {
    const pipe = this.redis.pipeline();
    for (const list of this.keys.lists(name)) pipe.del(list);
    for (const key of await this.scan(this.keys.bindingPattern)) {
      for (const member of await this.redis.smembers(key)) if (RedisKeys.parseMember(member).queue === name) pipe.srem(key, member);
    }
    pipe.hdel(this.keys.queueExpiry, name);
    await pipe.exec();
    this.declared.delete(name);
    for (const set of this.localBindings.values()) for (const m of [...set]) if (RedisKeys.parseMember(m).queue === name) set.delete(m);
    this.subscriber?.unbindFanout(name);
  }

  async addBinding(b: Binding): Promise<void> {
    const member = this.keys.bindingMember(b.routingKey, b.queue);
    await this.redis.sadd(this.keys.binding(b.exchange), member);
    let mine = this.localBindings.get(b.exchange);
    if (!mine) this.localBindings.set(b.exchange, (mine = new Set()));
    mine.add(member);
    if (this.exchanges.get(b.exchange)?.type === 'fanout') await this.subscriber?.bindFanout(b.queue, b.exchange, b.routingKey);
  }

  async bindings(exchange: string): Promise<Binding[]> {
    const members = await this.redis.smembers(this.keys.binding(exchange));
    const missing = [...(this.localBindings.get(exchange) ?? [])].filter((m) => !members.includes(m));
    if (missing.length) {
      // Redis lost bindings this process declared (restarted without persistence): put them back.
      await this.redis.sadd(this.keys.binding(exchange), ...missing);
      members.push(...missing);
    }
    return members.map((m) => {
      const { routingKey, queue } = RedisKeys.parseMember(m);
      return { exchange, queue, routingKey };
    });
  }

  async put(items: readonly PutItem[]): Promise<void> {
    if (items.length === 1) {
      const i = items[0] as PutItem;
      await this.redis.lpush(this.keys.list(i.queue, i.priority), i.envelope);
    } else {
      const pipe = this.redis.pipeline();
      for (const i of items) pipe.lpush(this.keys.list(i.queue, i.priority), i.envelope);
      await pipe.exec();
    }
    this.notify();
  }

  /** Fanout is PUBLISH, as kombu does it: not stored, delivered to whoever is subscribed now. */
  async putFanout(exchange: string, routingKey: string, envelope: string): Promise<void> {
    await this.redis.publish(this.keys.fanoutChannel(exchange, routingKey), envelope);
  }

  claim(queues: readonly string[], max: number, owner: string): Promise<ClaimedMessage[]> {
    return this.ackAndClaim([], queues, max, owner);
  }

  /** The acks go into the claim script (one round trip); alone when there is nothing to claim. */
  async ackAndClaim(acks: readonly string[], queues: readonly string[], max: number, owner: string): Promise<ClaimedMessage[]> {
    const tags = this.settled(acks, owner);
    if (queues.length === 0 || max <= 0) {
      await this.ackStored(tags);
      return [];
    }
    const now = this.now();
    if (now - this.lastRestore >= Math.min(RESTORE_EVERY, this.options.visibilityTimeout / 2)) {
      this.lastRestore = now;
      await this.restoreVisible(now);
    }
    const out: ClaimedMessage[] = this.subscriber?.takeFanout(queues, max) ?? [];
    for (const c of out) this.held.set(c.tag, { queue: c.queue, envelope: c.envelope, owner });
    const listQueues = queues.filter((q) => !this.subscriber?.isFanout(q));
    if (out.length >= max || listQueues.length === 0) {
      await this.ackStored(tags);
      return out;
    }
    // Priority first, then queues in a rotating order, so no queue starves another.
    const start = this.rotation++ % listQueues.length;
    const order = [...listQueues.slice(start), ...listQueues.slice(0, start)];
    const keys: string[] = [];
    const names: string[] = [];
    for (const step of [0, 3, 6, 9]) {
      for (const q of order) {
        keys.push(this.keys.list(q, step));
        names.push(q);
      }
    }
    const want = max - out.length;
    // Offered once this store consumes: result writes of the same server ride the claims from now on.
    this.withdraw ??= addCarrier(serverKey(this.parsed.options), this);
    // A receipt makes the claim idempotent (./scripts/claim.lua): a reconnect's resend, or the retry of a
    // claim that failed, gets what the first run took rather than leaving it unacked until the visibility timeout.
    const receipt = this.unanswered.shift() ?? uuid();
    const answered = this.answered.splice(0);
    const claimKeys = [this.keys.unacked, this.keys.unackedIndex, this.keys.deadLetters, this.keys.claimReceipt(receipt), ...keys, ...answered.map((r) => this.keys.claimReceipt(r))];
    const claimArgs = [want, now / 1000, now, this.options.visibilityTimeout, keys.length, ...names, ...tags];
    const rides = this.takeRides();
    let flat: string[];
    try {
      flat = rides ? await this.claimStoring(rides, claimKeys, claimArgs) : await this.redis.celeriacClaim(claimKeys.length, ...claimKeys, ...claimArgs);
    } catch (err) {
      this.unanswered.push(receipt);
      this.answered.push(...answered);
      throw err;
    }
    if (flat.length > 0) this.answered.push(receipt);
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const [stored, queue, envelope] = [flat[i] as string, flat[i + 1] as string, flat[i + 2] as string];
      const tag = stored || `dead-${uuid()}`;
      this.held.set(tag, { queue, envelope, owner, dead: !stored });
      out.push({ tag, queue, envelope, redelivered: false });
    }
    // Drained: ask Redis to report the next push to these lists (and wake now if one just arrived).
    if (flat.length / 3 < want && this.subscriber) {
      void this.subscriber.arm(listQueues).then((pending) => pending && this.notify(), () => undefined);
    }
    return out;
  }

  /** RideCarrier: result writes wait for the next claim, or go alone right after this tick. */
  carry(request: RideRequest): boolean {
    if (!this.client || this.lost || !this.withdraw) return false;
    const pending = this.rides;
    if (pending && (pending.lua !== request.lua || pending.db !== request.db)) return false;
    if (pending) pending.writes.push(...request.writes);
    else this.rides = { lua: request.lua, db: request.db, writes: [...request.writes] };
    this.ridesTimer ??= setImmediate(() => {
      this.ridesTimer = undefined;
      this.writeRides();
    });
    return true;
  }

  private takeRides(): RideRequest | undefined {
    const rides = this.rides;
    if (!rides) return undefined;
    if (rides.writes.length <= RIDES_PER_CALL) {
      this.rides = undefined;
      return rides;
    }
    return { ...rides, writes: rides.writes.splice(0, RIDES_PER_CALL) };
  }

  /** The writes no claim took, alone (the same script, claiming nothing). */
  private writeRides(): void {
    for (let rides = this.takeRides(); rides; rides = this.takeRides()) {
      const write = this.claimStoring(rides, [this.keys.unacked, this.keys.unackedIndex, this.keys.deadLetters, this.keys.claimReceipt(uuid())], [0, 0, 0, this.options.visibilityTimeout, 0]).then(
        () => undefined,
        () => undefined, // each write's caller has its rejection
      );
      this.rideWrites.add(write);
      void write.finally(() => this.rideWrites.delete(write));
    }
  }

  /** Stores the result writes, then runs claim.lua; settles each write and returns claim.lua's answer. */
  private async claimStoring(rides: RideRequest, claimKeys: string[], claimArgs: (string | number)[]): Promise<string[]> {
    let name = this.rideCommands.get(rides.lua);
    if (!name) {
      name = `celeriacClaimStoring${this.rideCommands.size}`;
      this.redis.defineCommand(name, { lua: claimStoringLua(rides.lua, script('claim')) });
      this.rideCommands.set(rides.lua, name);
    }
    const { writes } = rides;
    const resultKeys: string[] = [];
    const resultArgs: (string | number)[] = [];
    for (const w of writes) {
      const [key, meta, status, ttlMs] = w.args;
      resultKeys.push(key);
      resultArgs.push(meta, status, ttlMs);
    }
    let reply: (string | number)[];
    try {
      const client = this.redis as unknown as Record<string, (numKeys: number, ...args: (string | number)[]) => Promise<(string | number)[]>>;
      reply = await (client[name] as NonNullable<(typeof client)[string]>).call(client, resultKeys.length + claimKeys.length, ...resultKeys, ...claimKeys, writes.length, rides.db, this.parsed.db, ...resultArgs, ...claimArgs);
    } catch (error) {
      for (const w of writes) w.reject(error);
      throw error;
    }
    writes.forEach((w, i) => w.resolve(Number(reply[i])));
    return reply.slice(writes.length) as string[];
  }

  /** Keep-alive: the fetch time in the unacked index becomes now, so the sweep leaves them alone. */
  async extend(tags: readonly string[]): Promise<void> {
    const mine = tags.filter((t) => this.held.has(t));
    if (mine.length === 0) return;
    const score = this.now() / 1000;
    await this.redis.zadd(this.keys.unackedIndex, 'XX', ...mine.flatMap((t) => [score, t]));
  }

  async ack(tags: readonly string[], owner: string): Promise<void> {
    await this.ackStored(this.settled(tags, owner));
  }

  /** Forgets the tags `owner` holds; returns those with an entry in the unacked hash and index to delete. */
  private settled(tags: readonly string[], owner: string): string[] {
    const stored: string[] = [];
    for (const t of tags) {
      const h = this.held.get(t);
      if (!h || h.owner !== owner) continue;
      this.held.delete(t);
      if (!h.dead && !this.subscriber?.isFanoutTag(t)) stored.push(t);
    }
    return stored;
  }

  private async ackStored(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const t of tags) pipe.zrem(this.keys.unackedIndex, t).hdel(this.keys.unacked, t);
    await pipe.exec();
  }

  async requeue(tags: readonly string[], owner: string): Promise<void> {
    for (const t of tags) {
      const h = this.held.get(t);
      if (!h || h.owner !== owner) continue;
      this.held.delete(t);
      if (this.subscriber?.isFanoutTag(t) || h.dead) continue;
      const list = this.keys.list(h.queue, priorityOf(h.envelope));
      await this.redis.celeriacRestore(this.keys.unacked, this.keys.unackedIndex, list, t, markRedelivered(h.envelope), '', '1');
    }
    if (tags.length) this.notify();
  }

  async deadLetter(tag: string, reason: string, at: number, owner: string): Promise<void> {
    const h = this.held.get(tag);
    if (!h || h.owner !== owner) return;
    this.held.delete(tag);
    if (h.dead) return;
    const record = JSON.stringify({ id: tag, queue: h.queue, reason, at, envelope: h.envelope });
    if (this.subscriber?.isFanoutTag(tag)) {
      await this.redis.multi().lpush(this.keys.deadLetters, record).ltrim(this.keys.deadLetters, 0, DEAD_LETTERS_KEPT - 1).exec();
      return;
    }
    await this.redis.celeriacDeadLetter(this.keys.unacked, this.keys.unackedIndex, this.keys.deadLetters, tag, record, DEAD_LETTERS_KEPT);
  }

  async release(owner: string): Promise<void> {
    await this.requeue([...this.held].filter(([, h]) => h.owner === owner).map(([t]) => t), owner);
  }

  /** kombu's restore_visible (./restore.ts): messages unacked past the visibility timeout go back. */
  async restoreVisible(now: number): Promise<number> {
    const { visibilityTimeout } = this.options;
    const restored = await restoreVisible(this.redis, this.keys, (exchange) => this.bindings(exchange), now - visibilityTimeout, mutexExpiry(visibilityTimeout));
    if (restored) this.notify();
    return restored;
  }

  async purge(queue: string): Promise<number> {
    const lists = this.keys.lists(queue);
    const pipe = this.redis.multi();
    for (const l of lists) pipe.llen(l);
    for (const l of lists) pipe.del(l);
    const res = (await pipe.exec()) ?? [];
    return res.slice(0, lists.length).reduce((n, [, v]) => n + Number(v ?? 0), 0);
  }

  async info(queue: string): Promise<QueueInfo> {
    const [info] = await this.infos([queue]);
    return info as QueueInfo;
  }

  private async infos(queues: string[]): Promise<QueueInfo[]> {
    if (queues.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const q of queues) for (const l of this.keys.lists(q)) pipe.llen(l);
    const lens = ((await pipe.exec()) ?? []).map(([, v]) => Number(v ?? 0));
    const unacked = await this.redis.celeriacUnackedCount(this.keys.unacked, ...queues);
    return queues.map((name, i) => ({
      name,
      messages: lens.slice(i * 4, i * 4 + 4).reduce((a, b) => a + b, 0),
      unacked: Number(unacked[i] ?? 0),
    }));
  }

  async listQueues(): Promise<QueueInfo[]> {
    const names = new Set(this.declared);
    for (const key of await this.scan(this.keys.bindingPattern)) {
      const exchange = key.slice(this.keys.binding('').length);
      if (this.exchanges.get(exchange)?.type === 'fanout') continue;
      for (const m of await this.redis.smembers(key)) names.add(RedisKeys.parseMember(m).queue);
    }
    return this.infos([...names].filter(Boolean).sort());
  }

  async deadLetters(limit: number): Promise<StoredDeadLetter[]> {
    const rows = await this.redis.lrange(this.keys.deadLetters, 0, limit - 1);
    return rows.flatMap((r) => {
      try {
        return [JSON.parse(r) as StoredDeadLetter];
      } catch {
        return [];
      }
    });
  }

  private async scan(pattern: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out;
  }

  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(listener: (status: 'lost' | 'restored', error?: Error) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }
}
