/**
 * Beat schedules as pure functions of time, like Celery's `schedule.is_due(last_run_at)`: given the last
 * recorded run and now (ms since the epoch), whether the entry is due, what to record, and when to look again.
 *
 * Catch-up: however many due times passed while no beat ran, a due entry fires once (Celery's behaviour).
 */
import { Cron } from 'croner';
import { ConfigError } from '../errors.js';

export interface DueCheck {
  due: boolean;
  /** ms from now until the entry should be checked again (Infinity: never due again). */
  nextInMs: number;
  /** When due: the last-run time to record for this run. */
  runAt?: number;
}

export interface Schedule {
  /** Readable form for logs, e.g. `every 10 s` or `cron '30 2 * * *' (Europe/Berlin)`. */
  readonly description: string;
  /** The last run to record when beat first sees the entry (undefined: record nothing). */
  initialLastRun(now: number): number | undefined;
  isDue(lastRun: number | undefined, now: number): DueCheck;
}

/** Every `seconds`: due times stay on the grid lastRun + k·every, so late ticks do not drift. */
export class IntervalSchedule implements Schedule {
  readonly description: string;
  private readonly everyMs: number;

  constructor(seconds: number) {
    if (!Number.isFinite(seconds) || seconds <= 0) throw new ConfigError(`an interval schedule needs { every: seconds > 0 }, got ${String(seconds)}`);
    this.everyMs = seconds * 1000;
    this.description = `every ${seconds} s`;
  }

  initialLastRun(now: number): number {
    return now;
  }

  isDue(lastRun: number | undefined, now: number): DueCheck {
    const last = lastRun ?? now;
    const elapsed = now - last;
    // A last run in the future (clocks moved back): wait at most one interval.
    if (elapsed < this.everyMs) return { due: false, nextInMs: Math.min(this.everyMs, this.everyMs - elapsed) };
    const runAt = last + Math.floor(elapsed / this.everyMs) * this.everyMs;
    return { due: true, runAt, nextInMs: runAt + this.everyMs - now };
  }
}

export interface CronScheduleOptions {
  /** IANA time zone the fields are read in (default UTC). */
  timezone?: string;
  /** Day of month and day of week must both match (Celery's crontab); false: either (classic cron). */
  dayAnd?: boolean;
}

/** Checks an IANA time zone name; throws ConfigError saying what is accepted. */
export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ConfigError(`unknown time zone '${timezone}': use an IANA name such as 'UTC', 'Europe/Berlin' or 'Asia/Shanghai'`);
  }
}

/**
 * A cron expression (5 fields, or 6 with seconds first) through croner, in a time zone. Across DST: a
 * fixed time in the skipped hour (02:30 on spring-forward day) runs at the first valid time after the gap,
 * a fixed time in the repeated hour runs once; stepped fields (every 15 minutes) follow wall-clock time.
 */
export class CronSchedule implements Schedule {
  readonly description: string;
  private readonly cron: Cron;

  constructor(
    readonly expression: string,
    options: CronScheduleOptions = {},
  ) {
    const timezone = options.timezone ?? 'UTC';
    checkTimezone(timezone);
    try {
      this.cron = new Cron(expression, { timezone, mode: '5-or-6-parts', domAndDow: options.dayAnd ?? false });
    } catch (cause) {
      throw new ConfigError(
        `invalid cron expression '${expression}': ${(cause as Error).message.replace(/^CronPattern: /, '')}. Expected 5 fields 'minute hour day-of-month month day-of-week' (or 6 with seconds first), e.g. '*/15 * * * *'`,
        { cause },
      );
    }
    this.description = `cron '${expression}' (${timezone})`;
  }

  initialLastRun(now: number): number {
    return now;
  }

  /** The first run strictly after `time`, in ms, or undefined when the expression never matches again. */
  nextAfter(time: number): number | undefined {
    return this.cron.nextRun(new Date(time))?.getTime();
  }

  isDue(lastRun: number | undefined, now: number): DueCheck {
    const next = this.nextAfter(lastRun ?? now);
    if (next === undefined) return { due: false, nextInMs: Infinity };
    if (next > now) return { due: false, nextInMs: next - now };
    // Due (once, however many due times passed): record now, so every due time up to now counts as done.
    const after = this.nextAfter(now);
    return { due: true, runAt: now, nextInMs: after === undefined ? Infinity : after - now };
  }
}

/** Once at a time; fires late (once) if beat was not running then, never again after it fired. */
export class OnceSchedule implements Schedule {
  readonly description: string;

  constructor(readonly at: number) {
    if (!Number.isFinite(at)) throw new ConfigError('a one-off schedule needs { at: Date } (or an ISO time string)');
    this.description = `once at ${new Date(at).toISOString()}`;
  }

  initialLastRun(): undefined {
    return undefined;
  }

  isDue(lastRun: number | undefined, now: number): DueCheck {
    if (lastRun !== undefined && lastRun >= this.at) return { due: false, nextInMs: Infinity };
    if (now < this.at) return { due: false, nextInMs: this.at - now };
    return { due: true, runAt: Math.max(now, this.at), nextInMs: Infinity };
  }
}
