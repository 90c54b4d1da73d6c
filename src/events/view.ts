/**
 * The live terminal view of `celeriac events` (Celery's curses monitor), pure: `renderMonitor(state, view,
 * size, now)` turns the cluster State, the selection and the terminal size into lines, and `handleKey`
 * turns a key press into the next view and an action (revoke, terminate, clear, quit) for the caller to run.
 * No terminal, timers or I/O here, so both are unit-tested as plain functions.
 */
import type { State, TaskInfo, WorkerInfo } from './state.js';

/** What the user is looking at: the selected task (by uuid, so it stays put as tasks arrive) and its detail. */
export interface MonitorView {
  /** uuid of the selected task, or null for the most recent one. */
  selected: string | null;
  /** Whether the detail of the selected task replaces the tasks pane. */
  detail: boolean;
  /** A one-line status shown in the footer (the outcome of the last action). */
  message?: string;
  /** The broker, shown in the title. */
  title?: string;
}

export interface ViewSize {
  columns: number;
  rows: number;
}

export interface MonitorFrame {
  lines: string[];
  /** Index in `lines` of the selected task's row, or -1 (none shown). */
  selectedLine: number;
}

export type MonitorAction =
  | { type: 'none' }
  | { type: 'quit' }
  | { type: 'clear' }
  | { type: 'revoke'; uuid: string }
  | { type: 'terminate'; uuid: string };

/** The states counted on the counts line, in a task's life order; custom states follow. */
const STATES = ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED', 'REJECTED'];

export const MONITOR_KEYS = 'up/down j/k select  Enter detail  r revoke  t terminate  c clear  q quit';

/** Tasks, most recent first (last updated first, as the State keeps them in update order). */
export function recentTasks(state: State): TaskInfo[] {
  return state.tasks().reverse();
}

function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const flat = text.replace(/[\r\n\t]+/g, ' ');
  return flat.length > width ? `${flat.slice(0, Math.max(0, width - 1))}~` : flat.padEnd(width);
}

function row(cells: readonly string[], widths: readonly number[], columns: number): string {
  return cells.map((c, i) => fit(c, widths[i] ?? 0)).join(' ').slice(0, columns).trimEnd();
}

