// Disk full under the SQLite broker: the broker file lives on an 8 MiB file system that the test fills.
// Sends fail with StorageFullError (not a raw SQLITE_FULL), nothing stored is lost, and once space returns
// sends work again and a worker drains everything, each task run once.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, StorageFullError, Worker } from '../../src/index.js';
import { tempDir, until } from '../helpers/temp.js';
import { fillDisk, mountSmallDisk } from './small-disk.js';

// 8 MiB: room for SQLite's WAL, which grows to 4 MiB before SQLite resets it on its own (on 2 MiB the WAL of a
// busy worker fills the disk by itself, with no filler: see the checkpoint in transport/sqlite/store.ts).
const disk = mountSmallDisk(8);
const silent = createLogger({ level: 'silent' });

afterAll(() => {
  if (typeof disk !== 'string') disk.unmount();
});

/** Sends until the broker refuses; returns the ids it accepted and the error it refused with. */
async function sendUntilFull(send: (i: number) => Promise<string>, from: number, most: number): Promise<{ ids: string[]; error: unknown }> {
  const ids: string[] = [];
  for (let i = from; i < from + most; i++) {
    try {
      ids.push(await send(i));
    } catch (error) {
      return { ids, error };
    }
  }
  return { ids, error: undefined };
}

describe.skipIf(typeof disk === 'string')(`SQLite broker on a full disk (${typeof disk === 'string' ? disk : disk.kind})`, () => {
  it('refuses sends with StorageFullError, keeps what was stored, and works again once space returns', async () => {
    if (typeof disk === 'string') return;
    const results = tempDir();
    const filler = join(disk.dir, 'filler');
    const app = new Celeriac('full', { broker: `sqlite://${join(disk.dir, 'broker.db')}`, backend: `sqlite://${results.file('results.db')}` });
    const runs = new Map<number, number>();
    const work = app.task('tasks.work', async (n: number) => {
      runs.set(n, (runs.get(n) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 20));
      return n;
    });
    const send = async (i: number): Promise<string> => (await work.delay(i)).id;
    const accepted = new Map<number, string>();
    let worker: Worker | undefined;
    try {
      // Stored before the disk fills.
      for (let i = 0; i < 20; i++) accepted.set(i, await send(i));
      const transport = await app.connection();
      expect((await transport.queueInfo('celery')).messages).toBe(20);

      // Full: the send is refused with a clear, typed error.
      fillDisk(filler);
      const first = await sendUntilFull(send, 20, 500);
      first.ids.forEach((id, k) => accepted.set(20 + k, id));
      expect(first.error).toBeInstanceOf(StorageFullError);
      const err = first.error as StorageFullError;
      expect(err.code).toBe('E_STORAGE_FULL');
      expect(err.retryable).toBe(true);
      expect(err.message).toMatch(/disk .* is full/);
      expect(err.message).toMatch(/Free space/);
      expect(err.message).not.toMatch(/^database or disk is full$/);
      // Refused again while full; what was stored is still there.
      await expect(send(9999)).rejects.toBeInstanceOf(StorageFullError);
      expect((await transport.queueInfo('celery')).messages).toBe(accepted.size);

      // Space returns: sends work again, and a worker drains everything, each task once.
      rmSync(filler);
      for (let i = 1000; i < 1020; i++) accepted.set(i, await send(i));
      worker = await new Worker(app, { logger: silent, concurrency: 4 }).start();
      await until(() => [...accepted.keys()].every((n) => runs.has(n)), 60_000, 50);

      // Full again while the worker is busy with a backlog: its claims and acks may be refused too.
      for (let i = 2000; i < 2060; i++) accepted.set(i, await send(i));
      fillDisk(filler);
      const second = await sendUntilFull(send, 3000, 500);
      second.ids.forEach((id, k) => accepted.set(3000 + k, id));
      expect(second.error).toBeInstanceOf(StorageFullError);
      await new Promise((r) => setTimeout(r, 1500));
      rmSync(filler);
      for (let i = 4000; i < 4020; i++) accepted.set(i, await send(i));
      await until(() => [...accepted.keys()].every((n) => runs.has(n)), 90_000, 50);
      // Nothing left ready, nor held by an ack the full disk refused (it would come back after the visibility timeout).
      await until(async () => {
        const info = await transport.queueInfo('celery');
        return info.messages === 0 && info.unacked === 0;
      }, 30_000, 100).catch(async () => expect(await transport.queueInfo('celery')).toMatchObject({ messages: 0, unacked: 0 }));

      const lost = [...accepted.keys()].filter((n) => !runs.has(n));
      const twice = [...runs].filter(([, c]) => c > 1).map(([n]) => n);
      console.log(`disk-full: ${accepted.size} accepted, ${lost.length} lost, ${twice.length} run twice (${disk.kind})`);
      expect(lost).toEqual([]);
      expect(twice).toEqual([]);
      expect(await app.AsyncResult(accepted.get(1019) as string).get({ timeout: 10_000 })).toBe(1019);
    } finally {
      rmSync(filler, { force: true });
      await worker?.stop({ cold: true }).catch((e: unknown) => console.log('stop', e));
      await app.close();
      results.remove();
    }
  }, 180_000);
});
