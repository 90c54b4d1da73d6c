/** `celeriac call <name>`: send a task by name (like `celery call`), print its id; `--wait` prints its result. */
import type { Command } from 'commander';
import type { ApplyOptions } from '../index.js';
import { loadApp } from './load-app.js';
import { errorText, isFailure, metaJson, parseTimeout, readMeta } from './result.js';
import { formatValue, parseJsonOption, parseNumberOption, UsageError } from './usage.js';
import { callGroup, parseGroupFlags } from './call-group.js';

interface CallFlags {
  app?: string;
  args: string;
  kwargs: string;
  queue?: string;
  countdown?: string;
  eta?: string;
  expires?: string;
  priority?: string;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
  group?: string;
  groupFile?: string;
}

const isList = (v: unknown): v is unknown[] => Array.isArray(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseTime(flag: string, text: string): Date {
  const date = new Date(text);
  if (text.trim() === '' || Number.isNaN(date.getTime())) {
    throw new UsageError(`${flag} expects an ISO 8601 time, e.g. ${flag} 2030-01-01T12:00:00Z; got ${JSON.stringify(text)}`);
  }
  return date;
}

/** Turns the flags into sendTask's arguments, or throws UsageError saying what was expected. */
export function parseCallFlags(flags: CallFlags): { args: unknown[]; options: ApplyOptions } {
  const args = parseJsonOption('--args', flags.args, isList, 'a list of positional arguments');
  const kwargs = parseJsonOption('--kwargs', flags.kwargs, isObject, 'an object of keyword arguments');
  const options: ApplyOptions = {};
  if (Object.keys(kwargs).length > 0) options.kwargs = kwargs;
  if (flags.queue !== undefined) {
    if (flags.queue.trim() === '') throw new UsageError('--queue expects a queue name, e.g. --queue for_add');
    options.queue = flags.queue.trim();
  }
  if (flags.countdown !== undefined && flags.eta !== undefined) throw new UsageError('give --countdown (seconds from now) or --eta (a time), not both');
  if (flags.countdown !== undefined) options.countdown = parseNumberOption('--countdown', flags.countdown, { min: 0 });
  if (flags.eta !== undefined) options.eta = parseTime('--eta', flags.eta);
  if (flags.expires !== undefined) {
    const seconds = Number(flags.expires);
    if (flags.expires.trim() !== '' && Number.isFinite(seconds)) options.expires = parseNumberOption('--expires', flags.expires, { min: 0 });
    else if (!Number.isNaN(new Date(flags.expires).getTime())) options.expires = new Date(flags.expires);
    else throw new UsageError(`--expires expects seconds from now (e.g. --expires 60) or an ISO 8601 time; got ${JSON.stringify(flags.expires)}`);
  }
  if (flags.priority !== undefined) {
    const priority = parseNumberOption('--priority', flags.priority, { min: 0, integer: true });
    if (priority > 255) throw new UsageError(`--priority expects an integer from 0 to 255 (0-9 is usual); got ${flags.priority}`);
    options.priority = priority;
  }
  return { args, options };
}

export function registerCall(program: Command): void {
  program
    .command('call')
    .description('Send a task by name and print its id; --wait also waits for and prints its result (exit 1 if it failed)')
    .argument('<name>', 'task name, e.g. tasks.add')
    .option('-A, --app <module>', 'module that exports the app (its broker, backend and taskRoutes); default: a plain app configured by CELERIAC_* variables')
    .option('-a, --args <json>', 'positional arguments as a JSON list', '[]')
    .option('-k, --kwargs <json>', 'keyword arguments as a JSON object', '{}')
    .option('--queue <name>', 'queue to send to (default: taskRoutes, then the default queue)')
    .option('--countdown <seconds>', 'run no sooner than this many seconds from now')
    .option('--eta <time>', 'run no sooner than this ISO 8601 time')
    .option('--expires <seconds|time>', 'do not run after this many seconds from now, or after this ISO 8601 time (REVOKED)')
    .option('--priority <n>', 'message priority, 0-255 (higher first on sqlite and memory)')
    .option('--wait', 'wait for the result and print it')
    .option('--timeout <ms>', 'with --wait: give up after this many milliseconds (exit 1)')
    .option('--json', 'print JSON: { id }, or with --wait { id, state, result, traceback, date_done }')
    .option('--group <json>', "send a group: one task per argument list, e.g. --group '[[1,2],[3,4]]'; --wait shows progress and prints the results in order")
    .option('--group-file <path>', 'like --group, with the JSON list read from a file (- for stdin)')
    .action(async (name: string, flags: CallFlags) => {
      const lists = parseGroupFlags(flags, flags.args !== '[]');
      const { args, options } = parseCallFlags(flags);
      const timeout = parseTimeout(flags);
      const app = await loadApp(flags.app);
      try {
        if (lists) return await callGroup(app, name, lists, options, flags, timeout);
        const result = await app.sendTask(name, args, options);
        if (!flags.wait) {
          process.stdout.write(flags.json ? `${JSON.stringify({ id: result.id })}\n` : `${result.id}\n`);
          return;
        }
        if (!flags.json) process.stdout.write(`${result.id}\n`);
        const meta = await readMeta(app, result.id, true, timeout);
        if (flags.json) process.stdout.write(`${JSON.stringify(metaJson(meta))}\n`);
        if (isFailure(meta)) {
          process.stderr.write(`celeriac: task ${name}[${result.id}] ${meta.status === 'REVOKED' ? 'was revoked' : 'failed'}: ${errorText(meta)}\n`);
          if (!flags.json && meta.traceback) process.stderr.write(`(celeriac result ${result.id} --traceback shows where)\n`);
          process.exitCode = 1;
        } else if (!flags.json) {
          process.stdout.write(`${formatValue(meta.result)}\n`);
        }
      } finally {
        await app.close();
      }
    });
}
