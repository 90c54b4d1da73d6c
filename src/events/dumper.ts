/**
 * Event lines as `celery events --dump` prints them (Celery's events.dumper):
 *   w1@host [2026-11-22 16:40:10.123456] heartbeat: active=0, clock=2, freq=2.0, ...
 *   w1@host [2026-11-22 16:40:11.000100] task succeeded: tasks.add(<uuid>) args=(2, 2) kwargs={} result=4, runtime=0.001
 * The task's name and arguments come from its task-received (or task-sent) event, remembered for the
 * last 4095 tasks. Values print as Python's str() would.
 */
import { pyRepr } from '../protocol/pyrepr.js';
import type { AnyEvent } from '../protocol/events.js';

const HUMAN_TYPES: Record<string, string> = { 'worker-offline': 'shutdown', 'worker-online': 'started', 'worker-heartbeat': 'heartbeat' };
const NAMES_KEPT = 0xfff;

/** Python's str(datetime.utcfromtimestamp(ts)): 'YYYY-MM-DD HH:MM:SS[.ffffff]'. */
export function pythonUtcTime(seconds: number): string {
  const whole = Math.floor(seconds);
  const micros = Math.round((seconds - whole) * 1e6);
  const [w, m] = micros === 1_000_000 ? [whole + 1, 0] : [whole, micros];
  const base = new Date(w * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return m ? `${base}.${String(m).padStart(6, '0')}` : base;
}

/** Python's str() of a JSON value: strings as they are, floats with a '.0', the rest as repr. */
function str(value: unknown): string {
  if (typeof value === 'string') return value;
  return pyRepr(value, Number.MAX_SAFE_INTEGER);
}

export class EventDumper {
  private readonly names = new Map<string, string>();

  /** The line Celery's dumper prints for `event`. */
  format(event: AnyEvent): string {
    const { timestamp, type: rawType, hostname, ...rest } = event;
    const type = rawType.toLowerCase();
    const when = pythonUtcTime(typeof timestamp === 'number' ? timestamp : 0);
    const human = HUMAN_TYPES[type] ?? type.replace(/-/g, ' ');
    let task: string | undefined;
    const fields: Record<string, unknown> = rest;
    if (type.startsWith('task-')) {
      const { uuid, ...others } = rest;
      const id = String(uuid);
      if (type === 'task-received' || type === 'task-sent') {
        const { name, args, kwargs, ...more } = others;
        task = `${str(name)}(${id}) args=${str(args)} kwargs=${str(kwargs)}`;
        this.remember(id, task);
        return this.line(hostname, when, human, more, task);
      }
      task = this.names.get(id) ?? '';
      return this.line(hostname, when, human, others, task);
    }
    return this.line(hostname, when, human, fields, undefined);
  }

  private remember(id: string, task: string): void {
    this.names.delete(id);
    this.names.set(id, task);
    if (this.names.size > NAMES_KEPT) this.names.delete(this.names.keys().next().value as string);
  }

  private line(hostname: string, when: string, human: string, fields: Record<string, unknown>, task: string | undefined): string {
    const text = Object.keys(fields).sort().map((k) => `${k}=${str(fields[k])}`).join(', ');
    const sep = text ? ':' : '';
    return task === undefined ? `${hostname} [${when}] ${human}${sep} ${text}` : `${hostname} [${when}] ${human}${sep} ${task} ${text}`;
  }
}
