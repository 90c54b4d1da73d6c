// Beat schedules as pure functions of time: intervals, crontab and cron strings in time zones (DST), one-off.
import { describe, expect, it } from 'vitest';
import { CronSchedule, IntervalSchedule, OnceSchedule, crontab, ConfigError, type Schedule } from '../../../src/index.js';

const T = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** Walks a schedule with a fake clock from `start` to `end`, checking every `stepMs`; returns the recorded run times. */
function runs(schedule: Schedule, start: number, end: number, stepMs: number): string[] {
  let last = schedule.initialLastRun(start);
  const out: string[] = [];
  for (let now = start; now <= end; now += stepMs) {
    const check = schedule.isDue(last, now);
    if (check.due) {
      last = check.runAt;
      out.push(iso(now) as string);
    }
    expect(check.nextInMs).toBeGreaterThanOrEqual(0);
  }
  return out;
}

describe('interval schedule', () => {
  const every10 = new IntervalSchedule(10);

  it('is due every N seconds after the first sighting, with the wait until the next check', () => {
    const start = T('2026-01-01T00:00:00Z');
    expect(every10.initialLastRun(start)).toBe(start);
    expect(every10.isDue(start, start + 4_000)).toEqual({ due: false, nextInMs: 6_000 });
    expect(every10.isDue(start, start + 10_000)).toEqual({ due: true, runAt: start + 10_000, nextInMs: 10_000 });
  });

  it('stays on its grid when checked late (no drift) and fires once after downtime, not once per missed time', () => {
    const start = T('2026-01-01T00:00:00Z');
    expect(every10.isDue(start, start + 10_250)).toEqual({ due: true, runAt: start + 10_000, nextInMs: 9_750 });
    // Beat was down for 95 s: one run, recorded at the latest due time.
    expect(every10.isDue(start, start + 95_000)).toEqual({ due: true, runAt: start + 90_000, nextInMs: 5_000 });
  });

  it('waits at most one interval when the recorded run is in the future (clock moved back)', () => {
    const now = T('2026-01-01T00:00:00Z');
    expect(every10.isDue(now + 60_000, now)).toEqual({ due: false, nextInMs: 10_000 });
  });

  it('fires 6 times a minute under a fake clock ticking every second', () => {
    expect(runs(every10, T('2026-01-01T00:00:00Z'), T('2026-01-01T00:01:00Z'), 1000)).toHaveLength(6);
  });

  it('rejects a non-positive interval', () => {
    expect(() => new IntervalSchedule(0)).toThrow(ConfigError);
  });
});

