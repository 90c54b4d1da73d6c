// Fault: RabbitMQ restarted during a 10,000-task run, on a private node (never the shared one): a clean stop
// (`rabbitmqctl stop`) and a start, about 10 s down each time (FAULTS_RESTARTS, default 1; FAULTS_TASKS,
// default 10,000). Durable queue, persistent messages, publisher confirms; results in a private Redis that stays
// up. Two worker processes and a producer process reconnect by themselves; every send whose promise resolved
// runs and its result is stored and right. Runs are counted: a duplicate is at-least-once's cost, a loss a bug.
import { afterAll, describe, expect, it } from 'vitest';
import { privateRabbit, type PrivateRabbit } from '../helpers/rabbitmq-server.js';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { tempDir } from '../helpers/temp.js';
import { row, startFleet, stopProcess, verify, type Fleet, type FleetOptions } from './restart-harness.js';

const TASKS = Number(process.env['FAULTS_TASKS'] ?? 10_000);
const RESTARTS = Number(process.env['FAULTS_RESTARTS'] ?? 1);

describe('fault: RabbitMQ restarts during a run', () => {
  const dir = tempDir('celeriac-faults-amqp-');
  let rabbit: PrivateRabbit | undefined;
  let results: PrivateRedis | undefined;
  let fleet: Fleet | undefined;
  afterAll(async () => {
    await stopProcess(fleet?.producer);
    for (const w of fleet?.workers ?? []) await stopProcess(w);
    await rabbit?.remove();
    await results?.stop();
    dir.remove();
  }, 120_000);

  it(`${TASKS} tasks, RabbitMQ stopped and started ${RESTARTS} time(s): nothing acknowledged is lost`, async () => {
    rabbit = await privateRabbit();
    results = privateRedis(await freePort());
    await Promise.all([rabbit.start(), results.start()]);
    const options: FleetOptions = { broker: rabbit.url, backend: results.url, dir, tasks: TASKS };
    fleet = startFleet(options);
    for (let k = 1; k <= RESTARTS; k++) {
      await fleet.acked(Math.floor((TASKS * k) / (RESTARTS + 1)));
      await rabbit.stop();
      await rabbit.start();
    }
    await fleet.producer.waitFor('"done":true', 120_000);
    const figures = await verify(fleet, options);
    console.log(row('RabbitMQ 3.10 (private node) stopped and started mid-run, ~10 s down; durable queue, persistent messages, publisher confirms; 2 worker processes (-c 8), 1 producer process; results in Redis', `${RESTARTS} restart(s) in ${TASKS} tasks`, figures, `FAULTS_RESTARTS=${RESTARTS} npx vitest run tests/faults/restart-amqp.test.ts`));
    expect(figures.acknowledged).toBe(TASKS);
    expect(figures.lost).toEqual([]);
    expect(figures.wrong).toEqual([]);
    expect(figures.executions).toBeGreaterThanOrEqual(TASKS);
    // Only a task running at the loss (its early ack in flight) may run again: at most a worker slot's worth per
    // restart. Prefetched messages RabbitMQ took back are not run (Delivery.gone); before, 140 ran twice.
    expect(figures.duplicates).toBeLessThanOrEqual(2 * 8 * RESTARTS);
    // Each worker was connected when RabbitMQ went away, and said so.
    for (const w of fleet.workers) expect(w.output()).toContain('lost the connection to RabbitMQ');
  }, 300_000);
});
