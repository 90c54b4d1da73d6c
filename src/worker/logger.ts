/** Logging with pino: human-readable lines on a terminal, JSON lines otherwise (or when asked). */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** true: pretty lines; false: JSON; undefined: pretty when stderr is a terminal. */
  pretty?: boolean;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const usePretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const base = { level, name: options.name, base: { pid: process.pid } };
  if (!usePretty) return pino(base, pino.destination({ dest: 2, sync: true }));
  const stream = pretty({ destination: 2, sync: true, colorize: Boolean(process.stderr.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' });
  return pino(base, stream);
}
