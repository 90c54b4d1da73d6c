// Running the built `celeriac` CLI with text piped into its stdin (the shells: `celeriac shell`, `celeriac amqp`).
import { spawn } from 'node:child_process';
import { CLI, ROOT, type Run } from './processes.js';

/** Runs `celeriac ...args` with `input` as its whole stdin (not a terminal); killed after `timeout` ms. */
export function runCliWithInput(args: string[], input: string, env: Record<string, string>, timeout = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}
