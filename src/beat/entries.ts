/** Reads the app's `beatSchedule` into checked entries; a bad entry is a ConfigError naming it and what to fix. */
import type { Celeriac } from '../app/celeriac.js';
import type { ApplyOptions } from '../app/task.js';
import { ConfigError } from '../errors.js';
import { checkTimezone, CronSchedule, IntervalSchedule, OnceSchedule, type Schedule } from './schedules.js';

type BeatTable = Celeriac['conf']['beatSchedule'];
type EntrySpec = BeatTable[string];

export interface BeatEntry {
  name: string;
  task: string;
  schedule: Schedule;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: ApplyOptions;
}

/** Edit distance (insert, delete, replace, swap of neighbours), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

function closest(name: string, known: readonly string[]): string | undefined {
  const scored = known.map((k) => ({ k, d: distance(name.toLowerCase(), k.toLowerCase()) })).sort((x, y) => x.d - y.d);
  const best = scored[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 4)) ? best.k : undefined;
}

function toSchedule(spec: EntrySpec['schedule'], timezone: string): Schedule {
  if (typeof spec === 'string') return new CronSchedule(spec, { timezone });
  if ('every' in spec) return new IntervalSchedule(spec.every);
  if ('at' in spec) {
    const at = spec.at instanceof Date ? spec.at.getTime() : typeof spec.at === 'number' ? spec.at : Date.parse(spec.at);
    if (!Number.isFinite(at)) throw new ConfigError(`{ at } must be a Date or an ISO time such as '2030-01-01T09:00:00Z', got ${JSON.stringify(spec.at)}`);
    return new OnceSchedule(at);
  }
  return new CronSchedule(spec.cron, { timezone: spec.timezone ?? timezone, dayAnd: spec.dayAnd });
}

/** One entry, checked: the schedule parses and the task is registered (unless `external: true`). */
export function buildEntry(app: Celeriac, name: string, spec: EntrySpec): BeatEntry {
  let schedule: Schedule;
  try {
    schedule = toSchedule(spec.schedule, app.conf.timezone);
  } catch (err) {
    throw new ConfigError(`beat entry '${name}': ${(err as Error).message}`, { cause: err });
  }
  if (!spec.external && !app.tasks.has(spec.task)) {
    const known = [...app.tasks.keys()].sort();
    const near = closest(spec.task, known);
    throw new ConfigError(
      `beat entry '${name}': unknown task '${spec.task}'.${near ? ` Did you mean '${near}'?` : ''} The app registers ${known.length ? known.join(', ') : 'no tasks (check -A)'}. ` +
        'Register it in the app, or set external: true in the entry when workers of another code base (e.g. Python Celery) run it.',
    );
  }
  const options: ApplyOptions = { ...(spec.options ?? {}) };
  return { name, task: spec.task, schedule, args: [...(spec.args ?? [])], kwargs: { ...(spec.kwargs ?? {}) }, options };
}

/** Every entry of `table` (default: the app's `beatSchedule`), checked at start-up. */
export function buildEntries(app: Celeriac, table: BeatTable = app.conf.beatSchedule): BeatEntry[] {
  try {
    checkTimezone(app.conf.timezone);
  } catch (err) {
    throw new ConfigError(`option 'timezone': ${(err as Error).message}`, { cause: err });
  }
  return Object.entries(table).map(([name, spec]) => buildEntry(app, name, spec));
}
