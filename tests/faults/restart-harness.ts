// The broker-restart fault tests' harness: worker processes (the built CLI on ./restart-app.ts) and a producer
// process (./restart-producer.ts) around a broker the test restarts; then every acknowledged send is checked:
// executed, its result stored and right, and runs counted (duplicates are at-least-once's cost, losses are bugs).
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Celeriac, type ResultMeta } from '../../src/index.js';
import { ROOT, spawnCli, spawnProcess, type Spawned } from '../helpers/processes.js';
import type { TempDir } from '../helpers/temp.js';

export interface Fleet {
  run: string;
  queue: string;
  workers: Spawned[];
  producer: Spawned;
  /** The producer's last progress line. */
  progress(): { acked: number; rejected: number; done?: boolean; seconds?: number; errors?: Record<string, number> };
  /** Resolves once the producer has `acked` sends acknowledged (or has finished). */
  acked(count: number, timeout?: number): Promise<void>;
}

export interface FleetOptions {
  broker: string;
  backend: string;
  dir: TempDir;
  tasks: number;
  workers?: number;
  concurrency?: number;
  batch?: number;
  pauseMs?: number;
  env?: Record<string, string>;
}

export function startFleet(o: FleetOptions): Fleet {
  const run = `faults-${randomUUID().slice(0, 8)}`;
  const queue = run;
  const env = { CELERIAC_BROKER_URL: o.broker, CELERIAC_RESULT_BACKEND: o.backend, ...o.env };
  const workers = Array.from({ length: o.workers ?? 2 }, (_, k) =>
    spawnCli(['worker', '-A', `${ROOT}tests/faults/restart-app.ts`, '-Q', queue, '-c', String(o.concurrency ?? 8), '-l', 'warn', '-n', `w${k}-${run}@faults`], { ...env, RECORD_FILE: o.dir.file(`runs-${k}.txt`) }),
  );
  const producer = spawnProcess(process.execPath, ['--import', 'tsx', `${ROOT}tests/faults/restart-producer.ts`], {
    ...process.env,
    ...env,
    FAULTS_N: String(o.tasks),
    FAULTS_RUN: run,
    FAULTS_QUEUE: queue,
    FAULTS_BATCH: String(o.batch ?? 100),
    FAULTS_PAUSE_MS: String(o.pauseMs ?? 100),
    FAULTS_ACKED_FILE: o.dir.file('acked.txt'),
  }, ROOT);
  const progress = (): ReturnType<Fleet['progress']> => {
    const lines = producer.output().trim().split('\n').filter((l) => l.startsWith('{'));
    return lines.length ? (JSON.parse(lines.at(-1) as string) as ReturnType<Fleet['progress']>) : { acked: 0, rejected: 0 };
  };
  return {
    run,
    queue,
    workers,
    producer,
    progress,
    async acked(count, timeout = 120_000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const p = progress();
        if (p.acked >= count || p.done) return;
        if (producer.child.exitCode !== null) throw new Error(`producer exited: ${producer.output().slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`producer stuck at ${p.acked} acknowledged sends; its output:\n${producer.output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

export interface Figures {
  tasks: number;
  acknowledged: number;
  rejectedSends: number;
  executions: number;
  duplicates: number;
  /** The first 20 task numbers that ran more than once. */
  duplicateSample: number[];
  /** Acknowledged sends without a stored SUCCESS result when the check gave up. */
  lost: string[];
  /** Stored results that are not i * 7. */
  wrong: string[];
  producerSeconds: number;
  errors: Record<string, number>;
}

/** Waits (up to `timeout`) until every acknowledged task has a SUCCESS result, then counts runs. */
export async function verify(fleet: Fleet, o: FleetOptions, timeout = 90_000): Promise<Figures> {
  const ackedFile = o.dir.file('acked.txt');
  const ids = existsSync(ackedFile) ? [...new Set(readFileSync(ackedFile, 'utf8').split('\n').filter(Boolean))] : [];
  const app = new Celeriac('faults-check', { broker: o.broker, backend: o.backend });
  const pending = new Set(ids);
  const wrong: string[] = [];
  try {
    const backend = await app.resultBackend();
    const deadline = Date.now() + timeout;
    while (pending.size > 0 && Date.now() < deadline) {
      const list = [...pending];
      for (let k = 0; k < list.length; k += 500) {
        const slice = list.slice(k, k + 500);
        const metas = await Promise.all(slice.map((id) => backend.getMeta(id).catch((): ResultMeta | undefined => undefined)));
        metas.forEach((m, j) => {
          const id = slice[j] as string;
          if (m?.status !== 'SUCCESS') return;
          pending.delete(id);
          const i = Number(id.slice(fleet.run.length + 1));
          if (m.result !== i * 7) wrong.push(`${id}: ${JSON.stringify(m.result)}`);
        });
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await app.close();
  }
  const runs = new Map<number, number>();
  for (let k = 0; k < (o.workers ?? 2); k++) {
    const file = o.dir.file(`runs-${k}.txt`);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) if (line) runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
  }
  const executions = [...runs.values()].reduce((a, b) => a + b, 0);
  const p = fleet.progress();
  return {
    tasks: o.tasks,
    acknowledged: ids.length,
    rejectedSends: p.rejected,
    executions,
    duplicates: executions - runs.size,
    duplicateSample: [...runs].filter(([, n]) => n > 1).map(([i]) => i).sort((a, b) => a - b).slice(0, 20),
    lost: [...pending],
    wrong,
    producerSeconds: p.seconds ?? 0,
    errors: p.errors ?? {},
  };
}

/** SIGTERM (a warm stop), SIGKILL after 20 s. */
export async function stopProcess(p: Spawned | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
  await p.exited;
  clearTimeout(timer);
}

/** A markdown row for RELIABILITY.md. */
export function row(what: string, often: string, f: Figures, command: string): string {
  const lost = `${f.lost.length} of ${f.acknowledged} acknowledged sends lost, ${f.wrong.length} wrong results; ${f.duplicates} duplicate runs; ${f.rejectedSends} sends rejected during the outage and sent again`;
  return `| ${what} | ${often} | ${lost} | \`${command}\` |`;
}
