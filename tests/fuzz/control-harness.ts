// Drives a worker's mailbox node with hostile pidbox requests, and an event receiver with hostile events, on one
// broker. Each run uses a control exchange (and an event exchange) of its own, so nothing reaches other tests.
import fc from 'fast-check';
import { expect } from 'vitest';
import { Celeriac, Worker, type DeadLetter, type Transport } from '../../src/index.js';
import { renderMonitor } from '../../src/events/view.js';
import { listTasks, parseTaskQuery } from '../../src/dashboard/tasks.js';
import type { BrokerUnderTest } from './harness.js';
import { countingLogger } from './harness.js';
import { FUZZ_MAX_SIZE, GOOD_TASK } from './hostile.js';
import { garbageRequest, malformedEvent, malformedRequest, oddEvent, type ControlCase } from './control-hostile.js';

const seedOf = (): number => Number(process.env['CELERIAC_FUZZ_SEED'] ?? Date.now() % 1_000_000);
const rand = (): string => Math.random().toString(36).slice(2, 8);

async function waitFor(check: () => Promise<boolean> | boolean, timeout: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeout} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function shuffled<T>(items: T[], seed: number): T[] {
  return fc.sample(fc.shuffledSubarray(items, { minLength: items.length }), { numRuns: 1, seed })[0] as T[];
}

function appFor(broker: BrokerUnderTest, extra: Record<string, unknown> = {}): { app: Celeriac; shared: boolean } {
  const shared = broker.url.startsWith('memory:');
  const brokerOptions = { ...(broker.brokerOptions ?? {}), ...(shared ? { maxMessageSize: 0 } : {}) };
  const app = new Celeriac('fuzz', { broker: broker.url, backend: 'memory://', maxMessageSize: FUZZ_MAX_SIZE, brokerOptions, logLevel: 'silent', ...extra });
  return { app, shared };
}

async function senderFor(app: Celeriac, broker: BrokerUnderTest, shared: boolean): Promise<Transport> {
  if (shared) return app.connection();
  const factory = await app.plugins.transports.resolve(broker.url);
  const t = factory(broker.url, { ...(broker.brokerOptions ?? {}), maxMessageSize: 0 });
  await t.connect();
  return t;
}

async function deadOf(t: Transport, queue: string, limit: number): Promise<DeadLetter[]> {
  return (await t.deadLetters(limit)).filter((d) => d.queue === queue);
}

export interface ControlOutcome {
  seed: number;
  malformed: number;
  garbage: number;
  pings: number;
  dead: DeadLetter[];
  ms: number;
}

/** `bad` malformed requests, `garbage` garbage ones and `good` pings, shuffled, into one worker's mailbox. */
export async function fuzzControl(broker: BrokerUnderTest, counts: { bad: number; garbage: number; good: number }): Promise<ControlOutcome> {
  const seed = seedOf();
  const started = Date.now();
  const ns = `fuzz-${rand()}`;
  const hostname = `fuzz-${rand()}@fuzz`;
  const { app, shared } = appFor(broker, { controlExchange: ns });
  app.task(GOOD_TASK, (n: number) => n);
  const { logger } = countingLogger('fatal');
  const queue = `fuzz-ctl-${rand()}`;
  const worker = new Worker(app, { queues: [queue], hostname, concurrency: 2, logger, heartbeat: false, gossip: false });
  const commands = app.control.registry.list().map((c) => c.name);
  const cases: ControlCase[] = shuffled([
    ...fc.sample(malformedRequest(FUZZ_MAX_SIZE), { numRuns: counts.bad, seed }),
    ...fc.sample(garbageRequest(hostname, commands), { numRuns: counts.garbage, seed: seed + 1 }),
    ...Array.from({ length: counts.good }, (): ControlCase => ({ kind: 'good', label: 'ping' })),
  ], seed);
  const nodeQueue = `${hostname}.${ns}.pidbox`;
  let sender: Transport | undefined;
  let dead: DeadLetter[] = [];
  try {
    await worker.start();
    sender = await senderFor(app, broker, shared);
    await sender.declareExchange({ name: `${ns}.pidbox`, type: 'fanout', durable: false, autoDelete: false });
    const pings: Promise<unknown>[] = [];
    for (let i = 0; i < cases.length; i += 500) {
      const slice = cases.slice(i, i + 500);
      const out = slice.flatMap((c) => (c.message ? [{ message: c.message, exchange: `${ns}.pidbox`, routingKey: '' }] : []));
      if (out.length) await sender.publishMany(out);
      for (const c of slice) if (c.kind === 'good') pings.push(app.control.broadcast('ping', {}, { destination: [hostname], timeout: 90_000, limit: 1, reply: true }));
    }
    const replies = await Promise.all(pings);
    for (const r of replies) expect(r, `seed ${seed}: every ping answered`).toEqual([{ [hostname]: { ok: 'pong' } }]);
    const transport = await app.connection();
    let seen = 0;
    const count = async (): Promise<number> => (broker.deadCount ? broker.deadCount(transport) : (await deadOf(transport, nodeQueue, counts.bad * 2 + 100)).length);
    await waitFor(async () => (seen = await count()) >= counts.bad, 60_000, () => `seed ${seed}: ${seen}/${counts.bad} dead-lettered`);
    // Still up: it answers and runs a task.
    expect(worker.status).toBe('running');
    expect(await app.control.ping({ destination: [hostname], timeout: 10_000 })).toEqual([{ [hostname]: { ok: 'pong' } }]);
    expect(await (await app.sendTask(GOOD_TASK, [7], { queue })).get({ timeout: 20_000 })).toBe(7);
    dead = await deadOf(transport, nodeQueue, counts.bad * 2 + 100);
  } finally {
    await worker.stop().catch(() => undefined);
    if (!shared) await sender?.close().catch(() => undefined);
    await app.close();
  }
  for (const d of dead) expect(d.reason, `seed ${seed}: dead letter has a reason`).toMatch(/malformed control message: \w|too large/);
  expect(dead.length, `seed ${seed}: each malformed request dead-lettered once`).toBe(counts.bad);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  return { seed, malformed: counts.bad, garbage: counts.garbage, pings: counts.good, dead, ms: Date.now() - started };
}

