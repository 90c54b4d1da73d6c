/**
 * The processes behind `celeriac multi`: a node's pid from its pidfile (stale ones told apart), starting a
 * worker detached (own session, output to its log file) and waiting until it says it is ready, and
 * waiting for stopped ones to be gone.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MultiNode } from './multi-args.js';
import { isWorker, pidAlive, readPid } from './pidfile.js';

/** A node's process: its pid when it runs; `stale` when its pidfile names a process that is gone or not this node. */
export interface NodeProcess {
  pid?: number;
  stale?: number;
}

export function nodeProcess(node: MultiNode): NodeProcess {
  const pid = readPid(node.pidfile);
  if (pid === undefined) return {};
  return isWorker(pid, node.name) ? { pid } : { stale: pid };
}

/** Removes a pidfile that still names `pid`. */
export function removeIfNames(file: string, pid: number): void {
  if (readPid(file) !== pid) return;
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
}

export type StartOutcome = { ok: true; pid: number } | { ok: false; reason: string; log?: string };

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** What the log file got since `offset`. */
function logSince(file: string, offset: number): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Starts the node's worker detached: its own session (setsid), no terminal, stdout and stderr appended to
 * its log file. Resolves once the log says `<node> ready.`, or with the reason it did not get there (it
 * exited, or is not ready after `timeoutMs`: then it is left running).
 */
export function startNode(node: MultiNode, exec: readonly string[], timeoutMs: number): Promise<StartOutcome> {
  mkdirSync(dirname(node.logfile), { recursive: true });
  mkdirSync(dirname(node.pidfile), { recursive: true });
  const offset = sizeOf(node.logfile);
  const fd = openSync(node.logfile, 'a');
  const [command = process.execPath, ...rest] = exec;
  const child = spawn(command, [...rest, 'worker', ...node.args], { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  closeSync(fd);
  child.unref();
  const ready = `${node.name} ready.`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: StartOutcome): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      resolve(outcome);
    };
    const poll = setInterval(() => {
      if (logSince(node.logfile, offset).includes(ready)) finish({ ok: true, pid: child.pid ?? 0 });
    }, 100);
    const timer = setTimeout(() => {
      finish({ ok: false, reason: `not ready after ${timeoutMs / 1000} s (pid ${child.pid} is left running; see ${node.logfile})`, log: tail(logSince(node.logfile, offset), 10) });
    }, timeoutMs);
    child.once('error', (err) => finish({ ok: false, reason: `could not run ${command}: ${err.message}` }));
    child.once('exit', (code, signal) => {
      const log = logSince(node.logfile, offset);
      if (log.includes(ready)) return; // ready, then stopped at once: the poll reports it ready
      finish({ ok: false, reason: `the worker exited ${signal ? `on ${signal}` : `with code ${code}`} (see ${node.logfile})`, log: tail(log, 10) });
    });
  });
}

/** Calls `onGone` for each pid once its process is gone (polled: they are not our children). */
export async function waitGone(pids: readonly number[], onGone: (pid: number) => void, every = 100): Promise<void> {
  const left = new Set(pids);
  while (left.size > 0) {
    for (const pid of [...left]) {
      if (!pidAlive(pid)) {
        left.delete(pid);
        onGone(pid);
      }
    }
    if (left.size > 0) await new Promise((r) => setTimeout(r, every));
  }
}
