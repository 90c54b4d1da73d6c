/**
 * `celeriac report` (Celery's `celery report`): what to paste in a bug report: versions, platform, the app, broker
 * and backend URLs with passwords masked, and the settings that differ from the defaults, secrets masked.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, type as osType } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { maskConfig, maskUrl, OPTIONS, type Celeriac } from '../index.js';
import { loadApp } from './load-app.js';

interface ReportFlags {
  app?: string;
  withDefaults?: boolean;
  json?: boolean;
}

/** The npm packages behind each kind of URL (loaded lazily by celeriac; absent when not installed). */
const DRIVERS = ['better-sqlite3', 'ioredis', 'amqplib'] as const;

/** A package's version as installed beside celeriac, or undefined. */
function packageVersion(name: string): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 6; i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version;
      } catch {
        // no package.json here: look one level up
      }
      dir = dirname(dir);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function ownVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

const scheme = (url: string): string => /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase() ?? url;

/** The report as data: what `--json` prints. */
export function reportData(app: Celeriac, appModule: string | undefined, withDefaults: boolean): Record<string, unknown> {
  const conf = app.conf as unknown as Record<string, unknown>;
  const options = OPTIONS as unknown as Record<string, { default: unknown; env?: string }>;
  const settings: Record<string, unknown> = {};
  const fromEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(conf)) {
    const spec = options[name];
    if (spec?.env && process.env[spec.env] !== undefined) fromEnv[name] = spec.env;
    if (withDefaults || !spec || JSON.stringify(value) !== JSON.stringify(spec.default) || fromEnv[name]) settings[name] = maskConfig(value, name);
  }
  return {
    software: { celeriac: ownVersion(), node: process.version, v8: process.versions.v8, ...Object.fromEntries(DRIVERS.map((d) => [d, packageVersion(d) ?? null])) },
    platform: { system: osType(), platform: platform(), arch: arch(), kernel: release(), cpus: cpus().length },
    loader: { app: app.main, module: appModule ? resolve(appModule.split(':')[0] as string) : null },
    transport: scheme(app.conf.broker),
    broker: maskUrl(app.conf.broker),
    results: maskUrl(app.conf.backend),
    settings,
    environment: fromEnv,
  };
}

/** Celery's BUGREPORT_INFO layout, with celeriac's software. */
export function formatReport(data: Record<string, unknown>): string {
  const sw = data['software'] as Record<string, string | null>;
  const pf = data['platform'] as Record<string, string | number>;
  const loader = data['loader'] as { app: string; module: string | null };
  const env = data['environment'] as Record<string, string>;
  const drivers = DRIVERS.map((d) => `${d}:${sw[d] ?? 'not installed'}`).join(' ');
  const settings = Object.entries(data['settings'] as Record<string, unknown>).map(([k, v]) => `${k}: ${JSON.stringify(v)}${env[k] ? `  (from ${env[k]})` : ''}`);
  return [
    '',
    `software -> celeriac:${sw['celeriac']} node:${sw['node']} v8:${sw['v8']}`,
    `            ${drivers}`,
    `platform -> system:${pf['system']} arch:${pf['arch']}`,
    `            kernel version:${pf['kernel']} cpus:${pf['cpus']} imp:node`,
    `loader   -> app ${loader.app}${loader.module ? ` from ${loader.module}` : ' (no -A: configured by CELERIAC_* variables)'}`,
    `settings -> transport:${String(data['transport'])} broker:${String(data['broker'])} results:${String(data['results'])}`,
    '',
    ...(settings.length ? settings : ['(every setting has its default)']),
    '',
  ].join('\n');
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Versions, platform, broker and backend (passwords masked) and settings (secrets masked): what to paste in a bug report')
    .option('-A, --app <module>', 'module that exports the app (its settings); default: a plain app configured by CELERIAC_* variables')
    .option('--with-defaults', 'list every setting, not only those that differ from the defaults')
    .option('-j, --json', 'print the report as JSON')
    .addHelpText('after', ['', 'Examples:', '  $ celeriac report -A ./tasks.ts', '  $ CELERIAC_BROKER_URL=redis://:secret@localhost:6379/0 celeriac report --json', '  $ celeriac report -A ./tasks.ts --with-defaults'].join('\n'))
    .action(async (flags: ReportFlags) => {
      const app = await loadApp(flags.app);
      try {
        const data = reportData(app, flags.app, flags.withDefaults === true);
        process.stdout.write(flags.json ? `${JSON.stringify(data, null, 2)}\n` : formatReport(data));
      } finally {
        await app.close();
      }
    });
}
