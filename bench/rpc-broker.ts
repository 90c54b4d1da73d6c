/**
 * The broker RPC driver (oslo.messaging's wire format) next to the task round trip on the same broker:
 *   npm run build && npx tsx bench/rpc-broker.ts [--brokers redis,amqp] [--rt 2000] [--n 10000] [--inflight 64]
 *
 * Brokers: redis:// is a private redis-server on a free port (no persistence); amqp:// a vhost of the run's own
 * on the local RabbitMQ (rabbitmqctl; deleted at the end). Per broker, in this one process (client and server
 * share the event loop, as the task producer and its in-process async worker do):
 *   rpc call     sequential driver.call() of a no-op handler (echoes its args) after 200 warm-ups: p50 / p99 ms;
 *                then --n calls with --inflight at once: calls/s
 *   task         sequential add.delay(2, 2).get() (worker in process, async pool, concurrency --inflight;
 *                results: redis:// in Redis db 1, amqp:// through rpc://): p50 / p99 ms; --n with --inflight: tasks/s
 * Prints a Markdown table.
 */
import { randomUUID } from 'node:crypto';
import { Celeriac, createLogger, Worker } from 'celeriac';
import { createBrokerDriver } from '../dist/rpc/broker/index.js';
import type { RpcDriver } from '../dist/rpc/types.js';
import { createVhost, type Vhost } from '../tests/helpers/amqp.js';
import { freePort, privateRedis, type PrivateRedis } from '../tests/helpers/redis-server.js';
import { now, percentile } from './lib.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
};
const BROKERS = flag('brokers', 'redis,amqp').split(',');
const RT = Number(flag('rt', '2000'));
const N = Number(flag('n', '10000'));
const INFLIGHT = Number(flag('inflight', '64'));
const WARM = 200;

interface Row {
  broker: string;
  what: string;
  p50: number;
  p99: number;
  perSecond: number;
}

/** Sequential round trips (after warm-ups), then `N` with `INFLIGHT` at once. */
async function measure(once: () => Promise<unknown>): Promise<{ p50: number; p99: number; perSecond: number }> {
  for (let i = 0; i < WARM; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < RT; i++) {
    const t0 = now();
    await once();
    samples.push(now() - t0);
  }
  let next = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (next++ < N) await once();
    }),
  );
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), perSecond: N / ((now() - t0) / 1000) };
}

async function benchRpc(broker: string, url: string): Promise<Row> {
  const serverApp = new Celeriac('bench-rpc-server', { broker: url, backend: 'memory://' });
  const clientApp = new Celeriac('bench-rpc-client', { broker: url, backend: 'memory://' });
  const topic = `bench-${randomUUID().slice(0, 8)}`;
  const server: RpcDriver = createBrokerDriver(() => serverApp.connection(), { concurrency: INFLIGHT });
  const client: RpcDriver = createBrokerDriver(() => clientApp.connection());
  try {
    await server.listen({ topic, server: 'bench' }, async (request) => ({ ok: true, result: request.args }));
    const r = await measure(async () => {
      const outcome = await client.call({ topic }, { method: 'add', args: { x: 2, y: 2 } }, { timeout: 30_000 });
      if (!outcome.ok) throw new Error(outcome.error.message);
    });
    return { broker, what: 'rpc call (broker driver)', ...r };
  } finally {
    await client.close();
    await server.close();
    const t = await serverApp.connection();
    for (const q of [topic, `${topic}.bench`]) await t.deleteQueue(q).catch(() => undefined);
    await clientApp.close();
    await serverApp.close();
  }
}

async function benchTasks(broker: string, url: string, backend: string): Promise<Row> {
  const queue = `bench-tasks-${randomUUID().slice(0, 8)}`;
  const app = new Celeriac('bench-tasks', { broker: url, backend, defaultQueue: queue });
  const add = app.task('bench.add', (x: number, y: number) => x + y);
  const worker = await new Worker(app, { logger: createLogger({ level: 'silent' }), concurrency: INFLIGHT, queues: [queue] }).start();
  try {
    const r = await measure(async () => (await add.delay(2, 2)).get({ timeout: 30_000 }));
    return { broker, what: 'task delay().get()', ...r };
  } finally {
    await worker.stop();
    await (await app.connection()).deleteQueue(queue).catch(() => undefined);
    await app.close();
  }
}

const rows: Row[] = [];
let redis: PrivateRedis | undefined;
let vhost: Vhost | undefined;
try {
  for (const broker of BROKERS) {
    if (broker === 'redis') {
      redis = privateRedis(await freePort());
      await redis.start();
      rows.push(await benchRpc('redis://', redis.url));
      rows.push(await benchTasks('redis://', redis.url, redis.url.replace(/\/0$/, '/1')));
    } else if (broker === 'amqp') {
      vhost = await createVhost();
      rows.push(await benchRpc('amqp://', vhost.url));
      rows.push(await benchTasks('amqp://', vhost.url, 'rpc://'));
    } else {
      throw new Error(`unknown broker '${broker}': use redis and/or amqp`);
    }
  }
} finally {
  await redis?.stop();
  await vhost?.remove();
}

const f = (n: number, d = 2): string => n.toFixed(d);
console.log(`\n${RT} sequential round trips (p50/p99), then ${N} with ${INFLIGHT} in flight (per second); node ${process.version}\n`);
console.log('| broker | what | p50 ms | p99 ms | per second |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.broker} | ${r.what} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.perSecond, 0)} |`);
