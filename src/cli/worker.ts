/** `celeriac worker`: load the app, print the banner, consume until SIGTERM/SIGINT (twice = cold). */
import { availableParallelism, platform, release } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Beat, Worker, createLogger, type Celeriac } from '../index.js';
import type { WorkerMetrics } from '../dashboard/worker-metrics.js';
import { loadApp } from './load-app.js';
import { createPidfile, removePidfile } from './pidfile.js';
import { parseNumberOption, UsageError } from './usage.js';

interface WorkerFlags {
  app?: string;
  queues?: string;
  concurrency?: string;
  loglevel: string;
  hostname?: string;
  prefetchMultiplier?: string;
  acksLate?: boolean;
  pool: string;
  logFormat?: string;
  beat?: boolean;
  schedule?: string;
  withoutControl?: boolean;
  controlAllow?: string;
  statedb?: string;
  maxTasksPerChild?: string;
  maxMemoryPerChild?: string;
  autoscale?: string;
  timeLimit?: string;
  softTimeLimit?: string;
  taskEvents?: boolean;
  withoutHeartbeat?: boolean;
  withoutGossip?: boolean;
  heartbeatInterval?: string;
  pidfile?: string;
  metrics?: string;
  poolRestarts?: boolean;
  nodeHeap?: boolean;
}

const POOLS = ['async', 'threads', 'processes'] as const;

/** Parses `--autoscale max,min` (min defaults to 0, as in Celery). */
function parseAutoscale(text: string): { max: number; min: number } {
  const [maxText = '', minText = '0'] = text.split(',').map((p) => p.trim());
  const max = parseNumberOption('--autoscale (max)', maxText, { min: 1, integer: true });
  const min = parseNumberOption('--autoscale (min)', minText, { min: 0, integer: true });
  if (min > max) throw new UsageError(`--autoscale expects max,min with max >= min; got '${text}'`);
  return { max, min };
}

