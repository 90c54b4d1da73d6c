// Network partition between a worker and RabbitMQ (shared server, a vhost of our own; the proxy is ours): the
// AMQP heartbeat notices the silent loss (amqplib gives up after two missed periods), the worker reconnects after
// the heal, and every task completes; only tasks in flight during the partition may run twice (at-least-once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { partitionScenario } from './partition-scenario.js';

const HEARTBEAT_S = 1;
let vhost: Vhost;

beforeAll(async () => {
  vhost = await createVhost();
}, 120_000);
afterAll(() => vhost?.remove(), 120_000);

describe('partition between worker and RabbitMQ', () => {
  for (const acksLate of [false, true]) {
    it(`is noticed within ~3 heartbeats, healed by reconnecting, nothing lost (acksLate ${acksLate})`, async () => {
      const direct = new URL(vhost.url);
      const report = await partitionScenario({
        viaProxy: (port) => {
          const u = new URL(vhost.url);
          u.host = `127.0.0.1:${port}`;
          return u.toString();
        },
        direct: vhost.url,
        target: { host: direct.hostname, port: Number(direct.port || 5672) },
        brokerOptions: { heartbeat: HEARTBEAT_S },
        periodMs: HEARTBEAT_S * 1000,
        acksLate,
      });
      console.log(`partition amqp (acksLate ${acksLate}): noticed after ${report.noticedAfter} ms, lost ${report.lost.length}/${report.sent}, run twice ${report.twice.length} (${report.twiceBeforePartition.length} finished before it), reconnects through the proxy ${report.proxyConnections}\n${report.timeline.join('\n')}`);
      expect(report.lost).toEqual([]);
      expect(report.twiceBeforePartition).toEqual([]);
      // amqplib checks once a period and gives up after two missed ones: at most three periods, plus room for a loaded machine.
      expect(report.noticedAfter).toBeLessThanOrEqual(3 * HEARTBEAT_S * 1000 + 1500);
      expect(report.logs.join('\n')).toMatch(/Heartbeat timeout|lost the connection/);
      expect(report.proxyConnections).toBeGreaterThan(0);
      expect(report.stopHung.value).toBe(false);
    }, 180_000);
  }
});
