/**
 * `celeriac upgrade settings FILE` (Celery's `celery upgrade settings`): reads a Python Celery config module
 * without running it and prints the celeriac config (a TypeScript app with celeriac's option names, the worker
 * flags, what does not carry over and why) and the module with Celery's new lowercase names.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { OPTIONS } from '../index.js';
import { CELERY_NEW_NAMES, CELERY_OLD_TO_NEW } from './celery-settings.js';
import { readAssignments, renameNames, type Assignment } from './python-config.js';
import { convertSettings, type Conversion, type SettingIn } from './upgrade-map.js';
import { UsageError } from './usage.js';

interface UpgradeFlags {
  celeriac?: boolean;
  celery?: boolean;
  json?: boolean;
  name: string;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** A value as TypeScript source: single-quoted strings, bare keys where they are identifiers. */
export function tsLiteral(v: unknown, indent = ''): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined';
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    const flat = `[${v.map((x) => tsLiteral(x, inner)).join(', ')}]`;
    return flat.length <= 80 && !flat.includes('\n') ? flat : `[\n${v.map((x) => `${inner}${tsLiteral(x, inner)},`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${IDENT.test(k) ? k : tsLiteral(k)}: ${tsLiteral(x, inner)}`);
  if (!entries.length) return '{}';
  const flat = `{ ${entries.join(', ')} }`;
  return flat.length <= 80 && !flat.includes('\n') ? flat : `{\n${entries.map((e) => `${inner}${e},`).join('\n')}\n${indent}}`;
}

function validate(option: string, value: unknown): string | undefined {
  const spec = (OPTIONS as unknown as Record<string, { schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string; path: (string | number)[] }[] } } } }>)[option];
  if (!spec) return `celeriac has no option ${option}`;
  const r = spec.schema.safeParse(value);
  const issue = r.error?.issues[0];
  return r.success ? undefined : `${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'invalid'}`;
}

/** The settings of the module, by Celery's new name (the last assignment wins, as in Python), and its unknown UPPERCASE names. */
export function settingsOf(assignments: readonly Assignment[]): { settings: SettingIn[]; unknown: Assignment[] } {
  const settings = new Map<string, SettingIn>();
  const unknown: Assignment[] = [];
  for (const a of assignments) {
    const name = CELERY_OLD_TO_NEW[a.name] ?? (CELERY_NEW_NAMES.has(a.name) ? a.name : undefined);
    if (name) {
      settings.delete(name);
      settings.set(name, { setting: a.name, name, line: a.line, ...(a.error ? { error: a.error } : { value: a.value }) });
    } else if (/^[A-Z][A-Z0-9_]*$/.test(a.name)) unknown.push(a);
  }
  return { settings: [...settings.values()], unknown };
}

export function renderCeleriac(file: string, main: string, c: Conversion, unknown: readonly Assignment[]): string {
  const lines = [
    `// celeriac configuration from ${file}, by \`celeriac upgrade settings\`.`,
    "import { Celeriac } from 'celeriac';",
    '',
    `export const app = new Celeriac(${tsLiteral(main)}, ${tsLiteral(c.config)});`,
  ];
  if (c.flags.length) lines.push('', '// Worker options in celeriac, given on its command line:', `//   celeriac worker -A ./tasks.ts ${c.flags.join(' ')}`);
  if (c.notes.length) lines.push('', '// Notes:', ...c.notes.map((n) => `//   ${n}`));
  if (c.notCarried.length) {
    lines.push('', '// Not carried over:');
    for (const n of c.notCarried) lines.push(`//   ${n.setting}${n.setting === n.name ? '' : ` (${n.name})`}, line ${n.line}: ${n.why}`);
  }
  if (unknown.length) lines.push('', '// Not settings of Celery 5 (left out):', `//   ${unknown.map((u) => u.name).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function registerUpgrade(program: Command): void {
  const upgrade = program.command('upgrade').description("Carry settings over from Python Celery: celeriac's options and Celery's new names");
  upgrade
    .command('settings')
    .description("Read a Celery config module (not run: literals only) and print the celeriac config, then the module with Celery's new lowercase names")
    .argument('<file>', 'the Python config module, e.g. celeryconfig.py')
    .option('--celeriac', 'print only the celeriac config (TypeScript)')
    .option('--celery', "print only the module with Celery's new setting names (Python)")
    .option('-j, --json', 'print { config, workerFlags, notCarried, notes, celery } as JSON')
    .option('--name <main>', "the app's name in the TypeScript", 'tasks')
    .addHelpText('after', ['', 'Examples:', '  $ celeriac upgrade settings celeryconfig.py', '  $ celeriac upgrade settings celeryconfig.py --celeriac > tasks-config.ts', '  $ celeriac upgrade settings celeryconfig.py --celery > celeryconfig_new.py', '  $ celeriac upgrade settings proj/settings.py --json'].join('\n'))
    .action((file: string, flags: UpgradeFlags) => {
      if (flags.celeriac && flags.celery) throw new UsageError('--celeriac and --celery each print one part; give neither to print both');
      if (!existsSync(file)) throw new UsageError(`upgrade settings: no such file '${file}'`);
      if (statSync(file).isDirectory()) throw new UsageError(`upgrade settings: '${file}' is a directory; give the config module, e.g. celeryconfig.py`);
      const src = readFileSync(file, 'utf8');
      let assignments: Assignment[];
      try {
        assignments = readAssignments(src);
      } catch (err) {
        throw new UsageError(`upgrade settings: ${file} is not Python this reader understands: ${err instanceof Error ? err.message : String(err)}`);
      }
      const { settings, unknown } = settingsOf(assignments);
      const conversion = convertSettings(settings, validate);
      const renamed = renameNames(src, (n) => CELERY_OLD_TO_NEW[n]);
      if (flags.json) {
        const { config, flags: workerFlags, notCarried, notes } = conversion;
        process.stdout.write(`${JSON.stringify({ config, workerFlags, notCarried, notes, unknown: unknown.map((u) => u.name), celery: renamed }, null, 2)}\n`);
        return;
      }
      if (!settings.length) process.stderr.write(`upgrade settings: ${file} sets no Celery setting\n`);
      if (!flags.celery) process.stdout.write(renderCeleriac(file, flags.name, conversion, unknown));
      if (flags.celeriac) return;
      if (!flags.celery) process.stdout.write("\n/* Celery's new setting names (--celery prints this alone):\n\n");
      process.stdout.write(flags.celery ? renamed : `${renamed.replace(/\*\//g, '*\\/')}\n*/\n`);
    });
  upgrade.action(() => {
    throw new UsageError('upgrade needs what to upgrade: celeriac upgrade settings celeryconfig.py');
  });
}