describe('crontab and cron strings', () => {
  it("crontab({ minute: 30, hour: 19, dayOfWeek: 'thu' }) fires on Thursdays at 19:30", () => {
    const spec = crontab({ minute: 30, hour: 19, dayOfWeek: 'thu' });
    expect(spec).toEqual({ cron: '30 19 * * thu', dayAnd: true });
    const s = new CronSchedule(spec.cron, { dayAnd: true });
    expect(iso(s.nextAfter(T('2026-01-01T00:00:00Z')))).toBe('2026-01-01T19:30:00.000Z'); // a Thursday
    expect(iso(s.nextAfter(T('2026-01-01T19:30:00Z')))).toBe('2026-01-08T19:30:00.000Z');
  });

  it('builds fields from steps, ranges, lists and names', () => {
    expect(crontab({ minute: '*/15' }).cron).toBe('*/15 * * * *');
    expect(crontab({ minute: 0, hour: [9, 17], dayOfWeek: '1-5' }).cron).toBe('0 9,17 * * 1-5');
    expect(crontab({ minute: 0, hour: 0, dayOfMonth: 1, monthOfYear: 'jan' }).cron).toBe('0 0 1 jan *');
  });

  it("as Celery, crontab() needs day of month AND day of week; a cron string matches either (classic cron)", () => {
    const celery = new CronSchedule(crontab({ minute: 0, hour: 0, dayOfMonth: 13, dayOfWeek: 'fri' }).cron, { dayAnd: true });
    expect(iso(celery.nextAfter(T('2026-01-01T00:00:00Z')))).toBe('2026-02-13T00:00:00.000Z'); // Friday the 13th
    const classic = new CronSchedule('0 0 13 * fri');
    expect(iso(classic.nextAfter(T('2026-01-01T00:00:00Z')))).toBe('2026-01-02T00:00:00.000Z'); // the first Friday
  });

  it('reads the fields in the time zone given', () => {
    const shanghai = new CronSchedule('30 19 * * *', { timezone: 'Asia/Shanghai' });
    expect(iso(shanghai.nextAfter(T('2026-06-01T00:00:00Z')))).toBe('2026-06-01T11:30:00.000Z');
    expect(shanghai.description).toBe("cron '30 19 * * *' (Asia/Shanghai)");
  });

  it('is due once when the time passed, then waits for the next one; a long downtime still gives one run', () => {
    const s = new CronSchedule('0 * * * *');
    const last = T('2026-01-01T10:00:00Z');
    expect(s.isDue(last, T('2026-01-01T10:59:00Z'))).toEqual({ due: false, nextInMs: 60_000 });
    expect(s.isDue(last, T('2026-01-01T11:00:02Z'))).toEqual({ due: true, runAt: T('2026-01-01T11:00:02Z'), nextInMs: 3_598_000 });
    const afterDowntime = s.isDue(last, T('2026-01-03T07:30:00Z'));
    expect(afterDowntime).toEqual({ due: true, runAt: T('2026-01-03T07:30:00Z'), nextInMs: 30 * 60_000 });
    expect(s.isDue(afterDowntime.runAt, T('2026-01-03T07:31:00Z')).due).toBe(false);
  });

  it('a daily 02:30 job in America/New_York runs once on the spring-forward day, at 03:00 (02:30 does not exist)', () => {
    const s = new CronSchedule('30 2 * * *', { timezone: 'America/New_York' });
    // 2026-03-08: clocks jump from 02:00 EST to 03:00 EDT.
    expect(runs(s, T('2026-03-06T12:00:00Z'), T('2026-03-10T12:00:00Z'), 60_000)).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT, the first valid time after the gap
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
      '2026-03-10T06:30:00.000Z',
    ]);
  });

  it('a daily 01:30 job in America/New_York runs once on the fall-back day although 01:30 happens twice', () => {
    const s = new CronSchedule('30 1 * * *', { timezone: 'America/New_York' });
    // 2026-11-01: clocks fall back from 02:00 EDT to 01:00 EST.
    expect(runs(s, T('2026-10-31T12:00:00Z'), T('2026-11-02T12:00:00Z'), 60_000)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; not again at 01:30 EST (06:30Z)
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('a 02:30 job in Europe/Berlin across both 2026 changes (29 March, 25 October)', () => {
    const s = new CronSchedule('30 2 * * *', { timezone: 'Europe/Berlin' });
    expect(runs(s, T('2026-03-28T12:00:00Z'), T('2026-03-30T12:00:00Z'), 60_000)).toEqual(['2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(runs(s, T('2026-10-24T12:00:00Z'), T('2026-10-26T12:00:00Z'), 60_000)).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('an every-15-minutes job follows wall-clock time through the repeated hour', () => {
    const s = new CronSchedule('*/15 1 * * *', { timezone: 'America/New_York' });
    expect(runs(s, T('2026-11-01T04:59:00Z'), T('2026-11-01T07:00:00Z'), 60_000)).toHaveLength(8);
  });

  it('invalid cron strings, fields and time zones fail with a clear ConfigError', () => {
    expect(() => new CronSchedule('61 * * * *')).toThrow(/invalid cron expression '61 \* \* \* \*'.*minute.*Expected 5 fields/);
    expect(() => new CronSchedule('every day')).toThrow(ConfigError);
    expect(() => new CronSchedule('* * * * *', { timezone: 'Mars/Base' })).toThrow(/unknown time zone 'Mars\/Base'.*IANA/);
    expect(() => crontab({ dayOfWeek: 'funday' })).toThrow(/crontab\(\): invalid dayOfWeek "funday"/);
    expect(() => crontab({ hour: 24 })).toThrow(/invalid hour 24/);
    expect(() => crontab({ minute: [] })).toThrow(/minute is an empty list/);
  });
});

describe('one-off schedule', () => {
  const at = T('2026-05-01T09:00:00Z');
  const once = new OnceSchedule(at);

  it('waits until its time, fires once, then never again', () => {
    expect(once.initialLastRun()).toBeUndefined();
    expect(once.isDue(undefined, at - 5_000)).toEqual({ due: false, nextInMs: 5_000 });
    const check = once.isDue(undefined, at + 20);
    expect(check).toEqual({ due: true, runAt: at + 20, nextInMs: Infinity });
    expect(once.isDue(check.runAt, at + 60_000)).toEqual({ due: false, nextInMs: Infinity });
  });

  it('fires late, once, when beat was not running at its time', () => {
    expect(once.isDue(undefined, at + 86_400_000).due).toBe(true);
  });
});
