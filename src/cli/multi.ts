/**
 * `celeriac multi start|stop|stopwait|restart|kill|show|names w1 w2 [worker options]`: detached workers
 * with pidfiles and log files, for process managers and init scripts, as Celery's multi.
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { commandLine, planNodes, type MultiNode, type MultiPlan } from './multi-args.js';
import { nodeProcess, removeIfNames, startNode, waitGone, type StartOutcome } from './multi-nodes.js';
import { UsageError } from './usage.js';

const COMMANDS = ['start', 'stop', 'stopwait', 'restart', 'kill', 'show', 'names'] as const;
type MultiCommand = (typeof COMMANDS)[number];

const EXAMPLES = `
Node names come first, then options; every option not listed here goes to each worker (see celeriac worker --help).
Options of multi itself:
  --pidfile=FILE       default %n.pid (the worker writes it, and removes it when it exits)
  --logfile=FILE       default %n%I.log (the worker's output is appended to it)
  --hostname=HOST      host part of node names (default: this machine's)
  --range-prefix=NAME  name of numbered nodes (default celeriac: celeriac1, celeriac2...)
  --ready-timeout=S    start and restart wait this long for each node to be ready (default 60)
  -q, --quiet          print only errors;  --verbose  also print each command started
  -TERM, -INT, -9...   the signal of stop, stopwait and restart (default TERM: warm shutdown)
Abbreviations in file names and values: %n short name (w1), %h node name (w1@host), %d host, %i 0, %I empty.
Per-node options: -c:w1 8 (node w1), -Q:1-3 images (nodes 1 to 3), -c:w1,w2 4.

Examples:
  $ celeriac multi start w1 w2 -A ./tasks.ts -c 4 -c:w1 8 -Q:w2 for_add --pidfile=/var/run/celeriac/%n.pid --logfile=/var/log/celeriac/%n%I.log
  $ celeriac multi show 3 -A ./tasks.ts -c 2         # the command line of each of celeriac1..celeriac3
  $ celeriac multi stopwait w1 w2 --pidfile=/var/run/celeriac/%n.pid   # warm shutdown, wait until gone
  $ celeriac multi restart w1 w2 -A ./tasks.ts ...  # give the same options as to start
  $ celeriac multi kill w1 w2                       # SIGKILL: running tasks are lost or redelivered
Exit codes: 0 done; 1 a node did not start; 2 bad arguments.`;

function say(plan: MultiPlan, line: string): void {
  if (!plan.quiet) process.stdout.write(`${line}\n`);
}

const exec = (): string[] => [process.execPath, fileURLToPath(new URL('./main.js', import.meta.url))];
const shortSig = (sig: string): string => sig.replace(/^SIG/, '');

/** Starts one node unless it runs already; replaces a stale pidfile. */
async function start(plan: MultiPlan, node: MultiNode): Promise<StartOutcome> {
  const running = nodeProcess(node);
  if (running.pid) return { ok: false, reason: `already running (pid ${running.pid}); stop it first, or use restart` };
  if (running.stale) {
    removeIfNames(node.pidfile, running.stale);
    say(plan, `> ${node.name}: removed the stale pidfile ${node.pidfile} (pid ${running.stale} is not running)`);
  }
  if (plan.verbose) say(plan, `  ${commandLine(node, exec())}`);
  return startNode(node, exec(), plan.readyTimeout * 1000);
}

function report(plan: MultiPlan, prefix: string, outcome: StartOutcome): boolean {
  if (outcome.ok) {
    say(plan, `${prefix}OK (pid ${outcome.pid})`);
    return true;
  }
  process.stdout.write(`${prefix}FAILED\n`);
  process.stderr.write(`celeriac multi: ${outcome.reason}\n${outcome.log ? `${outcome.log.replace(/^/gm, '    | ')}\n` : ''}`);
  return false;
}

