// The network-partition scenario shared by the Redis and RabbitMQ tests: a worker reaches its broker through a
// TcpProxy that blackholes (stops forwarding, sockets left open) while tasks run, a producer keeps sending
// directly, then the partition heals. Measures when the worker noticed, and what was lost or run twice.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Celeriac, Worker } from '../../src/index.js';
import { until } from '../helpers/temp.js';
import { TcpProxy } from './tcp-proxy.js';

export interface PartitionSetup {
  /** The broker as the worker reaches it: through the proxy on `port`. */
  viaProxy(port: number): string;
  /** The broker as the producer reaches it (no proxy). */
  direct: string;
  target: { host: string; port: number };
  /** Broker options of both apps (key prefix, the health-check or heartbeat period). */
  brokerOptions: Record<string, unknown>;
  /** The worker's liveness period in ms (Redis health check, AMQP heartbeat). */
  periodMs: number;
  acksLate: boolean;
}

export interface PartitionReport {
  sent: number;
  /** ms from the blackhole to the worker's first log line about the broker connection. */
  noticedAfter: number;
  lost: number[];
  /** Tasks run more than once, and those of them whose first run began before the partition (not allowed). */
  twice: number[];
  twiceBeforePartition: number[];
  /** The worker's connections through the proxy (more than its first ones: it reconnected). */
  proxyConnections: number;
  /** Tasks first run more than 5 s after the heal: claimed by a request the partition delayed, back after the visibility timeout. */
  late: number;
  logs: string[];
  /** The worker's log lines from the blackhole on, with their offset in ms. */
  timeline: string[];
  /** Set (after the report is made) when the worker's stop() took more than 30 s. */
  stopHung: { value: boolean };
}

interface Run {
  count: number;
  firstStart: number;
  firstEnd: number;
}

export async function partitionScenario(setup: PartitionSetup): Promise<PartitionReport> {
  const proxy = new TcpProxy(setup.target.host, setup.target.port);
  const port = await proxy.listen();
  const queue = `faults-partition-${randomUUID().slice(0, 8)}`;
  const logs: { at: number; line: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push({ at: Date.now(), line });
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const options = { brokerOptions: setup.brokerOptions, backend: 'memory://', acksLate: setup.acksLate };
  const workerApp = new Celeriac('partition', { broker: setup.viaProxy(port), ...options });
  const producer = new Celeriac('partition', { broker: setup.direct, ...options });
  const runs = new Map<number, Run>();
  workerApp.task('faults.work', async (n: number) => {
    const start = Date.now();
    const run = runs.get(n);
    if (run) run.count++;
    else runs.set(n, { count: 1, firstStart: start, firstEnd: Infinity });
    await new Promise((r) => setTimeout(r, 40));
    const first = runs.get(n) as Run;
    if (first.firstEnd === Infinity) first.firstEnd = Date.now();
    return n;
  });
  const send = async (from: number, count: number): Promise<void> => {
    for (let i = from; i < from + count; i++) await producer.sendTask('faults.work', [i], { queue });
  };
  let worker: Worker | undefined;
  const stopHung = { value: false };
  try {
    worker = await new Worker(workerApp, { logger, concurrency: 2, queues: [queue], prefetchMultiplier: 2 }).start();
    await send(0, 40);
    await until(() => runs.size >= 10, 60_000, 10);
    const firstConnections = proxy.accepted;
    const blackholeAt = Date.now();
    proxy.blackhole();
    await send(40, 40);
    // Noticed: a line about the broker connection after the blackhole began.
    const noticed = (): { at: number; line: string } | undefined => logs.find((l) => l.at >= blackholeAt && /broker|connection|heartbeat|PING/i.test(l.line));
    await until(() => noticed() !== undefined, 10 * setup.periodMs + 30_000, 20);
    const noticedAfter = (noticed() as { at: number }).at - blackholeAt;
    // Held a while longer: reconnect attempts meet the blackhole too.
    await new Promise((r) => setTimeout(r, 2 * setup.periodMs));
    proxy.heal();
    const healAt = Date.now();
    await send(80, 20);
    await until(() => runs.size >= 100, 120_000, 20).catch(() => undefined);
    // A quiet moment for late redeliveries to show.
    await new Promise((r) => setTimeout(r, Math.max(2000, 2 * setup.periodMs)));
    const twice = [...runs].filter(([, r]) => r.count > 1).map(([n]) => n);
    return {
      sent: 100,
      noticedAfter,
      lost: Array.from({ length: 100 }, (_, i) => i).filter((n) => !runs.has(n)),
      twice,
      // A task that finished (and was acked) well before the blackhole must never run again.
      twiceBeforePartition: twice.filter((n) => (runs.get(n) as Run).firstEnd < blackholeAt - 1000),
      proxyConnections: proxy.accepted - firstConnections,
      late: [...runs.values()].filter((r) => r.firstStart > healAt + 5000).length,
      logs: logs.map((l) => l.line),
      stopHung,
      timeline: logs.filter((l) => l.at >= blackholeAt && !/"msg":"Task /.test(l.line)).slice(0, 6).map((l) => `+${l.at - blackholeAt} ms ${l.line.slice(0, 300)}`),
    };
  } finally {
    proxy.heal();
    const stopped = await Promise.race([
      (worker?.stop({ cold: true }) ?? Promise.resolve()).then(() => true, () => true),
      new Promise<false>((r) => setTimeout(() => r(false), 30_000)),
    ]);
    if (!stopped) stopHung.value = true;
    await workerApp.close().catch(() => undefined);
    const t = await producer.connection();
    await t.deleteQueue(queue).catch(() => undefined);
    await producer.close();
    await proxy.close();
  }
}
