// The shared harness of the kill -9 fault tests: worker processes (the built CLI) run `fault.run` from
// tests/fixtures/apps/fault-tasks.ts with late acks; a producer in this process sends N tasks; the harness kills
// worker processes or pool children with SIGKILL mid-batch, waits until every id has a completed run, and counts
// the runs each process recorded (S = started, E = ended, one file per pid):
//   lost        ids with no completed run anywhere (must be 0)
//   duplicates  ids started more than once (allowed only for ids a killed process had started, i.e. held unacked)
// Each broker's file (kill-<broker>.test.ts) gives a Broker and calls killWorkers() and killChildren().
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Celeriac } from '../../src/index.js';
import { ROOT, spawnCli, type Spawned } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

export const APP = `${ROOT}tests/fixtures/apps/fault-tasks.ts`;
/** Tasks of the worker-kill scenario (CELERIAC_FAULT_TASKS overrides, for a longer run). */
export const TASKS = Number(process.env['CELERIAC_FAULT_TASKS'] ?? 10_000);
/**
 * Tasks of the pool-child scenario (CELERIAC_FAULT_CHILD_TASKS overrides), and how long each sleeps
 * (CELERIAC_FAULT_CHILD_MS): short, as every task crosses to a child process and back.
 */
export const CHILD_TASKS = Number(process.env['CELERIAC_FAULT_CHILD_TASKS'] ?? 10_000);
const CHILD_TASK_MS = Number(process.env['CELERIAC_FAULT_CHILD_MS'] ?? 2);
/** Messages a worker holds per slot (the CLI's default): a killed worker holds at most concurrency x this. */
const MULTIPLIER = 4;

export interface Broker {
  /** Used in names and in the summary line. */
  name: string;
  /** The broker URL of the workers and of the producer (its options in the query string). */
  url: string;
  /** Whether queueInfo() counts the messages other processes hold unacked (SQLite, Redis; not AMQP). */
  countsForeignUnacked: boolean;
  /** The broker's own view of the queue, for failure messages. */
  diagnose?(queue: string): Promise<string>;
}

/** What a scenario measured; also printed as one line, the figures of RELIABILITY.md. */
export interface Figures {
  scenario: string;
  broker: string;
  tasks: number;
  kills: number;
  lost: number;
  duplicates: number;
  /** Started but not ended in a killed process when it died. */
  runningAtKill: number;
  /** Duplicates not left running by a kill: their run in a killed process had ended, its ack not yet with the broker. */
  endedNotAcked: number;
  seconds: number;
}

/** The run records of every process, read incrementally (files only grow). */
export class RunLog {
  private readonly offsets = new Map<string, number>();
  private readonly partial = new Map<string, string>();
  /** pid -> id -> runs started / ended there. */
  readonly starts = new Map<number, Map<number, number>>();
  readonly ends = new Map<number, Map<number, number>>();
  /** pid -> ids started there and not ended (yet). */
  readonly open = new Map<number, Set<number>>();
  readonly completed = new Set<number>();

  constructor(readonly dir: string) {}

  /** Reads what was appended since the last call. */
  refresh(): this {
    for (const name of readdirSync(this.dir)) {
      const m = /^runs-(\d+)\.log$/.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      const path = join(this.dir, name);
      const from = this.offsets.get(path) ?? 0;
      const size = statSync(path).size;
      if (size <= from) continue;
      const buf = Buffer.alloc(size - from);
      const fd = openSync(path, 'r');
      try {
        readSync(fd, buf, 0, buf.length, from);
      } finally {
        closeSync(fd);
      }
      this.offsets.set(path, size);
      const lines = ((this.partial.get(path) ?? '') + buf.toString('utf8')).split('\n');
      this.partial.set(path, lines.pop() ?? '');
      for (const line of lines) this.record(pid, line);
    }
    return this;
  }

