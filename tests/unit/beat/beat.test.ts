// The Beat loop with a fake clock on the memory broker and backend: leadership, sends, restarts, hand-over, errors.
import { describe, expect, it } from 'vitest';
import { Beat, Celeriac, ConfigError, crontab, type CeleriacOptions, type SentEvent } from '../../../src/index.js';
import { KeyValueLeases } from '../../../src/backend/lease.js';
import { MemoryKeyValueStore } from '../../../src/backend/memory/index.js';

class FakeClock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const START = Date.parse('2026-01-01T00:00:00Z');

function makeApp(options: CeleriacOptions = {}): Celeriac {
  const app = new Celeriac('beat-unit', {
    broker: 'memory://',
    backend: 'memory://',
    beatSchedule: {
      'add-every-10s': { task: 'tasks.add', schedule: { every: 10 }, args: [2, 2], options: { queue: 'beat-q' } },
      'hourly': { task: 'tasks.add', schedule: '0 * * * *', args: [1, 1], kwargs: {}, options: { queue: 'beat-q' } },
    },
    ...options,
  });
  app.task('tasks.add', (x: number, y: number) => x + y);
  return app;
}

function collect(beat: Beat): SentEvent[] {
  const sent: SentEvent[] = [];
  beat.on('sent', (e) => sent.push(e));
  return sent;
}

async function queued(app: Celeriac, queue = 'beat-q'): Promise<number> {
  return (await (await app.connection()).queueInfo(queue)).messages;
}

