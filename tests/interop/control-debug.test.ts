// Python Celery's debugging commands against a celeriac worker, on Redis and on RabbitMQ: `celery inspect
// memsample`, `memdump`, `objgraph` and `celery control pool_restart` get Celery-shaped answers (and the pool
// really restarts); and `celeriac logtool` reads a Python worker's own log. Every command names its node (-d).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { CLI, ROOT, type Spawned } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/redis.js';
import { tempDir, type TempDir } from '../helpers/temp.js';
import { celeryJson, cleanupRedis, PY_DIR, PYTHON, pythonEnv, requirePythonCelery, runProcess, startCeleriacWorker, startPythonWorker, stopProcess } from './helpers.js';

interface Place {
  url: string;
  backend: string;
  vhost?: Vhost;
}

const place = async (broker: 'redis' | 'amqp'): Promise<Place> => {
  if (broker === 'redis') return { url: REDIS_URL, backend: REDIS_URL };
  const vhost = await createVhost();
  return { url: vhost.url, backend: 'rpc://', vhost };
};

const celeriac = (p: Place, args: string[]) => runProcess(process.execPath, [CLI, ...args], { ...process.env, CELERIAC_BROKER_URL: p.url, CELERIAC_RESULT_BACKEND: p.backend }, ROOT);

beforeAll(() => {
  requirePythonCelery();
});

for (const broker of ['redis', 'amqp'] as const) {
  describe(`Python celery inspect memsample/memdump/objgraph, control pool_restart -> celeriac worker (${broker})`, () => {
    const queue = `interop-debug-${randomUUID()}`;
    const node = `debug-ts-${queue.slice(-8)}@interop`;
    let p: Place;
    let worker: Spawned | undefined;

    beforeAll(async () => {
      p = await place(broker);
      worker = await startCeleriacWorker(p.url, queue, ['-c', '2', '-n', node, '-P', 'threads', '--pool-restarts'], p.backend);
    }, 60_000);

    afterAll(async () => {
      await stopProcess(worker);
      if (p?.vhost) await p.vhost.remove();
      else await cleanupRedis(REDIS_URL, { queues: [queue], taskIds: [], nodeNames: [node] });
    }, 60_000);

    it('memsample answers humanised RSS; memdump the samples; objgraph the counts', async () => {
      expect(await celeryJson(p, ['inspect', 'memsample'], node)).toEqual({ [node]: expect.stringMatching(/^\d+(\.\d+)?(KB|MB|GB)$/) as unknown });
      const dump = (await celeryJson(p, ['inspect', 'memdump'], node)) as Record<string, string>;
      expect(dump[node]).toMatch(/^- rss \(sample\):\n-    > [\d.]+MB,\n- heap used \(sample\):\n-    > [\d.]+MB,\n- rss \(end\): [\d.]+MB\.\n/);
      // Celery's CLI prints a string reply as it is.
      const text = await runProcess(PYTHON, ['-m', 'celery', '-A', 'interop_app', 'inspect', 'memsample', '-d', node, '-t', '5'], pythonEnv({ INTEROP_BROKER: p.url, INTEROP_BACKEND: p.backend }), PY_DIR);
      expect(text.stdout).toMatch(new RegExp(`->  ${node}: OK\\n\\s+[\\d.]+MB`));
      const objgraph = await runProcess(PYTHON, ['-m', 'celery', '-A', 'interop_app', 'inspect', 'objgraph', 'Worker', '-d', node, '-t', '60', '--json'], pythonEnv({ INTEROP_BROKER: p.url, INTEROP_BACKEND: p.backend }), PY_DIR);
      const counts = JSON.parse(objgraph.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, { objects: number; counts: Record<string, number> }>;
      expect(counts[node]?.objects).toBeGreaterThan(1000);
      expect(Object.keys(counts[node]?.counts ?? {})).toEqual(['Worker']);
    }, 120_000);

    it('pool_restart replies as Celery\'s and replaces the threads; tasks still run', async () => {
      const before = ((await celeryJson(p, ['inspect', 'stats'], node)) as Record<string, { pool: { processes: number[] } }>)[node]?.pool.processes;
      expect(await celeryJson(p, ['control', 'pool_restart'], node)).toEqual([{ [node]: { ok: 'reload started' } }]);
      await worker?.waitFor('pool restarted', 30_000);
      const after = ((await celeryJson(p, ['inspect', 'stats'], node)) as Record<string, { pool: { processes: number[] } }>)[node]?.pool.processes;
      expect(after).toHaveLength(2);
      expect(after?.some((id) => before?.includes(id))).toBe(false);
      const r = await celeriac(p, ['call', 'interop.add', '--args', '[20, 22]', '--queue', queue, '--wait', '--timeout', '30000']);
      expect(r.stdout.trim().split('\n').at(-1)).toBe('42');
    }, 120_000);
  });
}

describe('celeriac logtool reads a Python worker\'s log (redis)', () => {
  const queue = `interop-logtool-${randomUUID()}`;
  const node = `logtool-py-${queue.slice(-8)}@interop`;
  const p: Place = { url: REDIS_URL, backend: REDIS_URL };
  const ids: string[] = [];
  let dir: TempDir;
  let worker: Spawned | undefined;

  afterAll(async () => {
    await stopProcess(worker);
    await cleanupRedis(REDIS_URL, { queues: [queue], taskIds: ids, nodeNames: [node] });
    dir?.remove();
  }, 60_000);

  it('stats, errors, traces and incomplete from Celery\'s own log lines', async () => {
    dir = tempDir();
    worker = await startPythonWorker(p.url, queue, node, p.backend);
    for (const [task, args] of [['interop.add', '[1, 2]'], ['interop.add', '[3, 4]'], ['interop.fail', '[]']] as const) {
      const r = await celeriac(p, ['call', task, '--args', args, '--queue', queue, '--wait', '--json', '--timeout', '30000']);
      ids.push((JSON.parse(r.stdout) as { id: string }).id);
    }
    await stopProcess(worker);
    const log = dir.file('python-worker.log');
    writeFileSync(log, worker.output());
    const stats = await celeriac(p, ['logtool', 'stats', '--json', log]);
    expect(JSON.parse(stats.stdout)).toMatchObject({ total: 3, errors: 1, succeeded: 2, completed: 3, types: [['interop.add', 2], ['interop.fail', 1]] });
    const errors = (await celeriac(p, ['logtool', 'errors', log])).stdout;
    expect(errors).toMatch(new RegExp(`\\] Task interop\\.fail\\[${ids[2]}\\] raised unexpected: `));
    expect((await celeriac(p, ['logtool', 'traces', log])).stdout).toContain('Traceback (most recent call last):');
    expect((await celeriac(p, ['logtool', 'incomplete', log])).stdout).toBe('');
  }, 120_000);
});