  private record(pid: number, line: string): void {
    const [kind, n] = line.split(' ');
    const id = Number(n);
    const into = kind === 'S' ? this.starts : this.ends;
    let byId = into.get(pid);
    if (!byId) into.set(pid, (byId = new Map()));
    byId.set(id, (byId.get(id) ?? 0) + 1);
    let open = this.open.get(pid);
    if (!open) this.open.set(pid, (open = new Set()));
    if (kind === 'S') open.add(id);
    else {
      open.delete(id);
      this.completed.add(id);
    }
  }

  /** Runs started per id, over every process. */
  startsPerId(): Map<number, number> {
    const total = new Map<number, number>();
    for (const byId of this.starts.values()) for (const [id, n] of byId) total.set(id, (total.get(id) ?? 0) + n);
    return total;
  }
}

/** A temp dir for the run files and the processes a scenario started, all stopped by close(). */
export class Scenario {
  readonly dir: TempDir = tempDir('celeriac-faults-');
  readonly log = new RunLog(this.dir.path);
  readonly queue: string;
  readonly producer: Celeriac;
  private readonly workers: Spawned[] = [];
  private readonly started = Date.now();

  constructor(
    readonly broker: Broker,
    readonly name: string,
    readonly tasks: number,
    readonly taskMs: number,
  ) {
    this.queue = `faults-${name}-${Math.random().toString(36).slice(2, 10)}`;
    this.producer = new Celeriac('fault-producer', { broker: broker.url, backend: 'memory://' });
  }

  /** Starts a worker process on the scenario's queue; `ready` resolves once it consumes. */
  spawn(node: string, args: string[]): { worker: Spawned; ready: Promise<Spawned> } {
    const w = spawnCli(
      ['worker', '-A', APP, '-Q', this.queue, '-n', `${node}@faults`, '--acks-late', '-l', 'warn', '--log-format', 'json', '--without-gossip', '--without-heartbeat', ...args],
      { CELERIAC_BROKER_URL: this.broker.url, CELERIAC_RESULT_BACKEND: 'memory://', FAULT_DIR: this.dir.path, FAULT_TASK_MS: String(this.taskMs) },
    );
    this.workers.push(w);
    const ready = w.waitFor(/ ready\.\n/, 60_000).then(() => {
      expect(w.output(), 'the banner tells late acks').toContain('(acks late)');
      return w;
    });
    ready.catch(() => undefined);
    return { worker: w, ready };
  }

  /** Starts a worker process and waits until it consumes. */
  worker(node: string, args: string[]): Promise<Spawned> {
    return this.spawn(node, args).ready;
  }

  /** Sends ids 0..n-1, in batches of 500. */
  async send(n: number): Promise<void> {
    const batch = 500;
    for (let from = 0; from < n; from += batch) {
      const calls = Array.from({ length: Math.min(batch, n - from) }, (_, k) => ({ name: 'fault.run', args: [from + k], options: { queue: this.queue } }));
      await this.producer.sendMany(calls);
    }
  }

