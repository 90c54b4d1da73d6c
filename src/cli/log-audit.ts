/**
 * Reading worker logs for `celeriac logtool` (Celery's logtool Audit), pure: lines in, task records out. Three
 * line formats, mixed freely (a fleet of celeriac and Python workers):
 *
 *   pino JSON   {"level":30,"time":1700000000000,"pid":1,"msg":"Task tasks.add[id] received"}   (err.stack: the trace)
 *   pretty      [16:41:57.615] INFO: Task tasks.add[id] succeeded in 0.001s: 4                  (indented lines follow)
 *   Celery      [2024-01-02 16:41:57,615: ERROR/MainProcess] Task tasks.add[id] raised unexpected: ValueError('x')
 *               Traceback (most recent call last): ...                                          (every line until the next record)
 */

export type TaskOutcome = 'succeeded' | 'failed' | 'revoked' | 'retried' | 'requeued';

export interface LogRecord {
  format: 'json' | 'pretty' | 'celery';
  level: string;
  msg: string;
  /** The record's first line, as it is in the file. */
  line: string;
  /** The first line for people: JSON records as `[ISO time] LEVEL: msg`. */
  head: string;
  /** Stack trace or other lines that belong to the record. */
  trace: string[];
}

export interface TaskCounts {
  total: number;
  errors: number;
  succeeded: number;
  completed: number;
  retried: number;
  revoked: number;
  /** Tasks received, by name, most first. */
  types: [string, number][];
  /** Runtime of succeeded tasks by name: [count, total seconds, max seconds]. */
  runtimes: Record<string, { count: number; avg: number; max: number }>;
}

const ANSI = /\x1b\[[0-9;]*m/g;
const CELERY = /^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d+)?): ([A-Z]+)\/[^\]]*\] ?(.*)$/;
const PRETTY = /^\[([^\]]+)\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL|USERLVL)(?: \([^)]*\))?: ?(.*)$/;
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

const TASK = String.raw`([^\s\[\]]+)\[([^\]]+)\]`;
const RECEIVED = [new RegExp(`^Task ${TASK} received`), new RegExp(`^Received task: ${TASK}`)];
const OUTCOMES: [RegExp, TaskOutcome][] = [
  [new RegExp(`^Task ${TASK} succeeded in ([\\d.]+)s`), 'succeeded'],
  [new RegExp(`^Task ${TASK} raised unexpected`), 'failed'],
  [new RegExp(`^Task ${TASK} retry`), 'retried'],
  [new RegExp(`^Task ${TASK} (?:terminated|expired)`), 'revoked'],
  [new RegExp(`^Discarding revoked task: ${TASK}`), 'revoked'],
  [new RegExp(`^Task ${TASK}: .*handed back to the queue`), 'requeued'],
];
const UNREGISTERED = /^Received unregistered task of type "?([^"\s]+)"? \[([^\]]+)\]/;

/** Parses one line: a new record, or undefined for a line that continues the previous one. */
export function parseLine(raw: string): LogRecord | undefined {
  const line = raw.replace(ANSI, '').replace(/\r$/, '');
  if (line.startsWith('{')) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o['msg'] === 'string' || typeof o['message'] === 'string') {
        const level = typeof o['level'] === 'number' ? (LEVELS[o['level']] ?? String(o['level'])) : String(o['level'] ?? 'INFO').toUpperCase();
        const err = o['err'] as { stack?: unknown } | undefined;
        const stack = typeof err?.stack === 'string' ? err.stack : typeof o['stack'] === 'string' ? o['stack'] : undefined;
        const msg = String(o['msg'] ?? o['message']);
        const time = typeof o['time'] === 'number' ? new Date(o['time']).toISOString() : String(o['time'] ?? '');
        return { format: 'json', level, msg, line: raw, head: `[${time}] ${level}: ${msg}`, trace: stack ? stack.split('\n') : [] };
      }
    } catch {
      // not JSON after all: a continuation line
    }
  }
  const c = CELERY.exec(line);
  if (c) return { format: 'celery', level: c[2] === 'WARNING' ? 'WARN' : (c[2] as string), msg: c[3] as string, line: raw, head: line, trace: [] };
  const p = PRETTY.exec(line);
  if (p) return { format: 'pretty', level: p[2] as string, msg: p[3] as string, line: raw, head: line, trace: [] };
  return undefined;
}

