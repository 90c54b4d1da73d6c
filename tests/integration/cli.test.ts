// The `celeriac` sub-commands call, result, purge and list, run as a user runs them: the built CLI in child
// processes, on a temp SQLite file given through CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac } from '../../dist/index.js';
import { createTransport } from '../../dist/transport/sqlite/index.js';
import { ROOT, runCli, startWorker, type Run, type Spawned } from '../helpers/processes.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const EXAMPLE_APP = `${ROOT}examples/tasks.ts`;
const TEST_APP = `${ROOT}tests/fixtures/apps/test-tasks.ts`;

/** Runs `celeriac ...args` to completion with stdin not a terminal. */
const cli = (args: string[], url: string): Promise<Run> => runCli(args, { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url });

/** Sends tasks to queues straight through the API (faster than a CLI process per message). */
async function seed(url: string, calls: { name: string; queue: string }[]): Promise<void> {
  const app = new Celeriac('seed', { broker: url, backend: url });
  try {
    await app.sendMany(calls.map((c) => ({ name: c.name, options: { queue: c.queue } })));
  } finally {
    await app.close();
  }
}

async function stop(worker: Spawned | undefined): Promise<void> {
  if (!worker || worker.child.exitCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000);
  await worker.exited;
  clearTimeout(timer);
}

describe('celeriac call / result / list dead-letters with a worker', () => {
  let dir: TempDir;
  let url: string;
  let worker: Spawned | undefined;

  beforeAll(async () => {
    dir = tempDir('celeriac-cli-');
    url = `sqlite://${dir.file('celeriac.db')}`;
    worker = await startWorker(url, ['-Q', 'for_add,celery', '-c', '4']);
  });

  afterAll(async () => {
    await stop(worker);
    dir.remove();
  });

  it('call --wait sends by name through taskRoutes and prints the id, then the result', async () => {
    const run = await cli(['call', 'tasks.add', '--args', '[5,5]', '-A', EXAMPLE_APP, '--wait', '--timeout', '15000'], url);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [id, value] = run.stdout.trim().split('\n');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(value).toBe('10');

    const shown = await cli(['result', id as string], url);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^state: +SUCCESS$/m);
    expect(shown.stdout).toMatch(/^result: +10$/m);

    const json = await cli(['result', id as string, '--json'], url);
    expect(JSON.parse(json.stdout)).toMatchObject({ id, state: 'SUCCESS', result: 10, traceback: null });
  });

  it('call --wait without --timeout stays until the result comes, however long the task runs', async () => {
    const run = await cli(['call', 'tasks.record', '--args', '[7, 1500]', '--wait'], url);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')[1]).toBe('7');
  });

  it('call places --kwargs by parameter name and prints JSON with --json', async () => {
    const run = await cli(['call', 'tasks.add', '--args', '[1]', '--kwargs', '{"y": 41}', '--queue', 'for_add', '--wait', '--timeout', '15000', '--json'], url);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ state: 'SUCCESS', result: 42 });
  });

  it('call --wait exits 1 with the remote error type and message when the task fails; result --traceback shows it', async () => {
    const run = await cli(['call', 'tasks.fail', '--args', '["out of range"]', '--wait', '--timeout', '15000'], url);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('failed: RangeError: out of range');
    const id = run.stdout.trim().split('\n')[0] as string;

    const shown = await cli(['result', id, '--traceback'], url);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toMatch(/^state: +FAILURE$/m);
    expect(shown.stdout).toMatch(/^error: +RangeError: out of range$/m);
    expect(shown.stdout).toMatch(/^traceback:\nRangeError: out of range\n\s+at /m);
  });

  it('list dead-letters shows a malformed (pickle) message the worker refused to run', async () => {
    const transport = createTransport(url, {});
    try {
      await transport.publish(
        {
          body: Buffer.from([0x80, 0x04, 0x95, 0x00, 0x2e]),
          contentType: 'application/x-python-serialize',
          contentEncoding: 'binary',
          headers: { lang: 'py', task: 'tasks.add', id: 'pickled-0001' },
          properties: { correlation_id: 'pickled-0001', delivery_mode: 2 },
        },
        { exchange: '', routingKey: 'celery' },
      );
    } finally {
      await transport.close();
    }

    let letters: { queue: string; task: string; taskId: string; reason: string; bodyEncoding: string }[] = [];
    await until(async () => {
      const run = await cli(['list', 'dead-letters', '--json'], url);
      letters = JSON.parse(run.stdout) as typeof letters;
      return letters.some((l) => l.taskId === 'pickled-0001');
    }, 15_000, 200);
    expect(letters.find((l) => l.taskId === 'pickled-0001')).toMatchObject({ queue: 'celery', task: 'tasks.add', bodyEncoding: 'base64' });

    const table = await cli(['list', 'dead-letters', '--limit', '5'], url);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID +QUEUE +TIME +TASK +TASK ID +REASON$/m);
    const row = table.stdout.split('\n').find((l) => l.includes('pickled-0001'));
    expect(row).toMatch(/ celery +\d{4}-\d\d-\d\dT[\d:.]+Z +tasks\.add +pickled-0001 +malformed: .*pickle/i);
  });
});

