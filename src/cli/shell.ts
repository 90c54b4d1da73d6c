/**
 * `celeriac shell -A ./tasks.ts`: a Node REPL with the app, its tasks and the canvas helpers in scope and
 * await at the top level (Celery's shell). Piped input runs line after line, each awaited before the next.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { start as startRepl, type REPLServer } from 'node:repl';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { chain, chord, group, type Celeriac } from '../index.js';
import { loadAppModule } from './load-app.js';

interface ShellFlags {
  app?: string;
  withoutTasks?: boolean;
}

const EXAMPLES = `
In scope: app, tasks (every task by name), signature(name, args, options), chain, group, chord, and each task
by its export name (and by the last part of its name: tasks.add is add). JavaScript, not TypeScript.

Examples:
  $ celeriac shell -A ./tasks.ts
  celeriac> const r = await add.delay(2, 2)
  celeriac> await r.get({ timeout: 10000 })
  4
  celeriac> await chain(add.s(1, 2), add.s(3)).applyAsync().then((r) => r.get())
  $ echo 'await add.delay(2, 2).then((r) => r.get({ timeout: 10000 }))' | celeriac shell -A ./tasks.ts
Piped lines run one after the other, each awaited before the next; the shell ends with the input.`;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** What the REPL sees: the app, the canvas helpers, and the tasks by export name and short name. */
export function shellScope(app: Celeriac, exports: Record<string, unknown>, withTasks: boolean): Record<string, unknown> {
  const tasks = Object.fromEntries([...app.tasks].filter(([name]) => !name.startsWith('celery.')));
  const scope: Record<string, unknown> = {
    app,
    tasks,
    chain,
    group,
    chord,
    signature: (name: string, args: unknown[] = [], options = {}) => app.signature(name, args, options),
  };
  if (!withTasks) return scope;
  const registered = new Set(Object.values(tasks));
  for (const [name, value] of Object.entries(exports)) if (registered.has(value as never) && !(name in scope)) scope[name] = value;
  for (const [name, task] of Object.entries(tasks)) {
    const short = name.split('.').pop() ?? name;
    if (IDENTIFIER.test(short) && !(short in scope)) scope[short] = task;
  }
  return scope;
}

/**
 * Feeds piped lines to the REPL one at a time, the next once the REPL shows its prompt again (after any
 * await), so `const r = await ...` is done before the line that uses `r`.
 */
function feedLines(repl: REPLServer, input: PassThrough): void {
  const lines: string[] = [];
  let ready = false;
  let ended = false;
  const feed = (): void => {
    if (!ready) return;
    const line = lines.shift();
    if (line !== undefined) {
      ready = false;
      input.write(`${line}\n`);
    } else if (ended) input.end();
  };
  const displayPrompt = repl.displayPrompt.bind(repl);
  repl.displayPrompt = (preserveCursor?: boolean) => {
    displayPrompt(preserveCursor);
    ready = true;
    setImmediate(feed);
  };
  ready = true;
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    lines.push(line);
    feed();
  });
  rl.on('close', () => {
    ended = true;
    feed();
  });
}

export function registerShell(program: Command): void {
  program
    .command('shell')
    .description("A JavaScript REPL with the app, its tasks and chain/group/chord in scope; await works at the top level (Celery's shell)")
    .option('-A, --app <module>', 'module that exports the app (path[:export]); its task exports come into scope')
    .option('-T, --without-tasks', 'do not put the tasks in scope by name (tasks and app.tasks still have them)')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ShellFlags) => {
      const { app, exports } = await loadAppModule(flags.app);
      const scope = shellScope(app, exports, !flags.withoutTasks);
      const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
      const names = Object.keys(scope).filter((n) => !['app', 'tasks', 'chain', 'group', 'chord', 'signature'].includes(n));
      (tty ? process.stdout : process.stderr).write(
        `celeriac shell: app ${app.main} on ${app.describe().broker}\nin scope: app, tasks, signature, chain, group, chord${names.length ? `, ${names.join(', ')}` : ''}\n`,
      );
      const piped = tty ? undefined : new PassThrough();
      const repl = startRepl({ prompt: 'celeriac> ', input: piped ?? process.stdin, output: process.stdout, terminal: tty, useGlobal: false });
      Object.assign(repl.context, scope);
      if (piped) feedLines(repl, piped);
      else repl.setupHistory(process.env['CELERIAC_SHELL_HISTORY'] ?? join(homedir(), '.celeriac_shell_history'), () => undefined);
      await new Promise<void>((resolve) => repl.once('exit', resolve));
      await app.close();
      if (tty) process.stdin.pause();
    });
}
