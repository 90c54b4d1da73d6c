/**
 * `celeriac call <name> --group '<json list of argument lists>'` (or `--group-file <path|->`): sends one
 * task per argument list as a group, in pipelined batches, and prints the group id; `--wait` shows
 * progress (a bar on a terminal, a line per tenth otherwise) and prints the results in order.
 */
import { readFileSync } from 'node:fs';
import { group, type ApplyOptions, type Celeriac, type GroupProgress, type SignatureOptions } from '../index.js';
import { progressPrinter } from './progress.js';
import { formatValue, parseJsonOption, UsageError } from './usage.js';

export interface GroupFlags {
  group?: string;
  groupFile?: string;
  wait?: boolean;
  json?: boolean;
}

const isListOfLists = (v: unknown): v is unknown[][] => Array.isArray(v) && v.every((x) => Array.isArray(x));

/** The argument lists from --group or --group-file, or undefined when neither is given. */
export function parseGroupFlags(flags: GroupFlags, hasArgs: boolean): unknown[][] | undefined {
  if (flags.group === undefined && flags.groupFile === undefined) return undefined;
  if (flags.group !== undefined && flags.groupFile !== undefined) throw new UsageError('give --group (JSON on the command line) or --group-file (a file, or - for stdin), not both');
  if (hasArgs) throw new UsageError("--args and --group do not mix: each group member's arguments come from the --group list, e.g. --group '[[1,2],[3,4]]'");
  let text = flags.group;
  if (flags.groupFile !== undefined) {
    try {
      text = readFileSync(flags.groupFile === '-' ? 0 : flags.groupFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--group-file: cannot read ${flags.groupFile}: ${(err as Error).message}`);
    }
  }
  const lists = parseJsonOption('--group', text ?? '', isListOfLists, 'a list of argument lists (e.g. [[1,2],[3,4]])');
  if (lists.length === 0) throw new UsageError('--group expects at least one argument list, e.g. --group \'[[1,2]]\'');
  return lists;
}

/** Sends the group and, with --wait, waits for it; sets exitCode 1 when a member failed. */
export async function callGroup(app: Celeriac, name: string, lists: unknown[][], options: ApplyOptions, flags: GroupFlags, timeout: number | undefined): Promise<void> {
  const { kwargs, ...rest } = options;
  const set: SignatureOptions = {};
  for (const key of ['queue', 'countdown', 'eta', 'expires', 'priority'] as const) if (rest[key] !== undefined) Object.assign(set, { [key]: rest[key] });
  const members = lists.map((args) => app.signature(name, args, { kwargs: kwargs ?? {} }).set(set));
  const result = await group(members).applyAsync();
  if (!flags.wait) {
    process.stdout.write(flags.json ? `${JSON.stringify({ id: result.id, members: result.results.map((r) => r.id) })}\n` : `${result.id}\n`);
    return;
  }
  if (!flags.json) process.stdout.write(`${result.id}\n`);
  const printer = progressPrinter(lists.length);
  let last: GroupProgress = { total: lists.length, done: 0, succeeded: 0, failed: 0 };
  printer.update(last);
  const values = await result.get({ propagate: false, timeout, onProgress: (p) => printer.update((last = p)) });
  printer.end(last);
  const failed = values.filter((v) => v instanceof Error);
  const shown = values.map((v) => (v instanceof Error ? { error: v.message } : v));
  process.stdout.write(flags.json ? `${JSON.stringify({ id: result.id, results: shown })}\n` : `${formatValue(shown)}\n`);
  if (failed.length) {
    process.stderr.write(`celeriac: ${failed.length} of ${lists.length} tasks of group ${result.id} failed; the first: ${(failed[0] as Error).message}\n`);
    process.exitCode = 1;
  }
}
