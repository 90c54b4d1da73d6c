// Drives a worker with hostile task messages on one broker: publishes the cases of hostile.ts in batches
// (publishMany through a transport with no size limit, raw envelopes through `inject`), waits until every
// good one ran and every bad one was dead-lettered, and returns what happened for the test to check.
import { pino } from 'pino';
import type { Logger } from '../../src/index.js';
import { expect } from 'vitest';
import { Celeriac, Worker, type DeadLetter, type Transport } from '../../src/index.js';
import { EXPECTED_REASON, FUZZ_MAX_SIZE, GOOD_TASK, sampleCases, type Case } from './hostile.js';

export interface BrokerUnderTest {
  url: string;
  brokerOptions?: Record<string, unknown>;
  /** Writes raw stored envelopes into `queue` (brokers that store text); absent: no envelope cases. */
  inject?(queue: string, envelopes: string[]): Promise<void>;
  /** Dead letters of `queue` (default: transport.deadLetters filtered by queue). */
  deadLetters?(transport: Transport, queue: string): Promise<DeadLetter[]>;
  /** How many dead letters there are, cheaply (polled while waiting; default: reading them all). */
  deadCount?(transport: Transport): Promise<number>;
}

export interface FuzzOutcome {
  seed: number;
  cases: Case[];
  ran: Map<number, number>;
  dead: DeadLetter[];
  byLabel: Map<string, number>;
  errorsLogged: number;
  ms: number;
}

/** A pino logger that counts lines by level and keeps none. */
export function countingLogger(level = 'info'): { logger: Logger; counts: Map<number, number> } {
  const counts = new Map<number, number>();
  const logger: Logger = pino({ level }, { write: (line: string) => {
    const lvl = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    counts.set(lvl, (counts.get(lvl) ?? 0) + 1);
  } });
  return { logger, counts };
}

