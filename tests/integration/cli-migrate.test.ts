// `celeriac migrate` between real brokers: SQLite to Redis (task filter, renamed queue, limit), Redis to
// RabbitMQ (a private vhost), and interrupted runs (SIGKILL, SIGTERM) that lose nothing when run again.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac } from '../../dist/index.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { runCli, spawnCli } from '../helpers/processes.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

let dir: TempDir;
let vhost: Vhost;
const prefixes: string[] = [];

beforeAll(async () => {
  dir = tempDir('celeriac-migrate-');
  vhost = await createVhost();
}, 120_000);

afterAll(async () => {
  dir.remove();
  for (const p of prefixes) await deleteKeys(p);
  await vhost.remove();
}, 120_000);

/** A fresh SQLite broker URL, or a Redis one under a key prefix of its own. */
const sqliteUrl = (): string => `sqlite://${dir.file(`${randomUUID()}.db`)}`;
function redisUrl(): string {
  const prefix = `celeriac-migrate-${randomUUID()}:`;
  prefixes.push(prefix);
  return `${REDIS_URL}?global_keyprefix=${prefix}`;
}

/** Sends `count` tasks named `name` to `queue`; returns their ids. */
async function seed(url: string, count: number, name: string, queue: string): Promise<string[]> {
  const app = new Celeriac('seed', { broker: url, backend: 'memory://' });
  try {
    const sent = await app.sendMany(Array.from({ length: count }, (_, i) => ({ name, args: [i, i], options: { queue } })));
    return sent.map((r) => r.id);
  } finally {
    await app.close();
  }
}

/** Ready and unacked counts of a queue. */
async function counts(url: string, queue: string): Promise<[number, number]> {
  const app = new Celeriac('probe', { broker: url, backend: 'memory://' });
  try {
    const info = await (await app.connection()).queueInfo(queue);
    return [info.messages, info.unacked];
  } finally {
    await app.close();
  }
}

/** Takes every ready message of a queue (acked); returns the task ids and the task names seen. */
async function drain(url: string, queue: string): Promise<{ ids: string[]; names: Set<string> }> {
  const app = new Celeriac('drain', { broker: url, backend: 'memory://' });
  const ids: string[] = [];
  const names = new Set<string>();
  try {
    const t = await app.connection();
    const expected = (await t.queueInfo(queue)).messages;
    const consumer = t.createConsumer({
      prefetch: 0,
      onMessage: (d) => {
        ids.push(String(d.message.headers['id']));
        names.add(String(d.message.headers['task']));
        void d.ack();
      },
    });
    await consumer.consume(queue);
    await until(() => ids.length >= expected, 20_000);
    await consumer.close();
    return { ids, names };
  } finally {
    await app.close();
  }
}