/** `[host]:port` (a bare `:9808` binds 127.0.0.1, as `celeriac serve` does; `0.0.0.0:9808` every interface). */
function parseListen(flag: string, text: string): { address: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag} expects [host]:port, e.g. :9808 or 127.0.0.1:9808; got '${text}'`);
  return { address: m[1] ?? (m[2] || '127.0.0.1'), port };
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'critical', 'silent'];

export function banner(app: Celeriac, worker: Worker, version: string): string {
  const { broker, backend } = app.describe();
  const queues = worker.queues.map((q) => `                .> ${q.padEnd(16)} exchange=${q}(direct) key=${q}`).join('\n');
  const tasks = [...app.tasks.keys()].sort().map((t) => `  . ${t}`).join('\n') || '  (none registered: check -A)';
  return [
    ` -------------- ${worker.hostname} v${version} (Node ${process.version})`,
    `--- ***** ----- ${platform()}-${release()}`,
    '-- ******* ---- ',
    '- *** --- * --- ',
    '- ** ---------- [config]',
    `- ** ---------- .> app:         ${app.main}`,
    `- ** ---------- .> transport:   ${broker}`,
    `- ** ---------- .> results:     ${backend}`,
    `- *** --- * --- .> concurrency: ${worker.concurrency} (${worker.pool.name})`,
    `-- ******* ---- .> prefetch:    ${worker.prefetch} (acks ${worker.acksLate ? 'late' : 'early'})`,
    `--- ***** ----- .> task events: ${worker.eventer.wanted ? 'ON' : 'OFF (enable -E to monitor tasks in this worker)'}`,
    ' -------------- [queues]',
    queues,
    '',
    '[tasks]',
    tasks,
    '',
  ].join('\n');
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Start a worker that consumes task queues')
    .option('-A, --app <module>', 'module that exports the app (path[:export]), TypeScript or JavaScript')
    .option('-Q, --queues <list>', 'comma-separated queues to consume (default: the default queue)')
    .option('-c, --concurrency <n>', `tasks run at once (default: number of CPUs, ${availableParallelism()})`)
    .option('-P, --pool <kind>', 'pool implementation: async (I/O-bound), threads or processes (CPU-bound)', 'async')
    .option('--max-tasks-per-child <n>', 'threads/processes: replace a child after it ran this many tasks')
    .option('--max-memory-per-child <KiB>', 'threads/processes: replace a child once a task leaves it above this resident memory (KiB)')
    .option('--autoscale <max,min>', 'grow the pool up to max with the backlog, shrink it back to min when idle')
    .option('--pool-restarts', "honour control pool_restart: new threads or children re-import the app module (threads/processes)")
    .option('--time-limit <seconds>', 'hard time limit for every task: the run is killed (threads/processes) or abandoned (async)')
    .option('--soft-time-limit <seconds>', "soft time limit for every task: the task's signal aborts with SoftTimeLimitExceeded")
    .option('-n, --hostname <name>', 'node name, %h = host name (default celeriac@%h)')
    .option('-l, --loglevel <level>', `log level: ${LEVELS.join(', ')}`, 'info')
    .option('--prefetch-multiplier <n>', 'messages held per concurrency slot')
    .option('--acks-late', 'ack messages after the task finished (at-least-once)')
    .option('--log-format <format>', 'pretty or json (default: pretty on a terminal)')
    .option('-B, --beat', 'also run beat (periodic tasks) in this worker; several workers with -B elect one leader')
    .option('-s, --schedule <file>', 'with -B: keep the last runs of beat entries in this JSON file instead of the result backend')
    .option('--without-control', 'do not answer remote-control commands (inspect, control)')
    .option('--control-allow <list>', 'comma-separated remote-control commands this worker runs (default: all)')
    .option('--statedb <path>', 'file keeping revoked task ids across restarts')
    .option('-E, --task-events', 'send task events (task-received, -started, -succeeded...) for monitors such as celeriac events and Flower')
    .option('--without-heartbeat', 'send no worker-online, worker-heartbeat and worker-offline events')
    .option('--without-gossip', "do not follow the other workers' events nor take part in elections")
    .option('--heartbeat-interval <seconds>', 'seconds between worker-heartbeat events (default 2)')
    .option('--metrics <[host]:port>', 'serve Prometheus metrics at http://host:port/metrics (:9808 binds 127.0.0.1; 0.0.0.0:9808 every interface)')
    .option('--node-heap', "keep Node's V8 heap defaults (young generation up to 2 x 16 MiB); by default a worker runs with a small young generation and an old one that grows by 20 %, about half the RSS")
    .option('--pidfile <file>', 'write the pid to this file while running (refused if it names a running worker; a stale one is replaced)')
    .action(async (flags: WorkerFlags) => {
      let level = flags.loglevel.toLowerCase();
      if (!LEVELS.includes(level)) throw new UsageError(`-l expects one of ${LEVELS.join(', ')}; got '${flags.loglevel}'`);
      level = level === 'warning' ? 'warn' : level === 'critical' ? 'fatal' : level;
      const pool = POOLS.find((p) => p === flags.pool);
      if (!pool) throw new UsageError(`-P expects one of ${POOLS.join(', ')}; got '${flags.pool}'`);
      if (pool !== 'async' && !flags.app) throw new UsageError(`-P ${pool} loads your tasks in each child: give the app module with -A, e.g. -A ./tasks.ts`);
      const maxTasksPerChild = flags.maxTasksPerChild === undefined ? undefined : parseNumberOption('--max-tasks-per-child', flags.maxTasksPerChild, { min: 1, integer: true });
      const maxMemoryPerChild = flags.maxMemoryPerChild === undefined ? undefined : parseNumberOption('--max-memory-per-child', flags.maxMemoryPerChild, { min: 1, integer: true });
      const autoscale = flags.autoscale === undefined ? undefined : parseAutoscale(flags.autoscale);
      const timeLimit = flags.timeLimit === undefined ? undefined : parseNumberOption('--time-limit', flags.timeLimit, { min: 0 });
      const softTimeLimit = flags.softTimeLimit === undefined ? undefined : parseNumberOption('--soft-time-limit', flags.softTimeLimit, { min: 0 });
      if (flags.logFormat && !['pretty', 'json'].includes(flags.logFormat)) throw new UsageError(`--log-format expects pretty or json; got '${flags.logFormat}'`);
      const heartbeatInterval = flags.heartbeatInterval === undefined ? undefined : parseNumberOption('--heartbeat-interval', flags.heartbeatInterval, { min: 0.001 });
      const concurrency = flags.concurrency === undefined ? undefined : parseNumberOption('-c', flags.concurrency, { min: 1, integer: true });
      const prefetchMultiplier = flags.prefetchMultiplier === undefined ? undefined : parseNumberOption('--prefetch-multiplier', flags.prefetchMultiplier, { min: 0, integer: true });
      const queues = flags.queues?.split(',').map((q) => q.trim()).filter(Boolean);
      const metricsAt = flags.metrics === undefined ? undefined : parseListen('--metrics', flags.metrics);
      if (flags.pidfile) {
        const pidfile = resolve(flags.pidfile);
        const stale = createPidfile(pidfile);
        if (stale !== undefined) process.stderr.write(`celeriac: replaced the stale pidfile ${pidfile} (pid ${stale} is gone)\n`);
        process.once('exit', () => removePidfile(pidfile));
      }
      const app = await loadApp(flags.app);
      const logger = createLogger({ level, pretty: flags.logFormat === undefined ? undefined : flags.logFormat === 'pretty' });
      const allow = flags.controlAllow?.split(',').map((c) => c.trim()).filter(Boolean);
      const unknownCommand = allow?.find((c) => !app.control.registry.get(c));
      if (unknownCommand) throw new UsageError(`--control-allow: no command '${unknownCommand}'; commands: ${app.control.registry.list().map((d) => d.name).join(', ')}`);
      const control = { enabled: !flags.withoutControl, ...(allow ? { allow } : {}), ...(flags.statedb ? { statedb: flags.statedb } : {}) };
      const worker = new Worker(app, { queues, concurrency, prefetchMultiplier, hostname: flags.hostname, acksLate: flags.acksLate, logger, control, pool, appModule: flags.app, maxTasksPerChild, maxMemoryPerChild, autoscale, timeLimit, softTimeLimit,
        ...(flags.taskEvents ? { taskEvents: true } : {}), ...(flags.poolRestarts ? { poolRestarts: true } : {}), heartbeat: !flags.withoutHeartbeat, heartbeatInterval, gossip: !flags.withoutGossip });
      const beat = flags.beat ? new Beat(app, { logger, scheduleFile: flags.schedule }) : undefined;
      const version = (program.version() ?? '0.0.0');
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals): void => {
        signals++;
        if (signals === 1) {
          logger.warn('%s received: warm shutdown (finishing running tasks; %s again for a cold shutdown)', sig, sig);
          void beat?.stop();
          void worker.stop();
        } else {
          logger.warn('%s received again: cold shutdown (handing running tasks back)', sig);
          void worker.stop({ cold: true });
        }
      };
      // Listened to before start: a signal during start-up stops the worker as soon as it has started.
      const stopped = new Promise<void>((resolve) => worker.once('stopped', resolve));
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      process.stdout.write(banner(app, worker, version));
      await beat?.open(); // a backend that cannot hold the lease fails here, before the worker starts
      await worker.start();
      if (worker.status === 'running') await beat?.start();
      let metrics: WorkerMetrics | undefined;
      if (metricsAt) {
        // prom-client is loaded only for workers that serve metrics.
        const { startWorkerMetrics } = await import('../dashboard/worker-metrics.js');
        metrics = await startWorkerMetrics(worker, metricsAt).catch((err: unknown) => {
          const code = (err as { code?: string }).code;
          if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new UsageError(`--metrics: cannot listen on ${flags.metrics} (${code}): choose another port`);
          throw err;
        });
        logger.info('metrics at %s', metrics.url);
      }
      if (worker.status === 'running') process.stdout.write(`${worker.hostname} ready.\n`);
      await stopped;
      await metrics?.close();
      await beat?.stop();
      await app.close();
      logger.flush?.();
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
}