  /** Polls the run files until `check` holds. */
  async until(check: (log: RunLog) => boolean, timeout: number, what: string): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!check(this.log.refresh())) {
      if (Date.now() > deadline) {
        const broker = await this.broker.diagnose?.(this.queue).catch((e: unknown) => String(e));
        throw new Error(`${this.broker.name}/${this.name}: ${what} not reached within ${timeout / 1000} s (${this.log.completed.size} of ${this.tasks} ids completed)\nbroker: ${broker ?? '-'}\n${this.outputs()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The last lines each worker printed, for failure messages. */
  outputs(): string {
    return this.workers.map((w, i) => `--- worker ${i} (pid ${w.child.pid ?? '?'}):\n${w.output().slice(-1500)}`).join('\n');
  }

  seconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** Stops every worker (SIGTERM, then SIGKILL after 20 s), closes the producer, removes the files. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => stop(w)));
    await this.producer.close();
    this.dir.remove();
  }

  /** After every id completed and the workers stopped: nothing is left in the queue (nor held, where the broker tells). */
  async expectQueueEmpty(): Promise<void> {
    await Promise.all(this.workers.map((w) => stop(w)));
    const info = await (await this.producer.connection()).queueInfo(this.queue);
    expect(info.messages, `${this.broker.name}: messages left in ${this.queue}`).toBe(0);
    if (this.broker.countsForeignUnacked) expect(info.unacked, `${this.broker.name}: messages still held unacked in ${this.queue}`).toBe(0);
  }
}

async function stop(w: Spawned): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 20_000);
  await w.exited;
  clearTimeout(timer);
}

/** SIGKILL, and wait until the process is gone (reaped, so its pid reads as dead). */
async function kill9(pid: number, exited?: Promise<unknown>): Promise<void> {
  process.kill(pid, 'SIGKILL');
  if (exited) await exited;
  else while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The parent pid of a process (from /proc), or undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Checks the runs and returns the figures: every id completed at least once; an id started more than once was
 * started in a killed process, and at most once elsewhere; no more duplicates than the killed processes could
 * hold unacked (`maxHeld`).
 */
function verdict(s: Scenario, scenario: string, killed: number[], maxHeld: number): Figures {
  const log = s.log.refresh();
  const lost: number[] = [];
  for (let id = 0; id < s.tasks; id++) if (!log.completed.has(id)) lost.push(id);
  const duplicates: number[] = [];
  const unexplained: string[] = [];
  let endedNotAcked = 0;
  for (const [id, runs] of log.startsPerId()) {
    if (runs <= 1) continue;
    duplicates.push(id);
    const inKilled = killed.reduce((n, pid) => n + (log.starts.get(pid)?.get(id) ?? 0), 0);
    // Every run but one was in a process that was killed while it held the message.
    if (inKilled === 0 || runs - inKilled > 1) unexplained.push(`${id}: ${runs} runs, ${inKilled} in killed processes`);
    // Not left running by a kill: it ran to the end in a killed process whose ack had not reached the broker.
    else if (!killed.some((pid) => log.open.get(pid)?.has(id))) endedNotAcked++;
  }
  const runningAtKill = killed.reduce((n, pid) => n + (log.open.get(pid)?.size ?? 0), 0);
  const figures: Figures = { scenario, broker: s.broker.name, tasks: s.tasks, kills: killed.length, lost: lost.length, duplicates: duplicates.length, runningAtKill, endedNotAcked, seconds: Math.round(s.seconds()) };
  console.log(
    `faults ${scenario} on ${s.broker.name}: ${s.tasks} tasks, ${killed.length} kill(s) -9 (pids ${killed.join(', ')}), ${lost.length} lost, ` +
      `${duplicates.length} duplicates (${runningAtKill} running at kill time, ${endedNotAcked} ended but not yet acked), ${figures.seconds} s`,
  );
  expect(lost.slice(0, 20), `${s.broker.name}/${scenario}: ids never completed`).toEqual([]);
  expect(unexplained.slice(0, 20), `${s.broker.name}/${scenario}: duplicates not explained by a kill`).toEqual([]);
  expect(duplicates.length, 'duplicates beyond what the killed processes could hold').toBeLessThanOrEqual(maxHeld);
  // Every run left unfinished by a kill was run again (to the end: no id is lost).
  const starts = log.startsPerId();
  for (const pid of killed) for (const id of log.open.get(pid) ?? []) expect(starts.get(id), `id ${id}, left running by pid ${pid}`).toBeGreaterThan(1);
  return figures;
}

export interface KillWorkersOptions {
  /** Tasks each worker runs at once (-c). */
  concurrency?: number;
  /** How long each task sleeps between its start and end records (ms). */
  taskMs?: number;
}

/**
 * kill -9 of worker processes mid-batch: the batch is sent, two workers start; the first is killed once a
 * quarter of the ids completed and the second once 55 % did, each replaced by a restarted worker at once. The
 * restarted workers drain the rest, including what the killed ones held (redelivered by the broker).
 */
export async function killWorkers(broker: Broker, options: KillWorkersOptions = {}): Promise<Figures> {
  const c = options.concurrency ?? 50;
  const s = new Scenario(broker, 'worker', TASKS, options.taskMs ?? 5);
  const killed: number[] = [];
  try {
    // The whole batch waits in the queue before the first worker starts, so the kills fall mid-batch.
    await s.send(TASKS);
    // Both start at once, and the kills are not held up by their start: the batch may be quick.
    // (A victim's `ready` is not awaited: it may be killed before it printed it, its first tasks run already.)
    const first = [s.spawn('w1', ['-c', String(c)]).worker, s.spawn('w2', ['-c', String(c)]).worker];
    const starting: Promise<Spawned>[] = [];
    for (const [i, at] of [0.25, 0.55].entries()) {
      const victim = first[i] as Spawned;
      const pid = victim.child.pid as number;
      // Mid-batch: the share of ids reached, and the victim running something.
      await s.until((log) => log.completed.size >= TASKS * at && (log.open.get(pid)?.size ?? 0) > 0, 90_000, `${at * 100} % completed with w${i + 1} busy`);
      await kill9(pid, victim.exited);
      killed.push(pid);
      // Not waited for: the batch goes on meanwhile, and the next kill must fall in it too.
      starting.push(s.worker(`w${i + 1}-restarted`, ['-c', String(c)]));
    }
    await Promise.all(starting);
    await s.until((log) => log.completed.size >= TASKS, 100_000, 'every id completed');
    const figures = verdict(s, 'kill -9 worker', killed, killed.length * c * MULTIPLIER);
    expect(figures.runningAtKill, 'tasks running in the workers when they were killed').toBeGreaterThan(0);
    await s.expectQueueEmpty();
    return figures;
  } finally {
    await s.close();
  }
}

export interface KillChildrenOptions {
  /** Pool children (-c). */
  concurrency?: number;
  /** Kills that must hit a child while it runs a task, spread over the batch (a kill that finds the child between tasks is tried again). */
  kills?: number;
  taskMs?: number;
}

/**
 * kill -9 of pool children (-P processes) mid-batch: one worker; a busy child is killed each time another
 * share of the ids completed. The task whose child died fails with WorkerLostError and, with acksLate and
 * rejectOnWorkerLost, goes back to the queue; the pool starts a new child.
 */
export async function killChildren(broker: Broker, options: KillChildrenOptions = {}): Promise<Figures> {
  const c = options.concurrency ?? 4;
  const kills = options.kills ?? 3;
  const s = new Scenario(broker, 'child', CHILD_TASKS, options.taskMs ?? CHILD_TASK_MS);
  const killed: number[] = [];
  let hits = 0;
  try {
    await s.send(s.tasks);
    const worker = await s.worker('pool', ['-P', 'processes', '-c', String(c)]);
    const workerPid = worker.child.pid as number;
    while (hits < kills && killed.length < 3 * kills) {
      const share = (hits + 1) / (kills + 1);
      let victim: number | undefined;
      await s.until(
        (log) => {
          if (log.completed.size < s.tasks * share) return false;
          // A child of this worker (not one killed already) that is running a task now.
          victim = [...log.open].find(([pid, open]) => open.size > 0 && !killed.includes(pid) && parentOf(pid) === workerPid)?.[0];
          return victim !== undefined;
        },
        90_000,
        `a busy child after ${Math.round(share * 100)} % completed`,
      );
      await kill9(victim as number);
      killed.push(victim as number);
      if ((s.log.refresh().open.get(victim as number)?.size ?? 0) > 0) hits++;
    }
    expect(hits, 'kills that hit a running task').toBe(kills);
    await s.until((log) => log.completed.size >= s.tasks, 100_000, 'every id completed');
    // A child runs one task at a time: each kill can cost at most one duplicate.
    const figures = verdict(s, 'kill -9 pool child', killed, killed.length);
    const handedBack = worker.output().split('\n').filter((l) => l.includes('handed back to the queue (rejectOnWorkerLost)')).length;
    expect(handedBack).toBeLessThanOrEqual(killed.length);
    expect(handedBack).toBeGreaterThanOrEqual(figures.runningAtKill);
    await s.expectQueueEmpty();
    return figures;
  } finally {
    await s.close();
  }
}
