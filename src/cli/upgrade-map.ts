/**
 * Celery settings (by their new lowercase names) to celeriac: app options, worker flags, and what has no
 * equivalent, each with the reason. Pure: values in, a conversion out; `celeriac upgrade settings` prints it.
 */
import type { PyValue } from './python-config.js';

export interface SettingIn {
  /** The name as written in the file. */
  setting: string;
  /** Celery's new (lowercase) name. */
  name: string;
  line: number;
  value?: PyValue;
  error?: string;
}

export interface Conversion {
  /** celeriac option name to value. */
  config: Record<string, unknown>;
  /** `celeriac worker` flags for the settings that are worker options in celeriac. */
  flags: string[];
  notCarried: { setting: string; name: string; line: number; why: string }[];
  notes: string[];
}

type Dict = { [key: string]: PyValue };
const isDict = (v: PyValue | undefined): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Ctx {
  set(option: string, value: unknown): void;
  flag(...words: string[]): void;
  note(text: string): void;
}

function str(v: PyValue | undefined, what: string): string {
  if (typeof v !== 'string') throw new Error(`expected ${what} as a string, got ${JSON.stringify(v)}`);
  return v;
}

function num(v: PyValue | undefined, what: string): number {
  if (typeof v !== 'number') throw new Error(`expected ${what} as a number, got ${JSON.stringify(v)}`);
  return v;
}

function flagFor(flag: string, what: string): (v: PyValue | undefined, c: Ctx) => void {
  return (v, c) => (v === null ? undefined : c.flag(flag, String(num(v, what))));
}

/** A Celery broker URL as celeriac takes it (first of a failover list). */
export function brokerUrl(v: PyValue | undefined, c: Pick<Ctx, 'note'>): string {
  let url = v;
  if (Array.isArray(url)) {
    if (url.length > 1) c.note('broker_url is a failover list: celeriac takes the first URL');
    url = url[0];
  }
  const text = str(url, 'a broker URL').split(';')[0]?.trim() ?? '';
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  const scheme = m?.[1]?.toLowerCase();
  if (scheme === 'librabbitmq') return text.replace(/^[^:]+/, 'amqp');
  if (scheme && ['amqp', 'amqps', 'pyamqp', 'redis', 'rediss', 'redis+socket', 'memory'].includes(scheme)) return text;
  if (scheme === 'sqla+sqlite') return `sqlite://${sqlitePath(text)}`;
  throw new Error(`celeriac has no ${scheme ?? JSON.stringify(text)} broker: use redis://, amqp:// or sqlite://PATH`);
}

/** `db+sqlite:///rel.db` -> `./rel.db`, `db+sqlite:////abs.db` -> `/abs.db`. */
function sqlitePath(url: string): string {
  const rest = url.replace(/^[^:]+:\/\//, '');
  return rest.startsWith('//') ? rest.slice(1) : rest.startsWith('/') ? `./${rest.slice(1)}` : `./${rest}`;
}

function backendUrl(v: PyValue | undefined, c: Ctx): void {
  if (v === null || v === 'disabled') return c.note('result_backend is off in Celery: celeriac stores results in sqlite://./celeriac.db unless you set taskIgnoreResult: true');
  const text = str(v, 'a result backend URL');
  const scheme = /^([a-z][a-z0-9+.-]*)(:\/\/|$)/i.exec(text)?.[1]?.toLowerCase();
  if (scheme && ['redis', 'rediss', 'redis+socket', 'rpc', 'memory'].includes(scheme)) return c.set('backend', text);
  if (scheme === 'db+sqlite') return c.set('backend', `sqlite://${sqlitePath(text)}`);
  if (scheme === 'cache+memory') return c.set('backend', 'memory://');
  if (scheme === 'amqp') {
    c.note("result_backend 'amqp' (Celery 3) becomes rpc://, its successor");
    return c.set('backend', 'rpc://');
  }
  throw new Error(`celeriac has no ${scheme ?? text} result backend: use redis://, rpc:// or sqlite://PATH`);
}

/** Celery's route dict (or queue name) as celeriac's route. */
function route(v: PyValue, task: string): unknown {
  if (typeof v === 'string') return v;
  if (!isDict(v)) throw new Error(`the route of ${task} is not a queue name or a dict`);
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (k === 'queue' || k === 'exchange') out[k] = str(val, `${task}'s ${k}`);
    else if (k === 'routing_key') out['routingKey'] = str(val, `${task}'s routing_key`);
    else if (k === 'priority') out['priority'] = num(val, `${task}'s priority`);
    else throw new Error(`the route of ${task} has '${k}', which celeriac routes do not take`);
  }
  return out;
}

