// Several worker processes and a producer on one SQLite file: every task runs exactly once, a worker
// killed with SIGKILL loses nothing (late acks), and SIGTERM is a clean, lossless exit.
import { describe, expect, it } from 'vitest';
import { States } from '../../src/index.js';
import { startWorker } from '../helpers/processes.js';
import { recorded, sqliteFleet } from '../helpers/sqlite-fleet.js';
import { until } from '../helpers/temp.js';

describe('several processes on sqlite://', () => {
  const fleet = sqliteFleet();

  it('two workers and one producer: 5,000 tasks, every result exactly once', async () => {
    const file = fleet.dir.file('runs.log');
    fleet.children.push(await startWorker(fleet.url, ['-c', '20', '-n', 'w1@%h', '-l', 'warn'], { RECORD_FILE: file }));
    fleet.children.push(await startWorker(fleet.url, ['-c', '20', '-n', 'w2@%h', '-l', 'warn'], { RECORD_FILE: file }));
    const n = 5000;
    const results = await fleet.app.sendMany(Array.from({ length: n }, (_, i) => ({ name: 'tasks.record', args: [i] })));
    const values = await Promise.all(results.map((r) => r.get({ timeout: 60_000 })));
    expect(values).toEqual(Array.from({ length: n }, (_, i) => i));
    const runs = recorded(file);
    expect(runs.length).toBe(n);
    expect(new Set(runs).size).toBe(n);
  }, 90_000);

  it('a worker killed with SIGKILL while holding late-acked tasks loses none of them', async () => {
    const file = fleet.dir.file('runs.log');
    const a = await startWorker(fleet.url, ['-c', '4', '--acks-late', '-n', 'a@%h'], { RECORD_FILE: file });
    fleet.children.push(a);
    const results = await fleet.app.sendMany(Array.from({ length: 20 }, (_, i) => ({ name: 'tasks.record', args: [i, 300] })));
    await until(() => recorded(file).length >= 2, 15_000);
    a.child.kill('SIGKILL');
    await a.exited;
    const doneBeforeCrash = new Set(recorded(file));
    expect(doneBeforeCrash.size).toBeLessThan(20);
    fleet.children.push(await startWorker(fleet.url, ['-c', '8', '-n', 'b@%h'], { RECORD_FILE: file }));
    const values = await Promise.all(results.map((r) => r.get({ timeout: 30_000 })));
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const r of results) expect(await r.state()).toBe(States.SUCCESS);
    expect(new Set(recorded(file)).size).toBe(20);
  }, 60_000);

  it('SIGTERM: the worker finishes what runs, hands the rest back and exits 0', async () => {
    const file = fleet.dir.file('runs.log');
    const w = await startWorker(fleet.url, ['-c', '2', '-n', 'term@%h'], { RECORD_FILE: file });
    fleet.children.push(w);
    const results = await fleet.app.sendMany(Array.from({ length: 10 }, (_, i) => ({ name: 'tasks.record', args: [i, 200] })));
    await until(() => recorded(file).length >= 1, 15_000);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.output()).toContain('warm shutdown');
    const transport = await fleet.app.connection();
    const info = await transport.queueInfo('celery');
    const done = recorded(file).length;
    expect(info.unacked).toBe(0);
    expect(info.messages + done).toBe(10);
    fleet.children.push(await startWorker(fleet.url, ['-c', '8', '-n', 'after@%h'], { RECORD_FILE: file }));
    expect(await Promise.all(results.map((r) => r.get({ timeout: 30_000 })))).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(recorded(file).sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  }, 60_000);
});
