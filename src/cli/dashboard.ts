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
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description('Serve the web dashboard: workers, tasks, control actions, a Flower-style JSON API and a live event stream')
    .option('-A, --app <module>', 'module that exports the app (for its broker and results); default: CELERIAC_BROKER_URL')
    .option('-p, --port <port>', 'port to listen on', '5555')
    .option('-a, --address <address>', 'address to bind (0.0.0.0 to listen on every interface)', '127.0.0.1')
    .option('--basic-auth <user:password>', 'require HTTP basic auth with these credentials')
    .option('-t, --timeout <seconds>', 'how long to wait for workers to reply to inspect and control commands', '1')
    .action(async (flags: DashboardFlags) => {
      const port = parseNumberOption('--port', flags.port, { min: 0, integer: true });
      if (port > 65535) throw new UsageError(`--port expects a port number 0-65535, got ${flags.port}`);
      const timeout = parseNumberOption('--timeout', flags.timeout, { min: 0 }) * 1000;
      if (flags.basicAuth !== undefined && !/^[^:]+:.+$/.test(flags.basicAuth)) throw new UsageError("--basic-auth expects 'user:password'");
      const app = await loadApp(flags.app);
      let stop: () => void = () => undefined;
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const dashboard = await startDashboard(app, { port, address: flags.address, timeout, ...(flags.basicAuth ? { basicAuth: flags.basicAuth } : {}) }).catch((err: unknown) => {
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