async function waitFor(check: () => Promise<boolean> | boolean, timeout: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeout} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function fuzzWorker(broker: BrokerUnderTest, options: { bad: number; good: number; seed?: number; batch?: number; timeout?: number }): Promise<FuzzOutcome> {
  const seed = options.seed ?? Number(process.env['CELERIAC_FUZZ_SEED'] ?? Date.now() % 1_000_000);
  const started = Date.now();
  const queue = `fuzz-${seed}-${Math.random().toString(36).slice(2, 8)}`;
  const cases = sampleCases(options.bad, options.good, seed, { envelopes: Boolean(broker.inject) });
  const ran = new Map<number, number>();
  // memory:// is one broker per transport: there the app's own transport sends, told to take anything (so the
  // worker's own check of the size is what refuses); elsewhere a second transport with no size limit.
  const shared = broker.url.startsWith('memory:');
  const brokerOptions = { ...(broker.brokerOptions ?? {}), ...(shared ? { maxMessageSize: 0 } : {}) };
  const app = new Celeriac('fuzz', { broker: broker.url, backend: 'memory://', maxMessageSize: FUZZ_MAX_SIZE, brokerOptions, logLevel: 'silent' });
  app.task(GOOD_TASK, (n: number) => {
    ran.set(n, (ran.get(n) ?? 0) + 1);
    return n;
  });
  const { logger, counts } = countingLogger();
  const worker = new Worker(app, { queues: [queue], concurrency: 8, logger, heartbeat: false, gossip: false });
  const factory = await app.plugins.transports.resolve(broker.url);
  const sender = shared ? await app.connection() : factory(broker.url, { ...(broker.brokerOptions ?? {}), maxMessageSize: 0 });
  const deadOf = async (t: Transport): Promise<DeadLetter[]> => (broker.deadLetters ? broker.deadLetters(t, queue) : (await t.deadLetters(options.bad * 2 + 100)).filter((d) => d.queue === queue));
  let dead: DeadLetter[] = [];
  try {
    await sender.connect();
    await worker.start();
    const batch = options.batch ?? 500;
    for (let i = 0; i < cases.length; i += batch) {
      const slice = cases.slice(i, i + batch);
      const messages = slice.flatMap((c) => (c.message ? [{ message: c.message, exchange: '', routingKey: queue }] : []));
      if (messages.length) await sender.publishMany(messages);
      const envelopes = slice.flatMap((c) => (c.envelope !== undefined ? [c.envelope] : []));
      if (envelopes.length) await broker.inject?.(queue, envelopes);
    }
    const transport = await app.connection();
    const good = cases.filter((c) => c.good).length;
    const bad = cases.length - good;
    const count = async (): Promise<number> => (broker.deadCount ? broker.deadCount(transport) : (dead = await deadOf(transport)).length);
    let seen = 0;
    await waitFor(async () => ran.size === good && (seen = await count()) >= bad, options.timeout ?? 100_000, () => `seed ${seed}: ${ran.size}/${good} good ran, ${seen}/${bad} dead-lettered`);
    // Nothing more arrives: no extra dead letter, no second run, the queue empty.
    await new Promise((r) => setTimeout(r, 300));
    dead = await deadOf(transport);
    const info = await transport.queueInfo(queue);
    expect(info.messages, `seed ${seed}: messages left in the queue`).toBe(0);
    expect(worker.status, `seed ${seed}: the worker stays up`).toBe('running');
    // Every good one succeeded (not merely ran: a time limit gone wrong would store FAILURE).
    for (const c of cases) {
      if (!c.good) continue;
      const id = String(c.message?.headers['id']);
      expect(await app.AsyncResult(id).state(), `seed ${seed}: good task ${id}`).toBe('SUCCESS');
    }
  } finally {
    await worker.stop().catch(() => undefined);
    if (!shared) await sender.close().catch(() => undefined);
    await app.close();
  }
  const byLabel = new Map<string, number>();
  for (const c of cases) byLabel.set(c.label, (byLabel.get(c.label) ?? 0) + 1);
  return { seed, cases, ran, dead, byLabel, errorsLogged: counts.get(50) ?? 0, ms: Date.now() - started };
}

/** The checks every broker's fuzz run must pass. */
export function checkOutcome(out: FuzzOutcome): void {
  const { seed, cases, ran, dead } = out;
  const good = cases.filter((c) => c.good);
  const bad = cases.filter((c) => !c.good);
  // Every good one ran, exactly once.
  for (const c of good) expect(ran.get(c.n as number), `seed ${seed}: good case ${String(c.n)} ran once`).toBe(1);
  // Every bad one dead-lettered, once, with a reason that says what was wrong with it.
  expect(dead.length, `seed ${seed}: dead letters`).toBe(bad.length);
  const labelOf = new Map(cases.map((c) => [String(c.message?.headers['id'] ?? ''), c] as const));
  for (const d of dead) {
    expect(d.reason, `seed ${seed}: dead letter ${d.id} has a reason`).toMatch(/\w/);
    const id = d.message.headers['id'];
    const c = typeof id === 'string' ? labelOf.get(id) : undefined;
    expect(c?.good, `seed ${seed}: a good message (${String(id)}) was dead-lettered: ${d.reason}`).not.toBe(true);
    const expected = c ? EXPECTED_REASON[c.label] : undefined;
    if (c && expected) expect(d.reason, `seed ${seed}: ${c.label} ${String(id)}`).toMatch(expected);
  }
  // No prototype was polluted by the __proto__ keys some good messages carry.
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
}

/** One line per kind, for the test log (and RELIABILITY.md). */
export function summary(broker: string, out: FuzzOutcome): string {
  const kinds = [...out.byLabel].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  return `fuzz ${broker}: seed ${out.seed}, ${out.cases.length} messages (${kinds}) in ${out.ms} ms; ${out.dead.length} dead-lettered, ${out.ran.size} good ran, ${out.errorsLogged} error lines logged`;
}