/** Sends the signal to every running node; returns the nodes signalled with their pids. */
function signalAll(plan: MultiPlan, sig: NodeJS.Signals, onDown?: (node: MultiNode) => void): [MultiNode, number][] {
  const signalled: [MultiNode, number][] = [];
  for (const node of plan.nodes) {
    const { pid, stale } = nodeProcess(node);
    if (!pid) {
      if (stale) removeIfNames(node.pidfile, stale);
      say(plan, `> ${node.name}: DOWN${stale ? ` (removed the stale pidfile naming pid ${stale})` : ''}`);
      onDown?.(node);
      continue;
    }
    say(plan, `\t> ${node.name}: ${shortSig(sig)} -> ${pid}`);
    try {
      process.kill(pid, sig);
      signalled.push([node, pid]);
    } catch (err) {
      say(plan, `Could not signal ${node.name} (${pid}): ${(err as NodeJS.ErrnoException).code === 'ESRCH' ? 'No such process' : (err as Error).message}`);
    }
  }
  return signalled;
}

/** Waits until each signalled node is gone; a pidfile its worker could not remove (killed) is removed. */
async function waitAll(plan: MultiPlan, signalled: [MultiNode, number][], onGone: (node: MultiNode) => void | Promise<void>): Promise<void> {
  if (signalled.length === 0) return;
  const byPid = new Map(signalled.map(([node, pid]) => [pid, node]));
  say(plan, `> Waiting for ${signalled.length} ${signalled.length === 1 ? 'node' : 'nodes'} -> ${[...byPid.keys()].join(', ')}...`);
  const after: Promise<void>[] = [];
  await waitGone([...byPid.keys()], (pid) => {
    const node = byPid.get(pid) as MultiNode;
    removeIfNames(node.pidfile, pid);
    after.push(Promise.resolve(onGone(node)));
  });
  await Promise.all(after);
}

async function run(command: MultiCommand, plan: MultiPlan): Promise<number> {
  switch (command) {
    case 'names':
      process.stdout.write(`${plan.nodes.map((n) => n.name).join('\n')}\n`);
      return 0;
    case 'show':
      process.stdout.write(`${plan.nodes.map((n) => commandLine(n, exec())).join('\n')}\n`);
      return 0;
    case 'start': {
      say(plan, '> Starting nodes...');
      const outcomes = plan.nodes.map((node) => start(plan, node));
      let ok = true;
      for (const [i, node] of plan.nodes.entries()) ok = report(plan, `\t> ${node.name}: `, await (outcomes[i] as Promise<StartOutcome>)) && ok;
      return ok ? 0 : 1;
    }
    case 'stop':
    case 'stopwait': {
      say(plan, '> Stopping nodes...');
      const signalled = signalAll(plan, plan.signal);
      if (command === 'stopwait') await waitAll(plan, signalled, (node) => say(plan, `\t> ${node.name}: OK`));
      return 0;
    }
    case 'restart': {
      let ok = true;
      const restart = async (node: MultiNode): Promise<void> => {
        ok = report(plan, `> Restarting node ${node.name}: `, await start(plan, node)) && ok;
      };
      say(plan, '> Stopping nodes...');
      const down: Promise<void>[] = [];
      const signalled = signalAll(plan, plan.signal, (node) => down.push(restart(node)));
      await waitAll(plan, signalled, restart);
      await Promise.all(down);
      return ok ? 0 : 1;
    }
    case 'kill': {
      const signalled = signalAll(plan, 'SIGKILL');
      await waitAll(plan, signalled, (node) => say(plan, `\t> ${node.name}: killed`));
      return 0;
    }
  }
}

export function registerMulti(program: Command): void {
  program
    .command('multi')
    .description("Start, stop, restart or kill detached workers with pidfiles and log files (Celery's multi)")
    .argument('<command>', `one of ${COMMANDS.join(', ')}`)
    .argument('[nodes-and-options...]', 'node names (w1 w2, w1@host, or a count: 3), then options for the workers')
    .allowUnknownOption()
    .addHelpText('after', EXAMPLES)
    .action(async (command: string, args: string[]) => {
      const cmd = COMMANDS.find((c) => c === command);
      if (!cmd) throw new UsageError(`multi: no command '${command}'; one of ${COMMANDS.join(', ')}, e.g. celeriac multi start w1 w2 -A ./tasks.ts`);
      const plan = planNodes(args, { hostname: hostname(), cwd: process.cwd() }, cmd === 'stop' || cmd === 'stopwait' || cmd === 'restart');
      process.exitCode = await run(cmd, plan);
    });
}
