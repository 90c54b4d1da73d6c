/** `celeriac result <id>`: a task's state and result from the result backend; `--wait` waits until it is ready. */
import type { Command } from 'commander';
import { States, wireMessageText, type Celeriac, type ResultMeta } from '../index.js';
import { loadApp } from './load-app.js';
import { formatValue, parseNumberOption, UsageError } from './usage.js';

interface ResultFlags {
  app?: string;
  wait?: boolean;
  timeout?: string;
  traceback?: boolean;
  json?: boolean;
}

/** True for the states whose result is an error (the CLI exits 1 for them). */
export function isFailure(meta: ResultMeta): boolean {
  return meta.status === States.FAILURE || meta.status === States.REVOKED;
}

/** "TypeError: boom", from the wire form of the exception a FAILURE or REVOKED record carries. */
export function errorText(meta: ResultMeta): string {
  const r = meta.result;
  if (r !== null && typeof r === 'object' && 'exc_type' in r) {
    const wire = r as { exc_type: unknown; exc_message?: unknown };
    return `${String(wire.exc_type)}: ${wireMessageText(wire.exc_message ?? '')}`;
  }
  return formatValue(r);
}

/** The record as the CLI's `--json` prints it. */
export function metaJson(meta: ResultMeta): Record<string, unknown> {
  return { id: meta.task_id, state: meta.status, result: meta.result, traceback: meta.traceback, date_done: meta.date_done };
}

/** Reads a task's record; with `wait`, first waits until it is ready (ResultTimeoutError after `timeout` ms). */
export async function readMeta(app: Celeriac, id: string, wait: boolean, timeout: number | undefined): Promise<ResultMeta> {
  const result = app.AsyncResult(id);
  // A pending get() keeps the process alive until the result arrives or the timeout passes.
  if (wait) await result.get({ timeout, propagate: false });
  return result.meta();
}

/** Parses `--timeout`, which only makes sense with `--wait`. */
export function parseTimeout(flags: { wait?: boolean; timeout?: string }): number | undefined {
  if (flags.timeout === undefined) return undefined;
  if (!flags.wait) throw new UsageError('--timeout is how long --wait waits: add --wait, or drop --timeout');
  return parseNumberOption('--timeout', flags.timeout, { min: 0, integer: true });
}

export function registerResult(program: Command): void {
  program
    .command('result')
    .description("Show a task's state and result (exit 1 when the task failed or was revoked)")
    .argument('<id>', 'task id, as printed by `celeriac call` or AsyncResult.id')
    .option('-A, --app <module>', 'module that exports the app (for its result backend); default: CELERIAC_RESULT_BACKEND')
    .option('--wait', 'wait until the task is ready (SUCCESS, FAILURE or REVOKED)')
    .option('--timeout <ms>', 'with --wait: give up after this many milliseconds (exit 1)')
    .option('--traceback', 'print the traceback of a failed task')
    .option('--json', 'print { id, state, result, traceback, date_done } as JSON')
    .action(async (id: string, flags: ResultFlags) => {
      const timeout = parseTimeout(flags);
      const app = await loadApp(flags.app);
      try {
        const meta = await readMeta(app, id, flags.wait ?? false, timeout);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(metaJson(meta))}\n`);
        } else {
          process.stdout.write(describeMeta(meta, flags.traceback ?? false));
          if (meta.status === States.PENDING) {
            process.stderr.write('(PENDING: no result stored yet. The task is waiting or running, or the id is unknown, or its result expired.)\n');
          }
        }
        if (isFailure(meta)) process.exitCode = 1;
      } finally {
        await app.close();
      }
    });
}

/** `state:` and `result:` lines (and the traceback when asked and there is one). */
function describeMeta(meta: ResultMeta, traceback: boolean): string {
  const lines = [`state:  ${meta.status}`];
  if (isFailure(meta)) lines.push(`error:  ${errorText(meta)}`);
  else if (meta.status !== States.PENDING) lines.push(`result: ${formatValue(meta.result)}`);
  if (meta.date_done) lines.push(`done:   ${meta.date_done}`);
  if (traceback && meta.traceback) lines.push('traceback:', meta.traceback.trimEnd());
  else if (traceback && isFailure(meta)) lines.push('traceback: (none stored)');
  return `${lines.join('\n')}\n`;
}
