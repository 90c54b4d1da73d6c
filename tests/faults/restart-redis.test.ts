// Fault: Redis restarted during a 10,000-task run, on a private redis-server with AOF on and fsync per write;
// broker and result store are that server. Restarts alternate a crash (SIGKILL) and a clean shutdown (SIGTERM),
// 1.5 s down each, spread over the run (FAULTS_RESTARTS, default 2; FAULTS_TASKS, default 10,000). Two worker
// processes and a producer process reconnect by themselves; every send whose promise resolved runs and its
// result is stored and right. Runs are counted: a duplicate is at-least-once's cost, a loss is a bug.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { tempDir } from '../helpers/temp.js';
import { row, startFleet, stopProcess, verify, type Fleet, type FleetOptions } from './restart-harness.js';

const TASKS = Number(process.env['FAULTS_TASKS'] ?? 10_000);
const RESTARTS = Number(process.env['FAULTS_RESTARTS'] ?? 2);

describe('fault: Redis restarts during a run', () => {
  const dir = tempDir('celeriac-faults-redis-');
  let redis: PrivateRedis | undefined;
  let fleet: Fleet | undefined;
  afterAll(async () => {
    await stopProcess(fleet?.producer);
    for (const w of fleet?.workers ?? []) await stopProcess(w);
    await redis?.stop();
    dir.remove();
  }, 60_000);

  it(`${TASKS} tasks, Redis killed or shut down and restarted ${RESTARTS} times: nothing acknowledged is lost`, async () => {
    const port = await freePort();
    redis = privateRedis(port, ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir.path]);
    await redis.start();
    const options: FleetOptions = { broker: redis.url, backend: redis.url, dir, tasks: TASKS };
    fleet = startFleet(options);
    for (let k = 1; k <= RESTARTS; k++) {
      await fleet.acked(Math.floor((TASKS * k) / (RESTARTS + 1)));
      await redis.stop(process.env['FAULTS_SIGNAL'] === 'SIGTERM' ? 'SIGTERM' : process.env['FAULTS_SIGNAL'] === 'SIGKILL' ? 'SIGKILL' : k % 2 === 1 ? 'SIGKILL' : 'SIGTERM');
      await new Promise((r) => setTimeout(r, 1500));
      await redis.start();
    }
    await fleet.producer.waitFor('"done":true', 120_000);
    const figures = await verify(fleet, options);
    console.log(row(`Redis 7 (AOF, appendfsync always; broker and results) restarted mid-run, alternately SIGKILL and SIGTERM, 1.5 s down; 2 worker processes (-c 8), 1 producer process`, `${RESTARTS} restarts in ${TASKS} tasks`, figures, `FAULTS_RESTARTS=${RESTARTS} npx vitest run tests/faults/restart-redis.test.ts`));
    if (figures.duplicates) console.log('ran twice or more (first 20):', figures.duplicateSample.join(', '));
    if (figures.lost.length) {
      // Where the lost ones are: still in kombu's unacked hash (a claim whose reply was lost), or nowhere.
      const r = new Redis(redis.url);
      const unacked = Object.values(await r.hgetall('unacked'));
      console.log('lost:', figures.lost.slice(0, 50).map((id) => `${id} (${unacked.some((v) => v.includes(id)) ? 'in unacked' : 'not in unacked'})`).join(', '));
      r.disconnect();
    }
    expect(figures.acknowledged).toBe(TASKS);
    expect(figures.lost).toEqual([]);
    expect(figures.wrong).toEqual([]);
    expect(figures.executions).toBeGreaterThanOrEqual(TASKS);
    // Each worker was connected when Redis went away, and said so.
    for (const w of fleet.workers) expect(w.output()).toContain('lost the connection to the broker');
  }, 240_000);
});