function age(seconds: number): string {
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

/** HH:MM:SS (UTC) of a UNIX time in seconds. */
export function clockTime(seconds: number | null | undefined): string {
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString().slice(11, 19) : '-';
}

function workerRow(w: WorkerInfo, now: number): string[] {
  const last = w.heartbeats.at(-1);
  return [
    w.hostname, w.alive ? 'online' : 'offline', String(w.active ?? '-'), String(w.processed ?? '-'),
    w.loadavg?.map((l) => l.toFixed(2)).join(' ') ?? '-', last === undefined ? '-' : `${age(now / 1000 - last)} ago`,
  ];
}

function outcome(t: TaskInfo): string {
  if (t.exception !== undefined) return String(t.exception);
  if (t.result !== undefined) return String(t.result);
  return '';
}

function taskRow(t: TaskInfo, uuidWidth: number): string[] {
  return [
    t.uuid.slice(0, uuidWidth), t.name ?? '?', t.state, t.worker ?? '-', t.args ?? '', outcome(t),
    typeof t.runtime === 'number' ? `${t.runtime.toFixed(3)}s` : '-', clockTime(t.timestamp),
  ];
}

/** Column widths: fixed ones, and the flexible ones sharing what is left (at least `min` each). */
function widths(columns: number, fixed: (number | null)[], min = 6): number[] {
  const used = fixed.reduce<number>((s, w) => s + (w ?? 0), 0) + fixed.length - 1;
  const flexible = fixed.filter((w) => w === null).length;
  const share = Math.max(min, Math.floor((columns - used) / Math.max(1, flexible)));
  return fixed.map((w) => w ?? share);
}

/** The line of counts by state: `PENDING 0  RECEIVED 1  STARTED 2  SUCCESS 10 ...`. */
export function countsLine(tasks: readonly TaskInfo[]): string {
  const counts = new Map<string, number>(STATES.map((s) => [s, 0]));
  for (const t of tasks) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${s} ${n}`).join('  ');
}

/** The detail lines of one task: every field it has, times as ISO dates. */
export function taskDetail(t: TaskInfo): string[] {
  const lines = [`Task ${t.uuid}`];
  const skip = new Set(['uuid', 'at']);
  for (const [k, v] of Object.entries(t)) {
    if (skip.has(k) || v === undefined) continue;
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    const [first, ...more] = text.split('\n');
    lines.push(`  ${k.padEnd(10)} ${first ?? ''}`, ...more.map((l) => `  ${''.padEnd(10)} ${l}`));
  }
  for (const [kind, at] of Object.entries(t.at)) lines.push(`  ${kind.padEnd(10)} ${new Date(at * 1000).toISOString()}`);
  return lines;
}

/** The index of the selected task among `tasks` (0 when none is selected or it is gone). */
export function selectedIndex(tasks: readonly TaskInfo[], view: MonitorView): number {
  const i = view.selected === null ? 0 : tasks.findIndex((t) => t.uuid === view.selected);
  return i < 0 ? 0 : i;
}

/** Draws the whole screen as `size.rows` lines at most, each at most `size.columns` wide. */
export function renderMonitor(state: State, view: MonitorView, size: ViewSize, now: number): MonitorFrame {
  const columns = Math.max(20, size.columns);
  const rows = Math.max(8, size.rows);
  const workers = state.workers();
  const tasks = recentTasks(state);
  const online = workers.filter((w) => w.alive).length;
  const lines: string[] = [
    fit(`celeriac events${view.title ? ` - ${view.title}` : ''}   workers: ${online} online / ${workers.length}   tasks: ${tasks.length}   events: ${state.eventCount}`, columns).trimEnd(),
    fit(countsLine(tasks), columns).trimEnd(),
    '',
  ];
  // Workers pane: at most a third of the screen.
  const wWidths = widths(columns, [null, 7, 6, 9, 14, 10], 12);
  const workerRoom = Math.max(1, Math.floor(rows / 3) - 1);
  lines.push(row(['WORKER', 'STATUS', 'ACTIVE', 'PROCESSED', 'LOAD', 'HEARTBEAT'], wWidths, columns));
  const shownWorkers = workers.slice(0, workerRoom);
  for (const w of shownWorkers) lines.push(row(workerRow(w, now), wWidths, columns));
  if (!workers.length) lines.push('  (no worker seen yet: workers send worker-online and heartbeats)');
  else if (workers.length > shownWorkers.length) lines.push(`  ... and ${workers.length - shownWorkers.length} more`);
  lines.push('');
  const footer = [fit(view.message ?? '', columns).trimEnd(), fit(MONITOR_KEYS, columns).trimEnd()];
  const room = rows - lines.length - footer.length;
  const index = selectedIndex(tasks, view);
  const selected = tasks[index];
  let selectedLine = -1;
  if (view.detail && selected) {
    lines.push(...taskDetail(selected).slice(0, Math.max(1, room)).map((l) => fit(l, columns).trimEnd()));
  } else {
    const uuidWidth = columns >= 140 ? 36 : 8;
    const tWidths = widths(columns, [uuidWidth, 16, 8, 18, null, null, 8, 8]);
    lines.push(row(['UUID', 'NAME', 'STATE', 'WORKER', 'ARGS', 'RESULT', 'RUNTIME', 'TIME'], tWidths, columns));
    const visible = Math.max(1, room - 1);
    // Scroll so that the selection stays on screen.
    const start = Math.max(0, index - visible + 1);
    for (const [i, t] of tasks.slice(start, start + visible).entries()) {
      if (start + i === index) selectedLine = lines.length;
      lines.push(row(taskRow(t, uuidWidth), tWidths, columns));
    }
    if (!tasks.length) lines.push('  (no task events yet: start workers with -E, or celeriac control enable_events)');
  }
  while (lines.length < rows - footer.length) lines.push('');
  lines.length = Math.min(lines.length, rows - footer.length);
  return { lines: [...lines, ...footer], selectedLine };
}

/** Normalizes raw terminal input to a key name: 'up', 'down', 'enter', 'escape', 'ctrl-c', or the character. */
export function keyName(input: string): string {
  switch (input) {
    case '\x1b[A': case '\x1bOA': return 'up';
    case '\x1b[B': case '\x1bOB': return 'down';
    case '\r': case '\n': return 'enter';
    case '\x1b': return 'escape';
    case '\x03': return 'ctrl-c';
    default: return input;
  }
}

/** The next view and the action a key press asks for. */
export function handleKey(input: string, state: State, view: MonitorView): { view: MonitorView; action: MonitorAction } {
  const key = keyName(input);
  const tasks = recentTasks(state);
  const index = selectedIndex(tasks, view);
  const current = tasks[index];
  const select = (i: number): MonitorView => {
    const t = tasks[Math.max(0, Math.min(tasks.length - 1, i))];
    return { ...view, selected: t ? t.uuid : null, message: '' };
  };
  switch (key) {
    case 'q': case 'Q': case 'ctrl-c': return { view, action: { type: 'quit' } };
    case 'up': case 'k': return { view: select(index - 1), action: { type: 'none' } };
    case 'down': case 'j': return { view: select(index + 1), action: { type: 'none' } };
    case 'enter': return { view: { ...view, selected: current?.uuid ?? null, detail: current ? !view.detail : false }, action: { type: 'none' } };
    case 'escape': return { view: { ...view, detail: false }, action: { type: 'none' } };
    case 'c': return { view: { ...view, selected: null, detail: false, message: 'cleared' }, action: { type: 'clear' } };
    case 'r': case 't':
      if (!current) return { view: { ...view, message: 'no task selected' }, action: { type: 'none' } };
      return { view: { ...view, selected: current.uuid }, action: { type: key === 'r' ? 'revoke' : 'terminate', uuid: current.uuid } };
    default: return { view, action: { type: 'none' } };
  }
}
