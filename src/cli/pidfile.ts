/**
 * Pidfiles of detached workers (`celeriac worker --pidfile`, `celeriac multi`): written when the worker
 * starts, removed when it exits; one naming a process that is gone (or a reused pid) is stale and replaced.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from './usage.js';

/** The pid a pidfile names, or undefined when there is no file or it holds no pid. */
export function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether the process runs (a zombie, exited but not yet reaped by its parent, does not). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ...": the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) is all we know
  }
}

/** The command-line words of a process, or undefined where /proc cannot tell. */
export function processArgs(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` runs a celeriac worker (of node `node`, when given). A pidfile's pid reused by an unrelated
 * process after the worker died (a reboot) is not one. Where /proc cannot tell, a live pid is taken as one.
 */
export function isWorker(pid: number, node?: string): boolean {
  if (!pidAlive(pid)) return false;
  const args = processArgs(pid);
  if (!args) return true;
  // The node's short name in its arguments (-n w1@host, --hostname=w1@%h): another worker's reused pid is not it.
  const short = node?.split('@')[0];
  return args.includes('worker') && (!short || args.some((a) => a.includes(short)));
}

/** Removes the pidfile if it still names `pid` (a newer owner keeps it). */
export function removePidfile(file: string, pid = process.pid): void {
  if (readPid(file) !== pid) return;
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * Writes this process's pid to `file`, creating its folder. A pidfile naming a live process refuses (the
 * node runs already); a stale one (its process gone) is replaced. Returns the stale pid replaced, if any.
 */
export function createPidfile(file: string, pid = process.pid): number | undefined {
  mkdirSync(dirname(file), { recursive: true });
  let stale: number | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${pid}\n`, { flag: 'wx' });
      return stale;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new UsageError(`--pidfile ${file}: ${(err as Error).message}`);
    }
    const old = readPid(file);
    if (old !== undefined && old !== pid && isWorker(old)) {
      throw new UsageError(`--pidfile ${file} names pid ${old}, which is running: is this node started already? Stop it first (kill ${old}, or celeriac multi stop), or give another --pidfile`);
    }
    stale = old;
    try {
      unlinkSync(file);
    } catch {
      // another starter removed it first: try again
    }
  }
  throw new UsageError(`--pidfile ${file}: another process keeps creating it; is another worker starting with the same pidfile?`);
}
