// Compressed task messages from Python Celery (kombu's `compression` header) on Redis: zlib and gzip bodies are
// inflated and run by a celeriac worker; a bzip2 body (no decompressor here) is dead-lettered with the reason.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { REDIS_URL } from '../helpers/redis.js';
import { cleanupRedis, PY_DIR, PYTHON, pythonEnv, requirePythonCelery, runProcess } from './helpers.js';

describe('compressed messages from Python Celery', () => {
  const queue = `compressed-${randomUUID().slice(0, 8)}`;
  const taskIds: string[] = [];
  beforeAll(() => requirePythonCelery());
  afterAll(() => cleanupRedis(REDIS_URL, { queues: [queue], taskIds }));

  it('zlib and gzip run; bzip2 is dead-lettered saying which compressions work', async () => {
    const app = new Celeriac('compressed', { broker: REDIS_URL, backend: REDIS_URL, logLevel: 'silent' });
    app.task('tasks.add', (x: number, y: number) => x + y);
    const worker = await new Worker(app, { queues: [queue], logger: createLogger({ level: 'silent' }), heartbeat: false, gossip: false }).start();
    try {
      const run = await runProcess(PYTHON, ['compressed_producer.py', REDIS_URL, queue, '10', 'zlib', 'gzip'], pythonEnv(), PY_DIR);
      expect(run.code, run.stderr).toBe(0);
      const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { compression: string; id: string; result?: number });
      taskIds.push(...lines.map((l) => l.id));
      expect(lines.map((l) => [l.compression, l.result])).toEqual([['zlib', 5], ['gzip', 5]]);
      const bz = await runProcess(PYTHON, ['compressed_producer.py', REDIS_URL, queue, '2', 'bzip2'], pythonEnv(), PY_DIR);
      taskIds.push(...bz.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id));
      const dead = (await (await app.connection()).deadLetters(100)).filter((d) => d.queue === queue);
      expect(dead.map((d) => d.reason)).toEqual([expect.stringMatching(/cannot decompress a 'application\/x-bz2' body/)]);
    } finally {
      await worker.stop();
      await app.close();
    }
  }, 60_000);
});