describe('celeriac result / purge / list without a worker', () => {
  let dir: TempDir;
  let url: string;

  beforeEach(() => {
    dir = tempDir('celeriac-cli-');
    url = `sqlite://${dir.file('celeriac.db')}`;
  });

  afterEach(() => dir.remove());

  it('result of an unknown id prints PENDING and exits 0', async () => {
    const run = await cli(['result', 'no-such-task-id'], url);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^state: +PENDING$/m);
    expect(run.stderr).toContain('the id is unknown');
    const json = await cli(['result', 'no-such-task-id', '--json'], url);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'no-such-task-id', state: 'PENDING', result: null });
  });

  it('call without --wait prints the id; list queues shows the routed queue with its ready count', async () => {
    const sent = await cli(['call', 'tasks.add', '--args', '[2,3]', '-A', EXAMPLE_APP], url);
    expect(sent.code).toBe(0);
    expect(sent.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);

    const table = await cli(['list', 'queues'], url);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME +READY +UNACKED$/m);
    expect(table.stdout).toMatch(/^for_add +1 +0$/m);
    const json = await cli(['list', 'queues', '--json'], url);
    expect(JSON.parse(json.stdout)).toContainEqual({ name: 'for_add', ready: 1, unacked: 0 });
  });

  it('purge -f deletes waiting messages from the default queue and every routed queue, and counts them', async () => {
    await seed(url, [...Array.from({ length: 3 }, () => ({ name: 'tasks.add', queue: 'for_add' })), { name: 'tasks.other', queue: 'celery' }]);
    const run = await cli(['purge', '-f', '-A', EXAMPLE_APP], url);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^celery +1$/m);
    expect(run.stdout).toMatch(/^for_add +3$/m);
    expect(run.stdout).toMatch(/^for_subtract +0$/m);
    expect(run.stdout).toContain('Purged 4 messages from 3 queues.');
    const queues = JSON.parse((await cli(['list', 'queues', '--json'], url)).stdout) as { name: string; ready: number }[];
    expect(queues.filter((q) => q.ready > 0)).toEqual([]);

    await seed(url, [{ name: 'tasks.add', queue: 'for_add' }]);
    const one = await cli(['purge', '-f', '-Q', 'for_add'], url);
    expect(one.stdout).toMatch(/^for_add +1$/m);
    expect(one.stdout).toContain('Purged 1 message from 1 queue.');
  });

  it('purge without -f and without a terminal refuses (exit 2) and says to pass -f', async () => {
    await seed(url, [{ name: 'tasks.add', queue: 'for_add' }]);
    const run = await cli(['purge', '-Q', 'for_add'], url);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('pass -f');
    expect(JSON.parse((await cli(['list', 'queues', '--json'], url)).stdout)).toContainEqual({ name: 'for_add', ready: 1, unacked: 0 });
  });

  it.each([
    [['--args', '[5'], "--args expects a list of positional arguments in JSON, e.g. --args '[5, 5]'"],
    [['--args', '5'], '--args expects a list of positional arguments; got 5'],
    [['--kwargs', '[1]'], '--kwargs expects an object of keyword arguments'],
    [['--countdown', 'soon'], '--countdown expects a number >= 0; got "soon"'],
    [['--eta', 'tomorrow'], '--eta expects an ISO 8601 time'],
    [['--expires', 'later'], '--expires expects seconds from now'],
    [['--priority', '1.5'], '--priority expects an integer >= 0'],
    [['--timeout', '100'], '--timeout is how long --wait waits'],
  ])('call %j exits 2 and says what was expected', async (flags, message) => {
    const run = await cli(['call', 'tasks.add', ...flags], url);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe('');
  });

  it('an unknown option or a missing argument exits 2', async () => {
    const unknown = await cli(['call', 'tasks.add', '--bogus'], url);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    expect((await cli(['call'], url)).code).toBe(2);
    expect((await cli(['result'], url)).code).toBe(2);
    expect((await cli(['list', 'dead-letters', '--limit', '0'], url)).code).toBe(2);
    expect((await cli(['list', 'nothing'], url)).code).toBe(2);
  });
});