function routes(v: PyValue | undefined, c: Ctx): void {
  const maps = Array.isArray(v) ? v : [v ?? {}];
  const out: Record<string, unknown> = {};
  for (const m of maps) {
    if (!isDict(m)) throw new Error('celeriac routes are a dict of task name (or glob) to queue; router functions or classes do not carry over');
    for (const [task, r] of Object.entries(m)) out[task] = route(r, task);
  }
  c.set('taskRoutes', out);
}

function beatEntry(name: string, e: PyValue): Record<string, unknown> {
  if (!isDict(e)) throw new Error(`beat entry ${name} is not a dict`);
  const out: Record<string, unknown> = { task: str(e['task'], `${name}'s task`) };
  const s = e['schedule'];
  if (typeof s === 'number') out['schedule'] = { every: s };
  else throw new Error(`beat entry ${name}: schedule must be seconds here (crontab() and timedelta() are not literals)`);
  if (e['args'] !== undefined) out['args'] = e['args'];
  if (e['kwargs'] !== undefined) out['kwargs'] = e['kwargs'];
  const o = e['options'];
  if (isDict(o)) out['options'] = Object.fromEntries(Object.entries(o).map(([k, val]) => [k === 'routing_key' ? 'routingKey' : k, val]));
  for (const k of Object.keys(e)) if (!['task', 'schedule', 'args', 'kwargs', 'options'].includes(k)) throw new Error(`beat entry ${name} has '${k}', which celeriac entries do not take`);
  return out;
}

function transportOptions(v: PyValue | undefined, c: Ctx): void {
  if (!isDict(v)) throw new Error('expected a dict');
  const rest = Object.keys(v).filter((k) => k !== 'visibility_timeout');
  if (v['visibility_timeout'] !== undefined) c.set('visibilityTimeout', Math.round(num(v['visibility_timeout'], 'visibility_timeout') * 1000));
  if (rest.length) c.note(`broker_transport_options ${rest.join(', ')}: no celeriac equivalent (celeriac's brokerOptions are described in each broker's header)`);
}

const POOLS: Record<string, string> = { prefork: 'processes', processes: 'processes', threads: 'threads', solo: 'async', eventlet: 'async', gevent: 'async' };

const DIRECT: Record<string, string> = {
  task_default_queue: 'defaultQueue', task_serializer: 'taskSerializer', result_expires: 'resultExpires', result_extended: 'resultExtended',
  task_ignore_result: 'taskIgnoreResult', task_track_started: 'taskTrackStarted', task_acks_late: 'acksLate', worker_prefetch_multiplier: 'prefetchMultiplier',
  worker_concurrency: 'concurrency', task_queue_max_priority: 'queueMaxPriority', worker_send_task_events: 'workerSendTaskEvents',
  task_send_sent_event: 'taskSendSentEvent', timezone: 'timezone', beat_max_loop_interval: 'beatMaxLoopInterval', control_exchange: 'controlExchange',
  worker_pool_restarts: 'poolRestarts',
};