describe('Beat (fake clock)', () => {
  it('leads alone, sends each due time once, and says how long to sleep', async () => {
    const app = makeApp();
    const clock = new FakeClock(START);
    const beat = new Beat(app, { clock });
    const sent = collect(beat);
    expect(await beat.tick()).toBe(10_000); // the interval entry is next, 10 s after it was first seen
    expect(beat.isLeader).toBe(true);
    clock.advance(9_999);
    expect(await beat.tick()).toBe(1);
    clock.advance(1);
    await beat.tick();
    await beat.tick(); // same time again: nothing more
    expect(sent.map((s) => [s.entry, s.runAt])).toEqual([['add-every-10s', START + 10_000]]);
    clock.advance(3_600_000 - 10_000);
    await beat.tick();
    expect(sent.map((s) => s.entry)).toEqual(['add-every-10s', 'add-every-10s', 'hourly']); // catch-up: one run, not 359
    expect(await queued(app)).toBe(3);
    await beat.stop();
    await app.close();
  });

  it('a second beat on the same store follows; after the leader stops it leads at once and repeats no run', async () => {
    const app = makeApp();
    const clock = new FakeClock(START);
    const a = new Beat(app, { clock, holder: 'a' });
    const b = new Beat(app, { clock, holder: 'b' });
    const sentA = collect(a);
    const sentB = collect(b);
    await a.tick();
    expect(await b.tick()).toBe(b.followerPollMs);
    clock.advance(10_000);
    await a.tick();
    await b.tick();
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    await a.stop(); // releases the lease
    await b.tick();
    expect(b.isLeader).toBe(true);
    clock.advance(5_000);
    await b.tick(); // 15 s: the 10 s run was a's; nothing due
    clock.advance(5_000);
    await b.tick();
    expect(sentA.map((s) => s.runAt)).toEqual([START + 10_000]);
    expect(sentB.map((s) => s.runAt)).toEqual([START + 20_000]);
    await b.stop();
    await app.close();
  });

  it('a restart keeps the last runs: nothing repeats, a missed run fires once', async () => {
    const app = makeApp();
    const clock = new FakeClock(START);
    const first = new Beat(app, { clock });
    const sent1 = collect(first);
    await first.tick();
    clock.advance(10_000);
    await first.tick();
    await first.stop();
    clock.advance(35_000); // down through three due times
    const second = new Beat(app, { clock });
    const sent2 = collect(second);
    await second.tick();
    await second.tick();
    expect(sent1.map((s) => s.runAt)).toEqual([START + 10_000]);
    expect(sent2.map((s) => s.runAt)).toEqual([START + 40_000]);
    await second.stop();
    await app.close();
  });

  it('a one-off entry fires once at its time and not again after a restart', async () => {
    const at = new Date(START + 5_000);
    const app = makeApp({ beatSchedule: { once: { task: 'tasks.add', schedule: { at }, args: [1, 2], options: { queue: 'beat-q' } } } });
    const clock = new FakeClock(START);
    const beat = new Beat(app, { clock });
    const sent = collect(beat);
    expect(await beat.tick()).toBe(5_000);
    clock.advance(5_000);
    await beat.tick();
    await beat.stop();
    const again = new Beat(app, { clock });
    const sentAgain = collect(again);
    clock.advance(60_000);
    await again.tick();
    expect(sent).toHaveLength(1);
    expect(sentAgain).toHaveLength(0);
    await again.stop();
    await app.close();
  });

  it('sends with the entry options: queue, kwargs, expires', async () => {
    const app = makeApp({
      beatSchedule: { e: { task: 'tasks.add', schedule: crontab({ minute: '*' }), args: [1], kwargs: { y: 2 }, options: { queue: 'beat-opt', expires: 30 } } },
    });
    const clock = new FakeClock(START + 30_000);
    const beat = new Beat(app, { clock });
    await beat.tick();
    clock.advance(30_000);
    await beat.tick();
    const transport = await app.connection();
    const got = await new Promise<{ body: unknown; expires: unknown }>((resolve) => {
      const consumer = transport.createConsumer({
        prefetch: 1,
        onMessage: (d) => {
          resolve({ body: JSON.parse(Buffer.from(d.message.body).toString()), expires: d.message.headers['expires'] });
          void d.ack().then(() => consumer.close());
        },
      });
      void consumer.consume('beat-opt');
    });
    expect(got.body).toEqual([[1], { y: 2 }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(typeof got.expires).toBe('string');
    await beat.stop();
    await app.close();
  });

  it("reads cron strings and crontab() in the app's timezone unless the entry names its own", () => {
    const app = makeApp({
      timezone: 'Asia/Shanghai',
      beatSchedule: {
        s: { task: 'tasks.add', schedule: '30 19 * * *' },
        c: { task: 'tasks.add', schedule: crontab({ minute: 30, hour: 19 }) },
        own: { task: 'tasks.add', schedule: crontab({ minute: 30, hour: 19, timezone: 'Europe/Berlin' }) },
      },
    });
    expect(new Beat(app).entries.map((e) => e.schedule.description)).toEqual([
      "cron '30 19 * * *' (Asia/Shanghai)",
      "cron '30 19 * * *' (Asia/Shanghai)",
      "cron '30 19 * * *' (Europe/Berlin)",
    ]);
  });

  it('start-up errors name the entry: unknown task (with a suggestion), bad cron, bad time zone', () => {
    expect(() => new Beat(makeApp({ beatSchedule: { typo: { task: 'tasks.ad', schedule: { every: 5 } } } }))).toThrow(
      /beat entry 'typo': unknown task 'tasks.ad'. Did you mean 'tasks.add'\?.*external: true/,
    );
    expect(() => new Beat(makeApp({ beatSchedule: { py: { task: 'proj.tasks.cleanup', schedule: { every: 5 }, external: true } } }))).not.toThrow();
    expect(() => new Beat(makeApp({ beatSchedule: { bad: { task: 'tasks.add', schedule: '99 * * * *' } } }))).toThrow(/beat entry 'bad': invalid cron expression '99/);
    expect(() => new Beat(makeApp({ beatSchedule: { tz: { task: 'tasks.add', schedule: { cron: '0 0 * * *', timezone: 'Nowhere/Land' } } } }))).toThrow(/beat entry 'tz': unknown time zone/);
    expect(() => new Beat(makeApp({ timezone: 'Not/AZone' }))).toThrow(ConfigError);
    expect(() => makeApp({ beatSchedule: { x: { task: 'tasks.add', schedule: { every: -1 } } } })).toThrow(/beatSchedule/);
  });
});

describe('lease over a key-value store', () => {
  it('one holder at a time; expiry frees it; renewal keeps it; release hands it over; writes are fenced', async () => {
    let now = 1_000;
    const leases = new KeyValueLeases(new MemoryKeyValueStore(), () => now);
    expect(await leases.acquire('l', 'a', 100)).toBe('acquired');
    expect(await leases.acquire('l', 'b', 100)).toBe(false);
    now += 50;
    expect(await leases.acquire('l', 'a', 100)).toBe('renewed');
    expect(await leases.write('l', 'a', { e: '1' })).toBe(true);
    expect(await leases.write('l', 'b', { e: '2' })).toBe(false);
    now += 101; // a missed its renewal
    expect(await leases.write('l', 'a', { e: '3' })).toBe(false);
    expect(await leases.acquire('l', 'b', 100)).toBe('acquired');
    expect(await leases.read('l')).toEqual({ e: '1' });
    await leases.release('l', 'a'); // not a's any more: no effect
    expect(await leases.acquire('l', 'a', 100)).toBe(false);
    await leases.release('l', 'b');
    expect(await leases.acquire('l', 'a', 100)).toBe('acquired');
    expect(await leases.read('l')).toEqual({ e: '1' }); // data outlives holders
  });
});
