// Network partition between a worker and Redis (shared server, a key prefix of our own; the proxy is ours):
// the health check (healthCheckInterval) notices the silent loss, the worker reconnects after the heal, and
// every task completes, none run twice but those in flight during the partition (at-least-once).
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { partitionScenario } from './partition-scenario.js';

const keyPrefix = `celeriac-faults-${randomUUID().slice(0, 8)}:`;
const target = new URL(REDIS_URL);
const db = target.pathname.slice(1) || '0';
const PERIOD_S = 1;

afterAll(() => deleteKeys(keyPrefix));

describe('partition between worker and Redis', () => {
  for (const acksLate of [false, true]) {
    it(`is noticed within ~2 health-check periods, healed by reconnecting, nothing lost (acksLate ${acksLate})`, async () => {
      const report = await partitionScenario({
        viaProxy: (port) => `redis://127.0.0.1:${port}/${db}`,
        direct: REDIS_URL,
        target: { host: target.hostname, port: Number(target.port || 6379) },
        // A claim the partition delayed (sent before, run by Redis after the heal, its reply lost) holds its
        // messages until the visibility timeout, as in kombu: a short one brings them back within the test.
        brokerOptions: { keyPrefix, healthCheckInterval: PERIOD_S, visibilityTimeout: 15_000 },
        periodMs: PERIOD_S * 1000,
        acksLate,
      });
      console.log(`partition redis (acksLate ${acksLate}): noticed after ${report.noticedAfter} ms, lost ${report.lost.length}/${report.sent}, run twice ${report.twice.length}, back after the visibility timeout ${report.late}, reconnects through the proxy ${report.proxyConnections}\n${report.timeline.join('\n')}`);
      expect(report.lost).toEqual([]);
      expect(report.twiceBeforePartition).toEqual([]);
      // Two periods (the PING, then its deadline), ioredis's 2 s disconnect timeout, and room for a loaded machine.
      expect(report.noticedAfter).toBeLessThanOrEqual(2 * PERIOD_S * 1000 + 2000 + 1500);
      expect(report.stopHung.value).toBe(false);
      expect(report.logs.join('\n')).toMatch(/health-check PING/);
      expect(report.proxyConnections).toBeGreaterThan(0);
    }, 180_000);
  }
});
