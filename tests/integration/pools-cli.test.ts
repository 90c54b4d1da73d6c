// `celeriac worker -P processes|threads` as a user runs it, on one SQLite file: the whole worker killed with
// SIGKILL (late acks) loses no task, SIGTERM is a clean lossless exit, and bad pool flags exit 2.
import { describe, expect, it } from 'vitest';
import { States } from '../../src/index.js';
import { spawnCli, startWorker } from '../helpers/processes.js';
import { recorded, sqliteFleet } from '../helpers/sqlite-fleet.js';
import { until } from '../helpers/temp.js';

describe('celeriac worker with the processes and threads pools on sqlite://', () => {
  const fleet = sqliteFleet();

  it('-P processes killed with SIGKILL while holding late-acked tasks: every task still completes exactly once', async () => {
    const file = fleet.dir.file('runs.log');
    const a = await startWorker(fleet.url, ['-P', 'processes', '-c', '2', '--acks-late', '-n', 'a@%h'], { RECORD_FILE: file });
    fleet.children.push(a);
    expect(a.output()).toContain('(processes)');
    const results = await fleet.app.sendMany(Array.from({ length: 12 }, (_, i) => ({ name: 'tasks.record', args: [i, 300] })));
    await until(() => recorded(file).length >= 2, 20_000);
    a.child.kill('SIGKILL');
    await a.exited;
    expect(new Set(recorded(file)).size).toBeLessThan(12);
    fleet.children.push(await startWorker(fleet.url, ['-P', 'threads', '-c', '4', '-n', 'b@%h'], { RECORD_FILE: file }));
    const values = await Promise.all(results.map((r) => r.get({ timeout: 45_000 })));
    expect(values).toEqual(Array.from({ length: 12 }, (_, i) => i));
    for (const r of results) expect(await r.state()).toBe(States.SUCCESS);
    expect(new Set(recorded(file)).size).toBe(12);
  }, 90_000);

  it('-P processes SIGTERM: finishes what runs, hands the rest back, exits 0', async () => {
    const file = fleet.dir.file('runs.log');
    const w = await startWorker(fleet.url, ['-P', 'processes', '-c', '2', '-n', 'term@%h'], { RECORD_FILE: file });
    fleet.children.push(w);
    const results = await fleet.app.sendMany(Array.from({ length: 10 }, (_, i) => ({ name: 'tasks.record', args: [i, 300] })));
    await until(() => recorded(file).length >= 1, 20_000);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    const transport = await fleet.app.connection();
    const info = await transport.queueInfo('celery');
    expect(info.unacked).toBe(0);
    expect(info.messages + recorded(file).length).toBe(10);
    fleet.children.push(await startWorker(fleet.url, ['-c', '8', '-n', 'after@%h'], { RECORD_FILE: file }));
    expect(await Promise.all(results.map((r) => r.get({ timeout: 30_000 })))).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(recorded(file).sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  }, 90_000);

  it('-P processes, a second SIGTERM: cold shutdown hands the running late-acked tasks back; none is lost', async () => {
    const file = fleet.dir.file('runs.log');
    const w = await startWorker(fleet.url, ['-P', 'processes', '-c', '2', '--acks-late', '-n', 'cold@%h'], { RECORD_FILE: file });
    fleet.children.push(w);
    await fleet.app.sendMany(Array.from({ length: 6 }, (_, i) => ({ name: 'tasks.record', args: [i, 20_000] })));
    await w.waitFor(/Task tasks\.record\[.*received[\s\S]*Task tasks\.record\[.*received/, 20_000);
    w.child.kill('SIGTERM');
    await w.waitFor('warm shutdown', 10_000);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.output()).toContain('cold shutdown');
    expect(recorded(file)).toEqual([]);
    const transport = await fleet.app.connection();
    const info = await transport.queueInfo('celery');
    expect(info.unacked).toBe(0);
    expect(info.messages).toBe(6);
    await transport.purge('celery');
  }, 90_000);

  it.each([
    [['-P', 'gevent'], "-P expects one of async, threads, processes; got 'gevent'"],
    [['-P', 'threads', '--max-tasks-per-child', '0'], '--max-tasks-per-child expects an integer >= 1'],
    [['--autoscale', '2,5'], '--autoscale expects max,min with max >= min'],
    [['--soft-time-limit', 'soon'], '--soft-time-limit expects a number'],
  ])('worker %j exits 2 and says what was expected', async (flags, message) => {
    const w = spawnCli(['worker', '-A', 'tests/fixtures/apps/test-tasks.ts', ...flags], { CELERIAC_BROKER_URL: fleet.url, CELERIAC_RESULT_BACKEND: fleet.url });
    fleet.children.push(w);
    expect(await w.exited).toBe(2);
    expect(w.output()).toContain(message);
  });

  it('-P threads without -A exits 2 and asks for the app module', async () => {
    const w = spawnCli(['worker', '-P', 'threads'], { CELERIAC_BROKER_URL: fleet.url, CELERIAC_RESULT_BACKEND: fleet.url });
    fleet.children.push(w);
    expect(await w.exited).toBe(2);
    expect(w.output()).toContain('give the app module with -A');
  });
});
