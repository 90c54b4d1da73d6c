/**
 * `celeriac migrate SOURCE_URL DEST_URL`: moves waiting tasks from one broker to another (SQLite to Redis,
 * Redis to RabbitMQ...), acking each only after the destination confirmed it; progress on stderr.
 */
import type { Command } from 'commander';
import { Celeriac, UnknownTransportError, type Transport } from '../index.js';
import { loadApp } from './load-app.js';
import { migrate } from './migrate-run.js';
import { progressPrinter } from './progress.js';
import { appQueues } from './purge.js';
import { formatTable, parseNumberOption, UsageError } from './usage.js';

interface MigrateFlags {
  app?: string;
  queues?: string;
  tasks?: string;
  limit?: string;
  timeout: string;
  forever?: boolean;
  rate?: string;
  batch: string;
}

const EXAMPLES = `
Messages go to the queue of the same name on the destination (declared there, durable, if missing), through
its default exchange; -Q old:new renames. Each is acked at the source only once the destination has it, so a
stopped or killed migrate loses nothing (a batch may arrive twice). Ctrl-C stops after the current batch.

Examples:
  $ celeriac migrate sqlite://./celeriac.db redis://localhost:6379/0
  $ celeriac migrate redis://localhost:6379/0 amqp://guest:guest@localhost:5672// -Q celery,for_add
  $ celeriac migrate redis://old:6379/0 redis://new:6379/0 -Q celery:legacy --tasks tasks.add,tasks.mul --limit 1000
  $ celeriac migrate sqlite://./celeriac.db amqp://localhost// -A ./tasks.ts --rate 500   # the app's queues, 500/s
Exit codes: 0 done; 1 a broker failed or migrate was interrupted (run it again to go on); 2 bad arguments.`;

const list = (flag: string, text: string | undefined): string[] | undefined => {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag} expects a comma-separated list, e.g. ${flag} ${flag === '--tasks' ? 'tasks.add,tasks.mul' : 'celery,for_add'}`);
  return items;
};

/** `-Q a,b:c` as [source, destination] pairs (Celery's `old:new` renames). */
export function parseQueueMap(names: readonly string[]): [string, string][] {
  return names.map((q) => {
    const [from = '', to = from, extra] = q.split(':');
    if (!from || !to || extra !== undefined) throw new UsageError(`-Q expects queue or source:destination names; got '${q}'`);
    return [from, to];
  });
}

const normalized = (url: string): string => url.replace(/\/+$/, '');

/** The app's broker; a URL no plug-in reads is bad input (exit 2). */
async function connect(app: Celeriac, which: string): Promise<Transport> {
  try {
    return await app.connection();
  } catch (err) {
    if (err instanceof UnknownTransportError) throw new UsageError(`the ${which} URL: ${err.message}`);
    throw err;
  }
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Move waiting tasks from one broker to another, acking each only after the destination has it')
    .argument('<source>', 'broker URL to take the tasks from')
    .argument('<destination>', 'broker URL to put them on')
    .option('-Q, --queues <list>', 'comma-separated queues, source:destination to rename (default: the default queue, or with -A the queues of the app)')
    .option('-A, --app <module>', 'module that exports the app: its default queue and the queues of its taskRoutes are moved')
    .option('-T, --tasks <list>', 'move only tasks of these names; the others stay in the source queues')
    .option('-n, --limit <n>', 'stop after moving this many messages')
    .option('-t, --timeout <seconds>', 'a queue is done after this long without a message', '1')
    .option('-F, --forever', 'keep moving new messages until stopped (Ctrl-C)')
    .option('--rate <n>', 'move at most n messages per second (spares the brokers and the workers behind them)')
    .option('--batch <n>', 'messages taken, published and acked together', '100')
    .addHelpText('after', EXAMPLES)
    .action(async (sourceUrl: string, destUrl: string, flags: MigrateFlags) => {
      const limit = flags.limit === undefined ? undefined : parseNumberOption('--limit', flags.limit, { min: 1, integer: true });
      const idle = parseNumberOption('--timeout', flags.timeout, { min: 0 });
      const rate = flags.rate === undefined ? undefined : parseNumberOption('--rate', flags.rate, { min: 0.001 });
      const batch = parseNumberOption('--batch', flags.batch, { min: 1, integer: true });
      const tasks = list('--tasks', flags.tasks);
      const named = list('-Q', flags.queues);
      let queues: [string, string][];
      if (named) queues = parseQueueMap(named);
      else {
        const app = await loadApp(flags.app);
        queues = appQueues(app).map((q) => [q, q]);
        await app.close();
      }
      const loop = queues.find(([from, to]) => from === to);
      if (normalized(sourceUrl) === normalized(destUrl) && loop) throw new UsageError(`source and destination are the same broker: queue ${loop[0]} would be moved onto itself forever; rename it (-Q ${loop[0]}:other) or give another destination`);
      const source = new Celeriac('celeriac-migrate-source', { broker: sourceUrl, backend: 'memory://' });
      const dest = new Celeriac('celeriac-migrate-destination', { broker: destUrl, backend: 'memory://' });
      const abort = new AbortController();
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (++signals > 1) process.exit(1); // what was not acked goes back to the source queue
        process.stderr.write(`\n${sig}: stopping after the current batch (again to quit at once)\n`);
        abort.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const [from, to] = [await connect(source, 'source'), await connect(dest, 'destination')];
        let ready = 0;
        for (const [q] of queues) ready += (await from.queueInfo(q).catch(() => ({ messages: 0 }))).messages;
        const total = limit === undefined ? ready : Math.min(limit, ready);
        process.stderr.write(`Moving ${total} waiting ${total === 1 ? 'message' : 'messages'} of ${queues.map(([q]) => q).join(', ')} from ${from.url} to ${to.url}\n`);
        const printer = progressPrinter(total, tasks ? 'examined' : 'moved');
        let last = { done: 0, total };
        const result = await migrate(from, to, {
          queues, limit, idleMs: idle * 1000, forever: flags.forever === true, batch, ...(rate ? { rate } : {}), signal: abort.signal,
          ...(tasks ? { tasks: new Set(tasks) } : {}),
          onProgress: (moved, skipped) => printer.update((last = { done: tasks ? moved + skipped : moved, total: Math.max(total, tasks ? moved + skipped : moved) })),
        });
        printer.end(last);
        const rows = queues.map(([q, d]): [string, string, number] => [q, d, result.moved.get(q) ?? 0]);
        const moved = rows.reduce((n, r) => n + r[2], 0);
        process.stdout.write(formatTable(['QUEUE', 'TO', 'MOVED'], rows));
        process.stdout.write(`Moved ${moved} ${moved === 1 ? 'message' : 'messages'} from ${from.url} to ${to.url}${result.skipped ? `; ${result.skipped} of other tasks left in the source` : ''}.\n`);
        if (abort.signal.aborted) {
          process.stderr.write('celeriac: migrate was interrupted: the messages not moved are still in the source; run it again to go on\n');
          process.exitCode = 1;
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await Promise.all([source.close(), dest.close()]);
      }
    });
}
