// Spawning `celeriac worker` child processes from the built CLI, and stopping them in tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = `${ROOT}dist/cli/main.js`;

export interface Spawned {
  child: ChildProcess;
  output(): string;
  /** Resolves when the output contains `text`. */
  waitFor(text: string | RegExp, timeout?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Spawns a command and collects its output; `waitFor` resolves when the output shows a text. */
export function spawnProcess(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Spawned {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.on('error', (err) => {
    out += `\n[spawn error] ${err.message}\n`;
  });
  return {
    child,
    output: () => out,
    exited,
    waitFor: (text, timeout = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const match = (): boolean => (typeof text === 'string' ? out.includes(text) : text.test(out));
        if (match()) return resolve();
        const done = (err?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve();
        };
        const timer = setTimeout(() => done(new Error(`timed out waiting for ${String(text)}; output so far:\n${out.slice(-3000)}`)), timeout);
        const check = (): void => {
          if (match()) done();
        };
        listeners.add(check);
        void exited.then(() => {
          if (!match()) done(new Error(`process exited before ${String(text)}; output:\n${out.slice(-3000)}`));
        });
      }),
  };
}

/** Runs the built `celeriac` CLI. */
export function spawnCli(args: string[], env: Record<string, string>, cwd = ROOT): Spawned {
  return spawnProcess(process.execPath, [CLI, ...args], { ...process.env, ...env }, cwd);
}

/** Starts a worker on the given SQLite file and waits until it is consuming. */
export async function startWorker(dbUrl: string, args: string[], env: Record<string, string> = {}): Promise<Spawned> {
  const w = spawnCli(['worker', '-A', `${ROOT}tests/fixtures/apps/test-tasks.ts`, '-l', 'info', '--log-format', 'json', ...args], {
    CELERIAC_BROKER_URL: dbUrl,
    CELERIAC_RESULT_BACKEND: dbUrl,
    ...env,
  });
  try {
    await w.waitFor(/ ready\.\n/);
  } catch (err) {
    w.child.kill('SIGKILL');
    throw err;
  }
  return w;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after 60 s), collecting its output. */
export function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The built `celeriac` CLI run to completion with `env` added to this process's. */
export function runCli(args: string[], env: Record<string, string>, cwd = ROOT): Promise<Run> {
  return runProcess(process.execPath, [CLI, ...args], { ...process.env, ...env }, cwd);
}
