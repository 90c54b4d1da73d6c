/**
 * What `celeriac inspect`, `control` and `status` share: the destination/timeout/json options, help built
 * from the app's command registry (so user commands are listed), and replies printed as Celery does
 * (`-> node: OK` then the reply) or as JSON.
 */
import type { Command } from 'commander';
import { CommandRegistry, ControlError, type Celeriac, type CommandDefinition, type CommandKind, type Reply } from '../index.js';
import { loadApp } from './load-app.js';
import { formatTable, formatValue, parseNumberOption, UsageError } from './usage.js';

export interface RemoteFlags {
  app?: string;
  destination?: string;
  pattern?: string;
  timeout?: string;
  json?: boolean;
  help?: boolean;
  /** Print nothing (the caller printed the replies); only the exit status. */
  quiet?: boolean;
}

/** Celery's exit status when no node replied (EX_UNAVAILABLE). */
export const EX_UNAVAILABLE = 69;

export function addRemoteOptions(cmd: Command, defaultTimeout: string): Command {
  return cmd
    .option('-A, --app <module>', 'module that exports the app (its broker and its own commands); default: CELERIAC_BROKER_URL')
    .option('-d, --destination <nodes>', 'comma-separated node names to ask (default: every worker)')
    .option('-p, --pattern <glob>', 'ask only nodes whose name matches this glob')
    .option('-t, --timeout <seconds>', `how long to wait for replies (default ${defaultTimeout}; objgraph 60)`)
    .option('-j, --json', 'print the replies as JSON')
    .option('-h, --help', 'list the commands (with -A, the app\'s own commands too)')
    .helpOption(false);
}

/** Where to send and how long to wait: `fallback` seconds when -t is not given. */
export function destinationOf(flags: RemoteFlags, fallback = 1): { destination?: string[]; pattern?: string; timeout: number } {
  const timeout = parseNumberOption('--timeout', flags.timeout ?? String(fallback), { min: 0 }) * 1000;
  const destination = flags.destination?.split(',').map((d) => d.trim()).filter(Boolean);
  return { ...(destination?.length ? { destination } : {}), ...(flags.pattern ? { pattern: flags.pattern } : {}), timeout };
}

export function helpText(kind: CommandKind, app: Celeriac): string {
  const defs = app.control.registry.list(kind);
  const rows = defs.map((d) => [CommandRegistry.signature(d), d.help]);
  const width = Math.max(...rows.map((r) => (r[0] ?? '').length));
  return [
    `Usage: celeriac ${kind} [options] <command> [arguments...]`,
    '',
    kind === 'inspect' ? 'Ask workers what they are doing (read-only).' : 'Change what workers do, without restarting them.',
    '',
    'Options:',
    '  -A, --app <module>         the app module (its broker, and its own commands)',
    '  -d, --destination <nodes>  comma-separated node names (default: every worker)',
    '  -p, --pattern <glob>       nodes whose name matches',
    '  -t, --timeout <seconds>    how long to wait for replies',
    '  -j, --json                 print the replies as JSON',
    '',
    'Commands:',
    ...rows.map(([sig, help]) => `  ${(sig ?? '').padEnd(width)}  ${help ?? ''}`),
    '',
    'Examples:',
    ...(kind === 'inspect'
      ? ['  $ celeriac inspect ping', '  $ celeriac inspect active -d w1@host --json', '  $ celeriac inspect memsample 5 60    # sample memory every 5 s, 60 times', '  $ celeriac inspect memdump', '  $ celeriac inspect objgraph -d w1@host    # pauses the worker for a heap snapshot']
      : ['  $ celeriac control rate_limit tasks.add 10/m', '  $ celeriac control revoke 8f1c... 91ab...', '  $ celeriac control pool_restart -d w1@host    # workers started with --pool-restarts']),
    '',
  ].join('\n');
}

/** Loads the app, runs `fn`, closes the app; `--help` (or no command) prints the registry instead. */
export async function withRemote(kind: CommandKind, flags: RemoteFlags, command: string | undefined, fn: (app: Celeriac, def: CommandDefinition) => Promise<void>): Promise<void> {
  const app = await loadApp(flags.app);
  try {
    if (flags.help) {
      process.stdout.write(helpText(kind, app));
      return;
    }
    if (!command) throw new UsageError(`${kind} needs a command.\n\n${helpText(kind, app)}`);
    const def = app.control.registry.get(command);
    if (!def || def.kind !== kind) {
      const names = app.control.registry.list(kind).map((d) => d.name).join(', ');
      const other = def ? ` ('${command}' is a ${def.kind} command: celeriac ${def.kind} ${command})` : '';
      throw new UsageError(`no ${kind} command '${command}'${other}. Commands: ${names}`);
    }
    await fn(app, def);
  } catch (err) {
    if (err instanceof ControlError) throw new UsageError(err.message);
    throw err;
  } finally {
    await app.close();
  }
}

function isTaskList(v: unknown): v is Record<string, unknown>[] {
  return Array.isArray(v) && v.length > 0 && v.every((t) => t && typeof t === 'object' && ('id' in t || 'request' in t));
}

/** Prints `{ node: reply }` as Celery's CLI does, with task lists as a table. Returns the exit status. */
export function printReplies(replies: Reply, flags: RemoteFlags): number {
  const nodes = Object.keys(replies).sort();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(replies, null, 2)}\n`);
    return nodes.length ? 0 : EX_UNAVAILABLE;
  }
  if (!nodes.length) {
    process.stderr.write('Error: No nodes replied within time constraint\n');
    return EX_UNAVAILABLE;
  }
  if (flags.quiet) return 0;
  const out: string[] = [];
  for (const node of nodes) {
    const reply = replies[node];
    const error = reply && typeof reply === 'object' && 'error' in reply ? (reply as { error: unknown }).error : undefined;
    out.push(`->  ${node}: ${error === undefined ? 'OK' : 'ERROR'}`);
    if (error !== undefined) out.push(`        ${formatValue(error)}`);
    else if (reply && typeof reply === 'object' && 'ok' in reply && Object.keys(reply).length === 1) out.push(...formatValue((reply as { ok: unknown }).ok).split('\n').map((l) => `        ${l}`));
    else if (typeof reply === 'string') out.push(...reply.trimEnd().split('\n').map((l) => `    ${l}`));
    else if (Array.isArray(reply) && reply.length === 0) out.push('    - empty -');
    else if (isTaskList(reply)) {
      const rows = reply.map((item) => {
        const r = (item['request'] ?? item) as Record<string, unknown>;
        return [String(r['id']), String(r['name']), formatValue(r['args']), typeof item['eta'] === 'string' ? item['eta'] : r['time_start'] ? new Date(Number(r['time_start']) * 1000).toISOString() : '-'];
      });
      out.push(formatTable(['ID', 'NAME', 'ARGS', 'STARTED/ETA'], rows).trimEnd().split('\n').map((l) => `    ${l}`).join('\n'));
    } else if (Array.isArray(reply)) out.push(...reply.map((item) => `    * ${formatValue(item)}`));
    else out.push(...JSON.stringify(reply, null, 2).split('\n').map((l) => `    ${l}`));
  }
  out.push('', `${nodes.length} node${nodes.length === 1 ? '' : 's'} online.`, '');
  process.stdout.write(out.join('\n'));
  return 0;
}
