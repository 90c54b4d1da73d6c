/**
 * `crontab({ minute, hour, dayOfWeek, dayOfMonth, monthOfYear })`: Celery's crontab() as a cron expression.
 * Fields default to '*'; each takes a number, a string ('*\/15', '1-5', 'mon-fri', 'thu', 'jan') or a list.
 * As in Celery, a restricted day of month and day of week must both match (classic cron matches either).
 */
import { ConfigError } from '../errors.js';
import { CronSchedule } from './schedules.js';

export type CrontabField = number | string | readonly (number | string)[];

export interface CrontabFields {
  minute?: CrontabField;
  hour?: CrontabField;
  /** 0 or 'sun' = Sunday … 6 or 'sat'; ranges 'mon-fri'. */
  dayOfWeek?: CrontabField;
  dayOfMonth?: CrontabField;
  monthOfYear?: CrontabField;
  /** IANA time zone for this entry (default: the app's `timezone`). */
  timezone?: string;
}

/** What crontab() returns: a plain value for `beatSchedule`, read by beat with Celery's semantics. */
export interface CrontabSpec {
  cron: string;
  dayAnd: true;
  timezone?: string;
}

const FIELDS = ['minute', 'hour', 'dayOfMonth', 'monthOfYear', 'dayOfWeek'] as const;

function fieldText(name: string, value: CrontabField | undefined): string {
  if (value === undefined) return '*';
  const parts = typeof value === 'number' || typeof value === 'string' ? [value] : value;
  if (parts.length === 0) throw new ConfigError(`crontab(): ${name} is an empty list; give at least one value or leave it out for '*'`);
  return parts
    .map((p) => {
      const text = String(p).trim().toLowerCase();
      if (!text || /\s/.test(text)) throw new ConfigError(`crontab(): ${name} has an invalid value ${JSON.stringify(p)}`);
      return text;
    })
    .join(',');
}

/** Builds and checks the expression now, so a bad field fails where it is written, naming the field. */
export function crontab(fields: CrontabFields = {}): CrontabSpec {
  const texts = FIELDS.map((f) => fieldText(f, fields[f]));
  const cron = texts.join(' ');
  for (const [i, f] of FIELDS.entries()) {
    const probe = FIELDS.map((_, j) => (j === i ? texts[j] : '*')).join(' ');
    try {
      new CronSchedule(probe);
    } catch {
      throw new ConfigError(`crontab(): invalid ${f} ${JSON.stringify(fields[f])} (${f === 'dayOfWeek' ? "0-6 or sun-sat, e.g. 'mon-fri'" : f === 'monthOfYear' ? "1-12 or jan-dec" : "numbers, ranges '1-5', steps '*/15' or lists"})`);
    }
  }
  new CronSchedule(cron, { dayAnd: true, timezone: fields.timezone });
  return fields.timezone ? { cron, dayAnd: true, timezone: fields.timezone } : { cron, dayAnd: true };
}