/** What a record says about a task, if anything. */
export function taskEvent(msg: string): { kind: 'received' | TaskOutcome; name: string; id: string; runtime?: number } | undefined {
  for (const re of RECEIVED) {
    const m = re.exec(msg);
    if (m) return { kind: 'received', name: m[1] as string, id: m[2] as string };
  }
  const u = UNREGISTERED.exec(msg);
  if (u) return { kind: 'failed', name: u[1] as string, id: u[2] as string };
  for (const [re, kind] of OUTCOMES) {
    const m = re.exec(msg);
    if (m) return { kind, name: m[1] as string, id: m[2] as string, ...(m[3] ? { runtime: Number(m[3]) } : {}) };
  }
  return undefined;
}

export interface AuditHooks {
  /** A task that ended other than in success (failed, revoked, unregistered). */
  onError?(record: LogRecord): void;
  /** A record with a stack trace (or Celery's Traceback lines), once complete. */
  onTrace?(record: LogRecord): void;
}

/** Celery's Audit: feed lines (of one or many files), then read the counts and the incomplete tasks. */
export class LogAudit {
  private readonly received = new Map<string, string>();
  private readonly ready = new Set<string>();
  private readonly types = new Map<string, number>();
  private readonly runtimes = new Map<string, { count: number; total: number; max: number }>();
  private readonly counts = { errors: 0, succeeded: 0, retried: 0, revoked: 0 };
  private current: LogRecord | undefined;

  constructor(private readonly hooks: AuditHooks = {}) {}

  feed(raw: string): void {
    const record = parseLine(raw);
    if (!record) {
      const cur = this.current;
      // Celery's tracebacks run to the next record; pretty objects (err: {...}) are indented; JSON records take none.
      if (cur && (cur.format === 'celery' || (cur.format === 'pretty' && /^\s/.test(raw))) && raw.trim()) cur.trace.push(raw.replace(ANSI, '').replace(/\r$/, ''));
      return;
    }
    this.flush();
    this.current = record;
    const ev = taskEvent(record.msg);
    if (!ev) return;
    if (ev.kind === 'received') {
      if (!this.received.has(ev.id)) this.types.set(ev.name, (this.types.get(ev.name) ?? 0) + 1);
      this.received.set(ev.id, ev.name);
      this.ready.delete(ev.id); // received again (a retry): not complete until it ends again
      return;
    }
    if (ev.kind === 'retried') this.counts.retried++;
    if (ev.kind === 'retried' || ev.kind === 'requeued') return;
    if (!this.received.has(ev.id)) {
      this.received.set(ev.id, ev.name);
      this.types.set(ev.name, (this.types.get(ev.name) ?? 0) + 1);
    }
    this.ready.add(ev.id);
    if (ev.kind === 'succeeded') {
      this.counts.succeeded++;
      const r = this.runtimes.get(ev.name) ?? { count: 0, total: 0, max: 0 };
      const t = ev.runtime ?? 0;
      this.runtimes.set(ev.name, { count: r.count + 1, total: r.total + t, max: Math.max(r.max, t) });
    } else {
      this.counts.errors++;
      if (ev.kind === 'revoked') this.counts.revoked++;
      this.hooks.onError?.(record);
    }
  }

  /** Ends the input: the last record's trace is complete. */
  end(): this {
    this.flush();
    this.current = undefined;
    return this;
  }

  private flush(): void {
    const cur = this.current;
    if (cur && cur.trace.length) this.hooks.onTrace?.(cur);
  }

  /** Ids received and never seen ending, in the order received (Celery's incomplete_tasks). */
  incomplete(): string[] {
    return [...this.received.keys()].filter((id) => !this.ready.has(id));
  }

  report(): TaskCounts {
    return {
      total: this.received.size,
      errors: this.counts.errors,
      succeeded: this.counts.succeeded,
      completed: this.ready.size,
      retried: this.counts.retried,
      revoked: this.counts.revoked,
      types: [...this.types].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
      runtimes: Object.fromEntries([...this.runtimes].map(([name, r]) => [name, { count: r.count, avg: r.total / r.count, max: r.max }])),
    };
  }
}

/** Celery's REPORT_FORMAT, with the retried and revoked counts after its own lines. */
export function formatStats(r: TaskCounts): string {
  return [
    '',
    'Report',
    '======',
    `Task total: ${r.total}`,
    `Task errors: ${r.errors}`,
    `Task success: ${r.succeeded}`,
    `Task completed: ${r.completed}`,
    `Task retried: ${r.retried}`,
    `Task revoked: ${r.revoked}`,
    'Tasks',
    '=====',
    ...r.types.map(([name, n]) => `${name}: ${n}`),
    '',
  ].join('\n');
}
