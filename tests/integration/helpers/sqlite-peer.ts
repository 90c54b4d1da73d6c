/**
 * A second process on a sqlite:// broker file, driven by tests/integration/sqlite-transport.test.ts.
 * Prints one JSON object per line on stdout.
 *
 *   consume <db> <queue> <prefetch> <ack|hold> [visibilityTimeoutMs]
 *       {"event":"ready"} once consuming; {"event":"msg","body","redelivered","at"} per delivery;
 *       on SIGTERM closes gracefully (hands back held messages) and prints {"event":"closed"}.
 *   publish <db> <queue> <count> <intervalMs>
 *       publishes `count` messages {"i","sentAt"} spaced by intervalMs, prints {"event":"done"}, exits.
 */
import { createTransport } from '../../../src/transport/sqlite/index.js';
import type { Delivery } from '../../../src/transport/types.js';

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const [mode, db, queue, a, b, c] = process.argv.slice(2) as [string, string, string, string, string, string | undefined];

async function consume(): Promise<void> {
  const options = c ? { visibilityTimeout: Number(c) } : {};
  const transport = createTransport(`sqlite://${db}`, options);
  await transport.declareQueue({ name: queue, durable: true });
  const consumer = transport.createConsumer({
    prefetch: Number(a),
    onMessage: (d: Delivery) => {
      emit({ event: 'msg', body: d.message.body.toString(), redelivered: d.redelivered, at: Date.now() });
      if (b === 'ack') void d.ack();
    },
    onError: (e) => emit({ event: 'error', message: e.message }),
  });
  // The consumer's timers do not hold the process open; this does, until a signal ends it.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  process.on('SIGTERM', () => {
    void (async () => {
      await consumer.close();
      await transport.close();
      clearInterval(keepAlive);
      emit({ event: 'closed' });
      process.exit(0);
    })();
  });
  await consumer.consume(queue);
  emit({ event: 'ready', pid: process.pid });
}

async function publish(): Promise<void> {
  const transport = createTransport(`sqlite://${db}`, {});
  await transport.declareQueue({ name: queue, durable: true });
  for (let i = 0; i < Number(a); i++) {
    const body = Buffer.from(JSON.stringify({ i, sentAt: Date.now() }));
    await transport.publish({ body, contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: {} }, { exchange: '', routingKey: queue });
    await new Promise((r) => setTimeout(r, Number(b)));
  }
  await transport.close();
  emit({ event: 'done' });
}

(mode === 'consume' ? consume() : publish()).catch((err: unknown) => {
  emit({ event: 'error', message: (err as Error).stack ?? String(err) });
  process.exit(1);
});