export interface EventsOutcome {
  seed: number;
  malformed: number;
  odd: number;
  good: number;
  dead: DeadLetter[];
  ms: number;
}

/** `bad` malformed event messages, `odd` odd ones and `good` task events, shuffled, into a receiver and its state. */
export async function fuzzEvents(broker: BrokerUnderTest, counts: { bad: number; odd: number; good: number }): Promise<EventsOutcome> {
  const seed = seedOf();
  const started = Date.now();
  const exchange = `fuzz-ev-${rand()}`;
  const hostname = `fuzz-${rand()}@fuzz`;
  const { app, shared } = appFor(broker);
  // Events live 5 s in a monitor queue (Celery's event_queue_ttl): longer here, so a slow run loses none.
  const receiver = app.events.receiver({ exchange, queueTtl: 600_000 });
  const state = app.events.state();
  const errors: Error[] = [];
  receiver.on('event', (e) => state.event(e));
  receiver.on('error', (e) => errors.push(e));
  const good = (i: number): ControlCase => ({
    kind: 'good',
    label: 'good',
    message: { body: Buffer.from(JSON.stringify([{ type: 'task-received', uuid: `good-${i}`, name: GOOD_TASK, args: '(1,)', kwargs: '{}', hostname, timestamp: Date.now() / 1000, clock: i, pid: 1, utcoffset: 0 }, { type: 'task-succeeded', uuid: `good-${i}`, result: '1', runtime: 0.001, hostname, timestamp: Date.now() / 1000, clock: i + 1, pid: 1, utcoffset: 0 }])), contentType: 'application/json', contentEncoding: 'utf-8', headers: { hostname }, properties: { delivery_mode: 1 } },
  });
  const cases: ControlCase[] = shuffled([
    ...fc.sample(malformedEvent(FUZZ_MAX_SIZE), { numRuns: counts.bad, seed }),
    ...Array.from({ length: counts.odd }, (_, i) => fc.sample(oddEvent(hostname, i), { numRuns: 1, seed: seed + i })[0] as ControlCase),
    ...Array.from({ length: counts.good }, (_, i) => good(i)),
  ], seed);
  let sender: Transport | undefined;
  let dead: DeadLetter[] = [];
  try {
    await receiver.start();
    sender = await senderFor(app, broker, shared);
    const type = (await app.connection()).capabilities.fanoutPatterns ? 'fanout' : 'topic';
    await sender.declareExchange({ name: exchange, type, durable: true });
    for (let i = 0; i < cases.length; i += 500) {
      const out = cases.slice(i, i + 500).flatMap((c) => (c.message ? [{ message: c.message, exchange, routingKey: 'task.multi', unroutable: 'drop' as const }] : []));
      await sender.publishMany(out);
    }
    const transport = await app.connection();
    let seen = 0;
    const count = async (): Promise<number> => (broker.deadCount ? broker.deadCount(transport) : (await deadOf(transport, receiver.queue, counts.bad * 2 + 100)).length);
    const goodSeen = (): number => state.tasks({ state: 'SUCCESS' }).filter((t) => t.uuid.startsWith('good-')).length;
    await waitFor(async () => goodSeen() === counts.good && (seen = await count()) >= counts.bad, 90_000,
      () => `seed ${seed}: ${goodSeen()}/${counts.good} good, ${seen}/${counts.bad} dead-lettered, ${receiver.malformed} malformed`);
    dead = await deadOf(transport, receiver.queue, counts.bad * 2 + 100);
  } finally {
    await receiver.close();
    if (!shared) await sender?.close().catch(() => undefined);
    await app.close();
  }
  expect(dead.length, `seed ${seed}: each malformed event dead-lettered once`).toBe(counts.bad);
  for (const d of dead) expect(d.reason, `seed ${seed}`).toMatch(/malformed event: \w|too large/);
  // The odd events never made the state unusable: the views render, the fields they rely on have their types.
  for (const w of state.workers()) {
    expect(Array.isArray(w.heartbeats)).toBe(true);
    if (w.loadavg !== undefined) expect(w.loadavg.every((x) => typeof x === 'number')).toBe(true);
  }
  for (const t of state.tasks()) expect(typeof t.at).toBe('object');
  renderMonitor(state, { selected: null, detail: false }, { columns: 120, rows: 40 }, Date.now());
  const odd = state.tasks().find((t) => t.uuid.startsWith('odd-'));
  if (odd) renderMonitor(state, { selected: odd.uuid, detail: true }, { columns: 120, rows: 40 }, Date.now());
  JSON.stringify(listTasks(state, parseTaskQuery(new URLSearchParams())));
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  return { seed, malformed: counts.bad, odd: counts.odd, good: counts.good, dead, ms: Date.now() - started };
}