const CONVERT: Record<string, (v: PyValue | undefined, c: Ctx) => void> = {
  broker_url: (v, c) => c.set('broker', brokerUrl(v, c)),
  result_backend: backendUrl,
  task_routes: routes,
  beat_schedule: (v, c) => {
    if (!isDict(v)) throw new Error('expected a dict of entries');
    c.set('beatSchedule', Object.fromEntries(Object.entries(v).map(([n, e]) => [n, beatEntry(n, e)])));
  },
  broker_transport_options: transportOptions,
  task_time_limit: flagFor('--time-limit', 'seconds'),
  task_soft_time_limit: flagFor('--soft-time-limit', 'seconds'),
  worker_max_tasks_per_child: flagFor('--max-tasks-per-child', 'a count'),
  worker_max_memory_per_child: flagFor('--max-memory-per-child', 'KiB'),
  worker_pool: (v, c) => {
    const pool = POOLS[str(v, 'a pool name')];
    if (!pool) throw new Error(`celeriac has no ${String(v)} pool: -P async, threads or processes`);
    c.flag('-P', pool);
  },
  worker_state_db: (v, c) => c.flag('--statedb', str(v, 'a file name')),
  worker_enable_remote_control: (v, c) => (v === false ? c.flag('--without-control') : undefined),
  accept_content: (v, c) => c.note(`accept_content ${JSON.stringify(v)}: celeriac accepts json and msgpack and always refuses pickle`),
  enable_utc: (v, c) => (v === false ? c.note('enable_utc False: celeriac keeps times in UTC; timezone applies to crontab schedules') : undefined),
  imports: (_v, c) => c.note('imports: celeriac loads the module given with -A; import your task modules from it'),
  include: (_v, c) => c.note('include: celeriac loads the module given with -A; import your task modules from it'),
};

/** What the composed broker URL is made of, when the file gives parts instead of broker_url. */
const BROKER_PARTS = ['broker_transport', 'broker_host', 'broker_port', 'broker_user', 'broker_password', 'broker_vhost'];

export function convertSettings(settings: readonly SettingIn[], validate: (option: string, value: unknown) => string | undefined): Conversion {
  const out: Conversion = { config: {}, flags: [], notCarried: [], notes: [] };
  const byName = new Map(settings.map((s) => [s.name, s]));
  for (const s of settings) {
    const drop = (why: string): void => void out.notCarried.push({ setting: s.setting, name: s.name, line: s.line, why });
    if (s.error) {
      drop(s.error);
      continue;
    }
    if (BROKER_PARTS.includes(s.name)) continue;
    const ctx: Ctx = {
      set: (option, value) => {
        const bad = validate(option, value);
        if (bad) throw new Error(`celeriac's ${option} refuses ${JSON.stringify(value)}: ${bad}`);
        out.config[option] = value;
      },
      flag: (...words) => out.flags.push(...words),
      note: (text) => out.notes.push(text),
    };
    try {
      const direct = DIRECT[s.name];
      if (direct) ctx.set(direct, s.value);
      else if (CONVERT[s.name]) CONVERT[s.name]?.(s.value, ctx);
      else drop('no celeriac equivalent');
    } catch (err) {
      drop(err instanceof Error ? err.message : String(err));
    }
  }
  const parts = BROKER_PARTS.map((p) => byName.get(p));
  if (!byName.has('broker_url') && parts.some((p) => p && p.value !== undefined && p.value !== null)) {
    const [transport, host, port, user, password, vhost] = parts.map((p) => (p?.value === undefined || p.value === null ? '' : String(p.value)));
    const auth = user || password ? `${encodeURIComponent(user ?? '')}${password ? `:${encodeURIComponent(password)}` : ''}@` : '';
    try {
      out.config['broker'] = brokerUrl(`${transport || 'amqp'}://${auth}${host || 'localhost'}${port ? `:${port}` : ''}/${vhost ?? ''}`, { note: (t) => out.notes.push(t) });
      out.notes.push(`broker: composed from ${BROKER_PARTS.filter((_, i) => parts[i]).join(', ')}`);
    } catch (err) {
      for (const p of parts) if (p) out.notCarried.push({ setting: p.setting, name: p.name, line: p.line, why: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}
