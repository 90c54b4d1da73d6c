// `celeriac beat` as real processes: three beats on one store (SQLite file, Redis), the leader killed with
// SIGKILL and another taking over within the lease time, no due time sent twice; restarts keep the last
// run (--schedule FILE); SIGTERM releases the lease; `worker -B`; start-up errors exit 2.
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.js';
import { ROOT, spawnCli, type Spawned } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/redis.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const BEAT_APP = `${ROOT}tests/fixtures/apps/beat-tasks.ts`;
const LEASE_S = 3;
/** A follower tries the lease every min(lease/4, 1 s). */
const POLL_MS = Math.min((LEASE_S * 1000) / 4, 1000);

interface Send {
  id: string;
  due: number;
}

function sends(b: Spawned): Send[] {
  return [...b.output().matchAll(/Sending due task tick \(tasks\.record\) id (\S+) due (\S+Z)/g)].map((m) => ({ id: m[1] as string, due: Date.parse(m[2] as string) }));
}

const isLeader = (b: Spawned): boolean => b.output().includes('leader now');

describe('celeriac beat processes', () => {
  let dir: TempDir;
  let name: string;
  const children: Spawned[] = [];

  beforeEach(() => {
    dir = tempDir('celeriac-beat-');
    name = `beat-${randomUUID().slice(0, 8)}`;
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await c.exited;
    }
    dir.remove();
  });

  function beat(url: string, args: string[] = [], env: Record<string, string> = {}): Spawned {
    const b = spawnCli(['beat', '-A', BEAT_APP, '-l', 'info', '--log-format', 'json', ...args], {
      CELERIAC_BROKER_URL: url,
      CELERIAC_RESULT_BACKEND: url,
      BEAT_APP_NAME: name,
      BEAT_QUEUE: name,
      ...env,
    });
    children.push(b);
    return b;
  }

  async function queued(url: string): Promise<number> {
    const app = new Celeriac('counter', { broker: url, backend: url });
    try {
      return (await (await app.connection()).queueInfo(name)).messages;
    } finally {
      await app.close();
    }
  }

  /** Three beats; SIGKILL the leader, then SIGTERM the next; returns every send and the two take-over times. */
  async function threeBeats(url: string): Promise<void> {
    const beats = [0, 1, 2].map(() => beat(url, ['--lease-time', String(LEASE_S)]));
    await Promise.all(beats.map((b) => b.waitFor('started.', 30_000)));
    await until(() => beats.filter(isLeader).length === 1, 20_000, 50);
    const first = beats.find(isLeader) as Spawned;
    await until(() => sends(first).length >= 3, 20_000, 50);

    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    const rest = beats.filter((b) => b !== first);
    await until(() => rest.some(isLeader), 20_000, 20);
    const takeoverMs = Date.now() - killedAt;
    const second = rest.find(isLeader) as Spawned;
    const third = rest.find((b) => b !== second) as Spawned;
    await until(() => sends(second).length >= 3, 20_000, 50);

    second.child.kill('SIGTERM');
    const stoppedAt = Date.now();
    await until(() => isLeader(third), 20_000, 20);
    const handoverMs = Date.now() - stoppedAt;
    expect(await second.exited).toBe(0);
    await until(() => sends(third).length >= 2, 20_000, 50);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);

    // Within the lease time (plus one follower poll and process scheduling) after a kill -9 ...
    expect(takeoverMs).toBeLessThan(LEASE_S * 1000 + POLL_MS + 2500);
    // ... and well inside it after a graceful stop, which releases the lease.
    expect(handoverMs).toBeLessThan(LEASE_S * 1000);

    const all = beats.flatMap(sends);
    const dues = all.map((s) => s.due).sort((a, b) => a - b);
    expect(new Set(dues).size).toBe(dues.length); // no due time sent twice
    expect(all.length).toBe(sends(first).length + sends(second).length + sends(third).length);
    expect(await queued(url)).toBe(all.length); // and every logged send is one message
    for (let i = 1; i < dues.length; i++) {
      const gap = (dues[i] as number) - (dues[i - 1] as number);
      expect(gap % 1000).toBe(0); // on the 1 s grid the first leader started
      expect(gap).toBeLessThanOrEqual(LEASE_S * 1000 + POLL_MS + 3000); // missed times while nobody led collapse into one run
    }
  }

  it('three beats on one SQLite file: one leader; kill -9 it, another leads within the lease time; nothing sent twice', async () => {
    await threeBeats(`sqlite://${dir.file('beat.db')}`);
  }, 120_000);

  it('three beats on Redis: the same, with the lease as a Redis key with expiry', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      await threeBeats(REDIS_URL);
      expect(await redis.exists(`celeriac-lease-beat:${name}`)).toBe(0); // released by the last SIGTERM
      expect(await redis.hget(`celeriac-lease-beat:${name}:data`, 'tick')).toMatch(/^\d+$/);
    } finally {
      await redis.del(name, `_kombu.binding.${name}`, `celeriac-lease-beat:${name}`, `celeriac-lease-beat:${name}:data`);
      await redis.quit();
    }
  }, 120_000);

  it('a restart with --schedule FILE neither repeats nor forgets: a run missed while down fires once', async () => {
    const url = `sqlite://${dir.file('beat.db')}`;
    const file = dir.file('schedule.json');
    const env = { BEAT_EVERY: '2' };
    const before = beat(url, ['--schedule', file], env);
    await until(() => sends(before).length >= 2, 30_000, 50);
    before.child.kill('SIGTERM');
    expect(await before.exited).toBe(0);
    const last = (sends(before).at(-1) as Send).due;
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ lastRun: { tick: last } });

    // Down for more than two periods.
    await until(() => Date.now() > last + 5_000, 10_000, 100);
    const after = beat(url, ['--schedule', file], env);
    await until(() => sends(after).length >= 2, 30_000, 50);
    after.child.kill('SIGTERM');
    expect(await after.exited).toBe(0);
    const [catchUp, next] = sends(after) as [Send, Send];
    expect(catchUp.due).toBeGreaterThanOrEqual(last + 4_000); // the latest missed time, once
    expect((catchUp.due - last) % 2000).toBe(0);
    expect(next.due).toBe(catchUp.due + 2000);
    expect(await queued(url)).toBe(sends(before).length + sends(after).length);
  }, 120_000);

  it('worker -B runs beat inside the worker: the periodic task is sent and executed; SIGTERM stops both', async () => {
    const url = `sqlite://${dir.file('beat.db')}`;
    const record = dir.file('runs.log');
    const w = spawnCli(['worker', '-A', BEAT_APP, '-B', '-Q', name, '-c', '2', '-l', 'info', '--log-format', 'json'], {
      CELERIAC_BROKER_URL: url,
      CELERIAC_RESULT_BACKEND: url,
      BEAT_APP_NAME: name,
      BEAT_QUEUE: name,
      RECORD_FILE: record,
    });
    children.push(w);
    await until(() => existsSync(record) && readFileSync(record, 'utf8').split('\n').filter(Boolean).length >= 2, 30_000, 50);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.output()).toMatch(/lease beat:\S+ released/);
  }, 60_000);

  it('an unknown task or an invalid cron string stops beat at start-up with exit 2, naming the entry', async () => {
    const url = `sqlite://${dir.file('beat.db')}`;
    const unknown = beat(url, [], { BEAT_BAD: 'task' });
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain("beat entry 'broken': unknown task 'tasks.recrod'. Did you mean 'tasks.record'?");
    const cron = beat(url, [], { BEAT_BAD: 'cron' });
    expect(await cron.exited).toBe(2);
    expect(cron.output()).toMatch(/beat entry 'broken': invalid cron expression '0 25 \* \* \*'/);
    const flag = beat(url, ['--max-interval', 'soon']);
    expect(await flag.exited).toBe(2);
    expect(flag.output()).toContain('--max-interval expects a number');
  }, 60_000);
});
