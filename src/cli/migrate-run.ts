/**
 * Moving waiting messages from one broker to another (`celeriac migrate`), at least once: a batch is taken
 * from the source queue, published to the destination, and acked at the source only after the destination
 * confirmed it (AMQP publisher confirms, a Redis or SQLite write). Stopped at any point, nothing is lost:
 * what was not acked goes back to the source queue (at once on a clean stop, after the broker's visibility
 * timeout or when the dead consumer is noticed after a kill); a batch published but not acked is moved twice.
 */
import type { Delivery, Transport } from '../index.js';

export interface MigrateOptions {
  /** Source queue to destination queue, in order. */
  queues: readonly (readonly [string, string])[];
  /** Only messages of these task names move; the others stay in the source queue. */
  tasks?: ReadonlySet<string>;
  /** Stop after moving this many messages (over all queues). */
  limit?: number;
  /** Stop a queue after this long without a message, in ms. */
  idleMs: number;
  /** Keep waiting for messages until `signal` aborts. */
  forever: boolean;
  /** Messages taken, published and acked together. */
  batch: number;
  /** At most this many messages per second. */
  rate?: number;
  signal: AbortSignal;
  /** Called after each batch with the counts so far. */
  onProgress?(moved: number, skipped: number): void;
}

export interface MigrateResult {
  /** Messages moved per source queue. */
  moved: Map<string, number>;
  /** Messages of other tasks, left in the source. */
  skipped: number;
}

/** The task name of a Celery message: header `task` (protocol 2), else the JSON body's `task` (protocol 1). */
export function taskName(d: Delivery): string | undefined {
  const header = d.message.headers['task'];
  if (typeof header === 'string') return header;
  if (!d.message.contentType.includes('json')) return undefined;
  try {
    const body = JSON.parse(d.message.body.toString('utf8')) as unknown;
    return typeof body === 'object' && body !== null && typeof (body as { task?: unknown }).task === 'string' ? (body as { task: string }).task : undefined;
  } catch {
    return undefined;
  }
}

/** Declares the destination queue unless it exists (durable, no arguments; an existing one is used as it is). */
async function ensureQueue(dest: Transport, name: string): Promise<void> {
  const listed = await dest.listQueues().catch(() => []);
  if (listed.some((q) => q.name === name)) return;
  try {
    await dest.declareQueue({ name, durable: true });
  } catch (err) {
    // Declared already with other arguments (e.g. x-max-priority): use it as it is.
    await dest.queueInfo(name).catch(() => {
      throw err;
    });
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export async function migrate(source: Transport, dest: Transport, opts: MigrateOptions): Promise<MigrateResult> {
  const result: MigrateResult = { moved: new Map(), skipped: 0 };
  const started = Date.now();
  let total = 0;
  const batch = opts.rate ? Math.max(1, Math.min(opts.batch, Math.ceil(opts.rate / 10))) : opts.batch;
  for (const [from, to] of opts.queues) {
    if (opts.signal.aborted || (opts.limit !== undefined && total >= opts.limit)) break;
    await ensureQueue(dest, to);
    const buffer: Delivery[] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    let skippedHere = 0;
    const consumer = source.createConsumer({
      prefetch: batch,
      onMessage: (d) => {
        buffer.push(d);
        wake?.();
      },
      onError: (e) => {
        failure = e;
        wake?.();
      },
    });
    const stop = (): void => wake?.();
    opts.signal.addEventListener('abort', stop);
    try {
      await consumer.consume(from);
      let moved = 0;
      for (;;) {
        if (buffer.length === 0 && !opts.signal.aborted) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (!opts.forever) timer = setTimeout(resolve, opts.idleMs);
          });
          clearTimeout(timer);
          wake = undefined;
        }
        if (failure) throw failure;
        if (opts.signal.aborted || buffer.length === 0) break;
        const taken = buffer.splice(0, buffer.length);
        const wanted = opts.tasks ? taken.filter((d) => opts.tasks?.has(taskName(d) ?? '')) : taken;
        if (wanted.length < taken.length) {
          // Others' messages are held (unacked) until the end, then handed back; the window grows past them.
          skippedHere += taken.length - wanted.length;
          result.skipped += taken.length - wanted.length;
          consumer.setPrefetch(batch + skippedHere);
        }
        const room = opts.limit === undefined ? wanted.length : Math.max(0, opts.limit - total);
        const moving = wanted.slice(0, room);
        if (moving.length) {
          await dest.publishMany(moving.map((d) => ({ exchange: '', routingKey: to, message: d.message })));
          await Promise.all(moving.map((d) => d.ack()));
          moved += moving.length;
          total += moving.length;
          result.moved.set(from, moved);
        }
        opts.onProgress?.(total, result.skipped);
        if (opts.limit !== undefined && total >= opts.limit) break;
        if (opts.rate) await sleep(started + (1000 * total) / opts.rate - Date.now(), opts.signal);
      }
    } finally {
      opts.signal.removeEventListener('abort', stop);
      await consumer.close();
    }
  }
  return result;
}
