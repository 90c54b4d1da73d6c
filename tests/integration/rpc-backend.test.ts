// rpc:// on a broker other than RabbitMQ (a temp SQLite file): results travel through the broker's default
// exchange to the sender's reply queue, so it works celeriac to celeriac on any broker; only the sender sees them.
import { afterEach, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, RemoteTaskError, ResultTimeoutError, Worker } from '../../src/index.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

describe('rpc:// result backend on sqlite://', () => {
  let dir: TempDir | undefined;
  afterEach(() => dir?.remove());

  it('delay().get() through the reply queue; failures arrive as RemoteTaskError; another app sees PENDING', async () => {
    dir = tempDir();
    const broker = `sqlite://${dir.file('b.db')}`;
    const app = new Celeriac('rpc-sqlite', { broker, backend: 'rpc://' });
    const add = app.task('tasks.add', (x: number, y: number) => x + y);
    const boom = app.task('tasks.boom', () => {
      throw new RangeError('too far');
    });
    const worker = await new Worker(app, { logger: createLogger({ level: 'silent' }), concurrency: 2 }).start();
    const other = new Celeriac('rpc-other', { broker, backend: 'rpc://' });
    try {
      const r = await add.delay(2, 3);
      expect(await r.get({ timeout: 20_000 })).toBe(5);
      const err = await (await boom.delay()).get({ timeout: 20_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteTaskError);
      expect((err as Error).message).toContain('too far');
      // Results go to the sender's reply queue only (as Celery's rpc backend).
      expect((await other.AsyncResult(r.id).state())).toBe('PENDING');
      const waited = await other.AsyncResult(r.id).get({ timeout: 300 }).catch((e: unknown) => e);
      expect(waited).toBeInstanceOf(ResultTimeoutError);
      expect((waited as Error).message).toMatch(/rpc:\/\/ results reach only the process that sent the task/);
    } finally {
      await worker.stop();
      await other.close();
      await app.close();
    }
  }, 60_000);
});
