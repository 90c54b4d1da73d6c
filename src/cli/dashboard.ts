/**
 * `celeriac dashboard`: the web dashboard (dashboard/server.ts) on the app's broker, Flower's port 5555 and
 * 127.0.0.1 by default; runs until SIGINT/SIGTERM, then deletes its monitor queue.
 */
import type { Command } from 'commander';
import { isLoopback, startDashboard } from '../dashboard/server.js';
import { loadApp } from './load-app.js';
import { parseNumberOption, UsageError } from './usage.js';

interface DashboardFlags {
  app?: string;
  port: string;
  address: string;
  basicAuth?: string;
  timeout: string;
  history?: string;
  historyMaxTasks?: string;
  historyMaxAge?: string;
  maxTasks?: string;
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('Serve the web dashboard: workers, tasks, queues, charts and task pages, control actions, a Flower-style JSON API, Prometheus metrics at /metrics and a live event stream')
    .option('-A, --app <module>', 'module that exports the app (for its broker and results); default: CELERIAC_BROKER_URL')
    .option('-p, --port <port>', 'port to listen on', '5555')
    .option('-a, --address <address>', 'address to bind (0.0.0.0 to listen on every interface)', '127.0.0.1')
    .option('--basic-auth <user:password>', 'require HTTP basic auth with these credentials')
    .option('-t, --timeout <seconds>', 'how long to wait for workers to reply to inspect and control commands', '1')
    .option('--max-tasks <n>', 'tasks kept in memory (default 10000)')
    .option('--history <file>', 'keep task history in this SQLite file, so it survives a restart of the dashboard')
    .option('--history-max-tasks <n>', 'with --history: tasks kept at most, the oldest dropped first (default 100000)')
    .option('--history-max-age <seconds>', 'with --history: drop tasks this long after their last event (default 604800, 7 days; 0: never)')
    .action(async (flags: DashboardFlags) => {
      const port = parseNumberOption('--port', flags.port, { min: 0, integer: true });
      if (port > 65535) throw new UsageError(`--port expects a port number 0-65535, got ${flags.port}`);
      const timeout = parseNumberOption('--timeout', flags.timeout, { min: 0 }) * 1000;
      if (flags.basicAuth !== undefined && !/^[^:]+:.+$/.test(flags.basicAuth)) throw new UsageError("--basic-auth expects 'user:password'");
      const count = (flag: string, text: string | undefined): number | undefined => (text === undefined ? undefined : parseNumberOption(flag, text, { min: 1, integer: true }));
      const maxTasks = count('--max-tasks', flags.maxTasks);
      const historyMaxTasks = count('--history-max-tasks', flags.historyMaxTasks);
      const historyMaxAge = flags.historyMaxAge === undefined ? undefined : parseNumberOption('--history-max-age', flags.historyMaxAge, { min: 0 });
      if (!flags.history && (historyMaxTasks !== undefined || historyMaxAge !== undefined)) throw new UsageError('--history-max-tasks and --history-max-age need --history FILE');
      const history = flags.history ? { history: flags.history, historyMaxTasks, historyMaxAge } : {};
      const app = await loadApp(flags.app);
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const dashboard = await startDashboard(app, { port, address: flags.address, timeout, maxTasks, ...history, ...(flags.basicAuth ? { basicAuth: flags.basicAuth } : {}) }).catch((err: unknown) => {
          const code = (err as { code?: string }).code;
          if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new UsageError(`cannot listen on ${flags.address}:${port} (${code}): choose another --port or --address`);
          throw err;
        });
        process.stdout.write(`-> celeriac dashboard: ${dashboard.url} (broker ${app.describe().broker}); Ctrl-C to stop\n`);
        if (!flags.basicAuth && !isLoopback(flags.address)) {
          process.stderr.write(`warning: listening on ${flags.address} without --basic-auth: anyone who reaches it sees the tasks; actions (revoke, shut down, rate limits, send tasks) are refused until --basic-auth is set\n`);
        }
        await stopped;
        await dashboard.close();
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await app.close();
      }
    });
}