describe('celeriac migrate', () => {
  it('SQLite to Redis: only the tasks asked for, to a renamed queue, with progress; the others stay', async () => {
    const [src, dst] = [sqliteUrl(), redisUrl()];
    const adds = await seed(src, 150, 'tasks.add', 'celery');
    const others = await seed(src, 30, 'tasks.other', 'celery');
    const forAdd = await seed(src, 40, 'tasks.add', 'for_add');
    const run = await runCli(['migrate', src, dst, '-Q', 'celery,for_add:moved_add', '--tasks', 'tasks.add', '--batch', '25', '-t', '0.5'], {});
    expect(run.stderr).toMatch(/^Moving 220 waiting messages of celery, for_add from sqlite:/m);
    expect(run.stderr).toMatch(/^progress: \d+\/220 examined \(\d+%\)$/m);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^celery +celery +150$/m);
    expect(run.stdout).toMatch(/^for_add +moved_add +40$/m);
    expect(run.stdout).toMatch(/Moved 190 messages from sqlite:\S+ to redis:\S+; 30 of other tasks left in the source\./);

    const moved = await drain(dst, 'celery');
    expect(moved.ids.sort()).toEqual([...adds].sort());
    expect((await drain(dst, 'moved_add')).ids.sort()).toEqual([...forAdd].sort());
    expect(await counts(src, 'celery')).toEqual([30, 0]);
    expect((await drain(src, 'celery')).ids.sort()).toEqual([...others].sort());
    expect(await counts(src, 'for_add')).toEqual([0, 0]);
  });

  it('--limit moves exactly that many; the rest stay in the source', async () => {
    const [src, dst] = [sqliteUrl(), redisUrl()];
    await seed(src, 120, 'tasks.add', 'celery');
    const run = await runCli(['migrate', src, dst, '--limit', '50', '--batch', '30'], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^Moving 50 waiting messages/m);
    expect(await counts(dst, 'celery')).toEqual([50, 0]);
    expect(await counts(src, 'celery')).toEqual([70, 0]);
  });

  it('Redis to RabbitMQ: every message arrives with its id, body and properties; the source is empty', async () => {
    const src = redisUrl();
    const queue = `mig-${randomUUID()}`;
    const ids = await seed(src, 200, 'tasks.add', queue);
    const run = await runCli(['migrate', src, vhost.url, '-Q', queue], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^${queue} +${queue} +200$`, 'm'));
    expect(await counts(src, queue)).toEqual([0, 0]);
    expect((await counts(vhost.url, queue))[0]).toBe(200);
    const got = await drain(vhost.url, queue);
    expect(got.ids.sort()).toEqual([...ids].sort());
    expect([...got.names]).toEqual(['tasks.add']);
  });

  it('killed mid-way (SIGKILL), then run again: every message arrives, none is lost', async () => {
    const [src, dst] = [sqliteUrl(), redisUrl()];
    const ids = await seed(src, 600, 'tasks.add', 'celery');
    const first = spawnCli(['migrate', src, dst, '--rate', '300', '--batch', '20'], {});
    await first.waitFor(/^progress: [1-9]\d*\/600 moved/m);
    first.child.kill('SIGKILL');
    await first.exited;
    const [ready, held] = await counts(src, 'celery');
    const [arrived] = await counts(dst, 'celery');
    expect(arrived).toBeGreaterThan(0);
    expect(ready + held).toBeGreaterThan(0); // it was stopped mid-way
    expect(ready + held + arrived).toBeGreaterThanOrEqual(600);

    // The killed consumer's messages come back at the source (its process is gone), and move now.
    const second = await runCli(['migrate', src, dst], {});
    expect(second.code, second.stderr).toBe(0);
    expect(await counts(src, 'celery')).toEqual([0, 0]);
    const moved = await drain(dst, 'celery');
    expect(new Set(moved.ids)).toEqual(new Set(ids));
    expect(moved.ids.length - ids.length).toBeLessThanOrEqual(20); // at most the batch in flight, twice
  });

  it('stopped with SIGTERM: finishes its batch, exits 1, and a second run moves the rest exactly once', async () => {
    const src = redisUrl();
    const queue = `mig-${randomUUID()}`;
    const ids = await seed(src, 300, 'tasks.add', queue);
    const first = spawnCli(['migrate', src, vhost.url, '-Q', queue, '--rate', '150', '--batch', '10'], {});
    await first.waitFor(/^progress: [1-9]\d*\/300 moved/m);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(1);
    expect(first.output()).toMatch(/SIGTERM: stopping after the current batch/);
    expect(first.output()).toMatch(/migrate was interrupted/);
    const [ready, held] = await counts(src, queue);
    expect(held).toBe(0); // handed back at once
    expect(ready).toBeGreaterThan(0);
    expect(ready + (await counts(vhost.url, queue))[0]).toBe(300);

    const second = await runCli(['migrate', src, vhost.url, '-Q', queue], {});
    expect(second.code, second.stderr).toBe(0);
    expect((await drain(vhost.url, queue)).ids.sort()).toEqual([...ids].sort());
  });

  it('bad arguments exit 2 with a message; --help has examples', async () => {
    const url = sqliteUrl();
    for (const [args, message] of [
      [['migrate', url], /missing required argument/],
      [['migrate', url, url], /same broker/],
      [['migrate', url, 'redis://x', '--limit', '0'], /--limit expects an integer >= 1/],
      [['migrate', url, 'redis://x', '-Q', 'a:b:c'], /source:destination/],
      [['migrate', url, 'redis://x', '--tasks', ','], /--tasks expects a comma-separated list/],
      [['migrate', url, 'nosuch://x', '-Q', 'q'], /nosuch/],
    ] as const) {
      const run = await runCli([...args], {});
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    const help = await runCli(['migrate', '--help'], {});
    expect(help.stdout).toMatch(/Examples:\n\s+\$ celeriac migrate sqlite:/);
  });
});
