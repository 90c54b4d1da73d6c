// celeriac beat -> Python Celery worker on Redis: an `external: true` entry naming a Python task is sent by
// a programmatic Beat on schedule, run by a real Python worker, and its result is read back. Fails (never
// skips) when Python Celery is missing. Every queue, key and process is this file's own, removed afterwards.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Beat, Celeriac, type SentEvent } from '../../src/index.js';
import type { Spawned } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/redis.js';
import { until } from '../helpers/temp.js';
import { cleanupRedis, requirePythonCelery, startPythonWorker, stopProcess } from './helpers.js';

describe('celeriac beat -> Python worker (redis)', () => {
  const queue = `interop-beat-${randomUUID()}`;
  const nodeName = `beat-${queue.slice(-12)}@interop`;
  const name = `interop-beat-${randomUUID().slice(0, 8)}`;
  let worker: Spawned | undefined;
  let app: Celeriac;
  let beat: Beat | undefined;
  const sent: SentEvent[] = [];

  beforeAll(async () => {
    requirePythonCelery();
    app = new Celeriac(name, {
      broker: REDIS_URL,
      backend: REDIS_URL,
      beatSchedule: { 'py-add': { task: 'interop.add', schedule: { every: 1 }, args: [2, 3], options: { queue, expires: 60 }, external: true } },
    });
    worker = await startPythonWorker(REDIS_URL, queue, nodeName);
  }, 60_000);

  afterAll(async () => {
    await beat?.stop();
    await stopProcess(worker);
    await app?.close();
    await cleanupRedis(REDIS_URL, { queues: [queue], taskIds: sent.map((s) => s.taskId), nodeNames: [nodeName] });
    const redis = new Redis(REDIS_URL);
    await redis.del(`celeriac-lease-beat:${name}`, `celeriac-lease-beat:${name}:data`);
    await redis.quit();
  }, 30_000);

  it('the Python worker runs the periodic task beat sends, once per due time', async () => {
    beat = new Beat(app, { leaseTime: 5 });
    beat.on('sent', (e) => sent.push(e));
    await beat.start();
    await until(() => sent.length >= 3, 30_000, 50);
    await beat.stop();
    const results = await Promise.all(sent.map((s) => app.AsyncResult<number>(s.taskId).get({ timeout: 30_000 })));
    expect(results.every((r) => r === 5)).toBe(true);
    expect(new Set(sent.map((s) => s.runAt)).size).toBe(sent.length);
  }, 60_000);
});
