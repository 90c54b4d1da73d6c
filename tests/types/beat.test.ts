// Type-level checks of beat's public surface: the README's beatSchedule compiles, wrong shapes do not.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Beat, Celeriac, crontab, type BeatEntrySpec, type CrontabSpec, type SentEvent } from '../../src/index.js';

describe('beat API types', () => {
  it("accepts every schedule form of the README in beatSchedule, and crontab() output fits it", () => {
    const app = new Celeriac('types-beat', {
      broker: 'memory://',
      backend: 'memory://',
      timezone: 'Asia/Shanghai',
      beatSchedule: {
        a: { task: 'tasks.add', schedule: { every: 10 }, args: [2, 2] },
        b: { task: 'tasks.add', schedule: crontab({ minute: 30, hour: 19, dayOfWeek: 'thu' }) },
        c: { task: 'tasks.add', schedule: '*/5 * * * *', options: { queue: 'q', expires: 240 } },
        d: { task: 'tasks.add', schedule: { at: new Date('2027-01-01T00:00:00Z') } },
        e: { task: 'proj.cleanup', schedule: { cron: '0 3 * * *', timezone: 'Europe/Berlin' }, external: true },
      },
    });
    app.task('tasks.add', (x: number, y: number) => x + y);
    expectTypeOf(crontab({ minute: '*/15' })).toEqualTypeOf<CrontabSpec>();
    expectTypeOf<CrontabSpec>().toMatchTypeOf<BeatEntrySpec['schedule']>();
    const beat = new Beat(app, { maxInterval: 5 });
    beat.on('sent', (e) => expectTypeOf(e).toEqualTypeOf<SentEvent>());
    expect(beat.entries.map((e) => e.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('rejects unknown entry fields and option names at compile time (and at run time)', () => {
    expect(() => new Celeriac('types-beat-bad', {
      // @ts-expect-error: 'every' must be a number of seconds
      beatSchedule: { a: { task: 'tasks.add', schedule: { every: '10' } } },
    })).toThrow(/beatSchedule/);
    expect(() => new Celeriac('types-beat-bad', {
      // @ts-expect-error: options has no 'queu'
      beatSchedule: { a: { task: 'tasks.add', schedule: { every: 10 }, options: { queu: 'x' } } },
    })).toThrow(/beatSchedule/);
  });
});
