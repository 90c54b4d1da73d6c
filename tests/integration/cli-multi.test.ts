// `celeriac multi` run as an init script runs it: no terminal, detached workers on a temp SQLite file,
// with pidfiles and log files; start, per-node options, restart, stopwait, stale pidfiles, kill, show.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive, readPid } from '../../src/cli/pidfile.js';
import { ROOT, runCli, type Run } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const APP = `${ROOT}tests/fixtures/apps/test-tasks.ts`;

let dir: TempDir;
let env: Record<string, string>;
const cli = (...args: string[]): Promise<Run> => runCli(args, env, dir.path);
const multi = (...args: string[]): Promise<Run> => cli('multi', ...args, '--pidfile=run/%n.pid', '--logfile=log/%n%I.log');
const pidOf = (node: string): number | undefined => readPid(dir.file(`run/${node}.pid`));
/** The session id of a process (field 6 of /proc/<pid>/stat): a detached worker leads its own session. */
const sessionOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[3]);
const args = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

beforeAll(() => {
  dir = tempDir('celeriac-multi-');
  const url = `sqlite://${dir.file('celeriac.db')}`;
  env = { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url };
});

afterAll(async () => {
  // Whatever a failed case left running.
  for (const node of ['w1', 'w2', 'w3']) {
    const pid = pidOf(node);
    if (pid && pid !== process.pid && pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  dir.remove();
});

describe('celeriac multi', () => {
  it('start: detached workers with pidfiles, log files and per-node options, serving tasks after multi exited', async () => {
    const run = await multi('start', 'w1', 'w2', '-A', APP, '-c', '2', '-c:w1', '3', '-Q:w2', 'for_add');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/> w1@\S+: OK \(pid \d+\)\n.*> w2@\S+: OK \(pid \d+\)/s);
    const [p1, p2] = [pidOf('w1'), pidOf('w2')] as [number, number];
    expect(pidAlive(p1) && pidAlive(p2)).toBe(true);
    expect(sessionOf(p1)).toBe(p1);
    expect(sessionOf(p2)).toBe(p2);
    expect(args(p1)).toEqual(expect.arrayContaining(['worker', '-c', '3']));
    expect(args(p2).join(' ')).toMatch(/-c 2 -Q for_add/);
    expect(readFileSync(dir.file('log/w2.log'), 'utf8')).toMatch(/w2@\S+ ready\./);

    // Only w2 reads for_add: a task routed there is done, with multi long gone.
    const call = await cli('call', 'tasks.add', '--args', '[20, 22]', '-A', APP, '--wait', '--timeout', '20000');
    expect(call.stdout.trim().split('\n')[1]).toBe('42');

    const again = await multi('start', 'w1', '-A', APP);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/w1@\S+: FAILED/);
    expect(again.stderr).toMatch(new RegExp(`already running \\(pid ${p1}\\)`));
  });

  it('restart: stops each node gracefully and starts it again; stopwait returns once they are gone', async () => {
    const [old1, old2] = [pidOf('w1'), pidOf('w2')] as [number, number];
    const run = await multi('restart', 'w1', 'w2', '-A', APP, '-c', '1');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/TERM -> \d+/);
    expect(run.stdout).toMatch(/Restarting node w1@\S+: OK/);
    expect(run.stdout).toMatch(/Restarting node w2@\S+: OK/);
    const [new1, new2] = [pidOf('w1'), pidOf('w2')] as [number, number];
    expect([new1, new2]).not.toContain(old1);
    expect(pidAlive(old1) || pidAlive(old2)).toBe(false);
    expect(pidAlive(new1) && pidAlive(new2)).toBe(true);

    const stop = await multi('stopwait', 'w1', 'w2');
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/Waiting for 2 nodes/);
    expect(stop.stdout).toMatch(/w1@\S+: OK/);
    expect(pidAlive(new1) || pidAlive(new2)).toBe(false);
    expect(existsSync(dir.file('run/w1.pid')) || existsSync(dir.file('run/w2.pid'))).toBe(false);
    expect(readFileSync(dir.file('log/w1.log'), 'utf8')).toMatch(/warm shutdown/);
  });

  it('a stale pidfile: stop reports the node down and removes it; start replaces it', async () => {
    writeFileSync(dir.file('run/w3.pid'), '999999\n');
    const stop = await multi('stop', 'w3');
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/w3@\S+: DOWN \(removed the stale pidfile naming pid 999999\)/);
    expect(existsSync(dir.file('run/w3.pid'))).toBe(false);

    // A pid that runs, but is not this worker (reused after a reboot), is stale too.
    writeFileSync(dir.file('run/w3.pid'), `${process.pid}\n`);
    const start = await multi('start', 'w3', '-A', APP, '-c', '1');
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/removed the stale pidfile/);
    const pid = pidOf('w3') as number;
    expect(pid).not.toBe(process.pid);

    const kill = await multi('kill', 'w3');
    expect(kill.code).toBe(0);
    expect(kill.stdout).toMatch(new RegExp(`w3@\\S+: KILL -> ${pid}`));
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(dir.file('run/w3.pid'))).toBe(false);
  });

  it('a node that cannot start is FAILED (exit 1) with the end of its log', async () => {
    const run = await multi('start', 'w1', '-A', dir.file('missing.ts'));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/w1@\S+: FAILED/);
    expect(run.stderr).toMatch(/exited with code 2/);
    expect(run.stderr).toMatch(/\| .*no such file/);
    expect(existsSync(dir.file('run/w1.pid'))).toBe(false);
  });

  it('show prints the command lines; bad arguments exit 2; --help has examples', async () => {
    const show = await cli('multi', 'show', '2', '-A', APP, '-c:2', '5');
    expect(show.code).toBe(0);
    const lines = show.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ worker -n celeriac1@\S+ --pidfile=\S+celeriac1\.pid -A \S+test-tasks\.ts >>\S+celeriac1\.log 2>&1$/);
    expect(lines[1]).toMatch(/ -A \S+ -c 5 >>/);

    for (const bad of [['multi'], ['multi', 'frob', 'w1'], ['multi', 'start'], ['multi', 'start', 'w1', '-c:w2', '3'], ['multi', 'show', 'w1', '--logfile=%q']]) {
      const run = await cli(...bad);
      expect(run.code, bad.join(' ')).toBe(2);
      expect(run.stderr, bad.join(' ')).toMatch(/celeriac|error/);
    }
    const help = await cli('multi', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:\n\s+\$ celeriac multi start w1 w2/);
  });
});
