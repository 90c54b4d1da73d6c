/**
 * `celeriac logtool stats|traces|errors|incomplete FILE...` (Celery's `celery logtool`): reads worker logs, pino
 * JSON or pretty lines (and Python Celery workers' own), and reports on the tasks in them. `-` reads stdin.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { formatStats, LogAudit, type AuditHooks } from './log-audit.js';
import { UsageError } from './usage.js';

const ACTIONS = {
  stats: 'Counts: tasks received, succeeded, failed, retried, revoked, and per task name',
  traces: 'Stack traces in the logs (a failed task\'s, or any error logged with one)',
  errors: 'The log lines of tasks that failed or were revoked',
  incomplete: 'Ids of tasks received and never seen ending (still running when the log ends, or lost)',
} as const;
type Action = keyof typeof ACTIONS;

async function feed(audit: LogAudit, files: readonly string[]): Promise<void> {
  for (const file of files) {
    const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    for await (const line of lines) audit.feed(line);
  }
  audit.end();
}

function checkFiles(action: string, files: readonly string[]): void {
  if (!files.length) throw new UsageError(`logtool ${action} needs one or more log files (- for stdin), e.g. celeriac logtool ${action} worker.log`);
  for (const f of files) {
    if (f === '-') continue;
    if (!existsSync(f)) throw new UsageError(`logtool ${action}: no such file '${f}'`);
    if (statSync(f).isDirectory()) throw new UsageError(`logtool ${action}: '${f}' is a directory; give log files`);
  }
}

export function registerLogtool(program: Command): void {
  const logtool = program
    .command('logtool')
    .description('Read worker logs (pino JSON, pretty, or Python Celery\'s): stats, traces, errors, incomplete tasks')
    .addHelpText('after', ['', 'Examples:', '  $ celeriac worker -A ./tasks.ts --log-format json 2> worker.log', '  $ celeriac logtool stats worker.log', '  $ celeriac logtool errors worker-*.log', '  $ celeriac logtool incomplete --json worker.log', '  $ kubectl logs my-worker | celeriac logtool traces -'].join('\n'));
  for (const [action, description] of Object.entries(ACTIONS) as [Action, string][]) {
    logtool
      .command(action)
      .description(description)
      .argument('[files...]', 'log files; - for stdin')
      .option('-j, --json', 'print JSON')
      .addHelpText('after', `\nExample:\n  $ celeriac logtool ${action} worker.log other-worker.log\n`)
      .action(async (files: string[], flags: { json?: boolean }) => {
        checkFiles(action, files);
        const out: string[] = [];
        const collected: unknown[] = [];
        const hooks: AuditHooks = {};
        if (action === 'errors') hooks.onError = (r) => (flags.json ? collected.push({ level: r.level, msg: r.msg, line: r.line }) : out.push(r.line));
        if (action === 'traces') hooks.onTrace = (r) => (flags.json ? collected.push({ level: r.level, msg: r.msg, trace: r.trace.join('\n') }) : out.push([r.head, ...r.trace, ''].join('\n')));
        const audit = new LogAudit(hooks);
        await feed(audit, files);
        if (action === 'stats') {
          process.stdout.write(flags.json ? `${JSON.stringify(audit.report(), null, 2)}\n` : formatStats(audit.report()));
        } else if (action === 'incomplete') {
          const ids = audit.incomplete();
          process.stdout.write(flags.json ? `${JSON.stringify(ids)}\n` : ids.map((id) => `Did not complete: ${id}\n`).join(''));
        } else process.stdout.write(flags.json ? `${JSON.stringify(collected, null, 2)}\n` : out.map((l) => `${l}\n`).join(''));
      });
  }
  logtool.action(() => {
    throw new UsageError(`logtool needs an action: ${Object.keys(ACTIONS).join(', ')}, e.g. celeriac logtool stats worker.log`);
  });
}
