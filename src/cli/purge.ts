/** `celeriac purge`: delete every waiting message from task queues, after a confirmation (or -f). No undo. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { Celeriac } from '../index.js';
import { loadApp } from './load-app.js';
import { formatTable, UsageError } from './usage.js';

interface PurgeFlags {
  app?: string;
  queues?: string;
  force?: boolean;
}

/** The queues an app sends to: its default queue, then every queue its `taskRoutes` name. */
export function appQueues(app: Celeriac): string[] {
  const { defaultQueue, taskRoutes } = app.conf;
  const routed = Object.values(taskRoutes).map((spec) => (typeof spec === 'string' ? spec : (spec.queue ?? defaultQueue)));
  return [...new Set([defaultQueue, ...routed])];
}

async function confirm(queues: readonly string[]): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    process.stderr.write(
      `WARNING: this removes every waiting message from ${queues.length === 1 ? 'queue' : 'queues'} ${queues.join(', ')}. There is no undo.\n` +
        '(Messages workers hold already are not touched. Pass -f to skip this question.)\n',
    );
    const answer = await rl.question('Delete them? [y/N] ');
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function registerPurge(program: Command): void {
  program
    .command('purge')
    .description('Delete every waiting message from task queues (asks first unless -f; no undo)')
    .option('-A, --app <module>', 'module that exports the app (its broker, default queue and taskRoutes)')
    .option('-Q, --queues <list>', 'comma-separated queues (default: the default queue and every queue in taskRoutes)')
    .option('-f, --force', 'purge without asking')
    .action(async (flags: PurgeFlags) => {
      const named = flags.queues?.split(',').map((q) => q.trim()).filter(Boolean);
      if (flags.queues !== undefined && !named?.length) throw new UsageError('-Q expects comma-separated queue names, e.g. -Q celery,for_add');
      if (!flags.force && !process.stdin.isTTY) {
        throw new UsageError('purge deletes messages and cannot ask for confirmation here (stdin is not a terminal): pass -f to purge anyway');
      }
      const app = await loadApp(flags.app);
      try {
        const queues = named ? [...new Set(named)] : appQueues(app);
        if (!flags.force && !(await confirm(queues))) {
          process.stderr.write('Nothing purged.\n');
          return;
        }
        const transport = await app.connection();
        const rows: [string, number][] = [];
        for (const queue of queues) rows.push([queue, await transport.purge(queue)]);
        const total = rows.reduce((n, [, count]) => n + count, 0);
        process.stdout.write(formatTable(['QUEUE', 'PURGED'], rows));
        process.stdout.write(`Purged ${total} ${total === 1 ? 'message' : 'messages'} from ${rows.length} ${rows.length === 1 ? 'queue' : 'queues'}.\n`);
      } finally {
        await app.close();
      }
    });
}
