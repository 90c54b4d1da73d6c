/**
 * `celeriac events`: with no flag, the live terminal view (cli/monitor.ts, Celery's curses monitor); with
 * --dump, a monitor that prints each event as it arrives, as `celery events --dump` does (or one
 * JSON object per line with --json). Its queue `celeryev.<uuid>` is bound with --routing-key (default '#');
 * SIGINT/SIGTERM stop it cleanly and delete the queue.
 */
import type { Command } from 'commander';
import { EventDumper } from '../index.js';
import { loadApp } from './load-app.js';
import { runMonitor } from './monitor.js';
import { UsageError } from './usage.js';

interface EventsFlags {
  app?: string;
  dump?: boolean;
  json?: boolean;
  routingKey: string;
}

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('Monitor events: a live view of workers and tasks (keys: j/k, Enter, r, t, c, q), or with --dump/--json print each event')
    .option('-A, --app <module>', 'module that exports the app (for its broker); default: CELERIAC_BROKER_URL')
    .option('-d, --dump', 'print each event as a line, as celery events --dump')
    .option('-j, --json', 'print each event as one JSON object per line')
    .option('-r, --routing-key <pattern>', "only events whose routing key matches, e.g. 'task.#' or 'worker.*'", '#')
    .action(async (flags: EventsFlags) => {
      if (flags.dump && flags.json) throw new UsageError('--dump and --json are two output formats: give one');
      if (!/^[\w.*#-]+$/.test(flags.routingKey)) throw new UsageError(`--routing-key expects words separated by dots, with * and #, e.g. 'task.#'; got ${JSON.stringify(flags.routingKey)}`);
      const app = await loadApp(flags.app);
      if (!flags.dump && !flags.json) {
        // The live view; without a terminal it refuses (exit 2) before connecting.
        try {
          await runMonitor(app, flags.routingKey);
        } finally {
          await app.close();
        }
        return;
      }
      const receiver = app.events.receiver({ routingKey: flags.routingKey });
      const dumper = new EventDumper();
      receiver.on('event', (e) => process.stdout.write(`${flags.json ? JSON.stringify(e) : dumper.format(e)}\n`));
      receiver.on('error', (err) => process.stderr.write(`-> event skipped: ${err.message}\n`));
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // A closed pipe (`celeriac events | head`) ends the capture like Ctrl-C.
      const onPipeError = (): void => stop();
      process.stdout.on('error', onPipeError);
      // Broker handles may be unref'd: keep the process alive until a signal.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      try {
        await receiver.start();
        // On stderr with --json, so stdout holds only events.
        (flags.json ? process.stderr : process.stdout).write(`-> celeriac events: capturing on ${app.describe().broker} (queue ${receiver.queue}, routing key ${flags.routingKey}); Ctrl-C to stop\n`);
        await stopped;
      } finally {
        clearInterval(keepAlive);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.stdout.off('error', onPipeError);
        await receiver.close();
        await app.close();
      }
      process.stderr.write(`-> celeriac events: stopped after ${receiver.received} event(s)\n`);
    });
}
