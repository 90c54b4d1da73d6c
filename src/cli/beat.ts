/** `celeriac beat`: send the app's periodic tasks while holding the leader lease; SIGTERM/SIGINT releases it. */
import type { Command } from 'commander';
import { Beat, createLogger, type Celeriac } from '../index.js';
import { loadApp } from './load-app.js';
import { parseNumberOption, UsageError } from './usage.js';

interface BeatFlags {
  app?: string;
  loglevel: string;
  schedule?: string;
  maxInterval?: string;
  leaseTime?: string;
  logFormat?: string;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'critical', 'silent'];

/** Checks -l and --log-format; returns the pino level. */
export function parseLogFlags(loglevel: string, logFormat: string | undefined): string {
  const level = loglevel.toLowerCase();
  if (!LEVELS.includes(level)) throw new UsageError(`-l expects one of ${LEVELS.join(', ')}; got '${loglevel}'`);
  if (logFormat && !['pretty', 'json'].includes(logFormat)) throw new UsageError(`--log-format expects pretty or json; got '${logFormat}'`);
  return level === 'warning' ? 'warn' : level === 'critical' ? 'fatal' : level;
}

export function beatBanner(app: Celeriac, beat: Beat, version: string): string {
  const { broker } = app.describe();
  const entries = beat.entries.map((e) => `    . ${e.name}: ${e.task} ${e.schedule.description}`).join('\n') || '    (none: add beatSchedule to the app options)';
  return [
    `celeriac beat v${version} is starting.`,
    'Configuration ->',
    `    . broker -> ${broker}`,
    `    . scheduler -> lease '${beat.leaseName}' (${beat.leaseMs / 1000} s) as ${beat.holder}`,
    `    . db -> ${beat.storeDescription}`,
    `    . timezone -> ${app.conf.timezone}`,
    `    . maxinterval -> ${beat.maxIntervalMs / 1000} s`,
    'Entries ->',
    entries,
    '',
  ].join('\n');
}

export function registerBeat(program: Command): void {
  program
    .command('beat')
    .description('Send periodic tasks (beatSchedule); several may run, one leads at a time')
    .option('-A, --app <module>', 'module that exports the app (path[:export]), TypeScript or JavaScript')
    .option('-l, --loglevel <level>', `log level: ${LEVELS.join(', ')}`, 'info')
    .option('-s, --schedule <file>', 'keep the last run of each entry in this JSON file instead of the result backend')
    .option('--max-interval <seconds>', 'most seconds between checks of the schedule (default: beatMaxLoopInterval, 300)')
    .option('--lease-time <seconds>', 'seconds the leader lease lasts unrenewed (default: beatLeaseTime, 30)')
    .option('--log-format <format>', 'pretty or json (default: pretty on a terminal)')
    .action(async (flags: BeatFlags) => {
      const level = parseLogFlags(flags.loglevel, flags.logFormat);
      const maxInterval = flags.maxInterval === undefined ? undefined : parseNumberOption('--max-interval', flags.maxInterval, { min: 0.01 });
      const leaseTime = flags.leaseTime === undefined ? undefined : parseNumberOption('--lease-time', flags.leaseTime, { min: 1 });
      if (flags.schedule !== undefined && flags.schedule.trim() === '') throw new UsageError('--schedule expects a file path, e.g. --schedule ./celeriac-beat.json');
      const app = await loadApp(flags.app);
      const logger = createLogger({ level, name: 'beat', pretty: flags.logFormat === undefined ? undefined : flags.logFormat === 'pretty' });
      const beat = new Beat(app, { scheduleFile: flags.schedule, maxInterval, leaseTime, logger });
      const stopped = new Promise<void>((resolve) => beat.once('stopped', resolve));
      let stopping = false;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (stopping) return;
        stopping = true;
        logger.warn('%s received: stopping beat and releasing the lease', sig);
        void beat.stop();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      process.stdout.write(beatBanner(app, beat, program.version() ?? '0.0.0'));
      const keepAlive = setInterval(() => undefined, 1 << 30);
      try {
        await beat.start();
        process.stdout.write(`beat ${beat.holder} started.\n`);
        await stopped;
      } finally {
        clearInterval(keepAlive);
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await app.close();
        logger.flush?.();
      }
    });
}
