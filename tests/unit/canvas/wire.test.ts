/**
 * Canvas messages against Python Celery 5.2.6's golden captures (tests/fixtures/wire/messages): the embed
 * of chain, chord, group and link / link_error messages matches Python's field for field, ids aside.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Celeriac, chain, chord, group, type Task } from '../../../src/index.js';
import { parseTaskMessage, type TaskRequest } from '../../../src/protocol/task-message.js';
import { messageFixtures, type CapturedMessage, type MessageFixture } from '../protocol/wire-fixtures.js';

const fixtures = new Map<string, MessageFixture>(messageFixtures());
const fixture = (name: string): MessageFixture => {
  const fx = fixtures.get(name);
  if (!fx) throw new Error(`missing fixture ${name}`);
  return fx;
};
const decoded = (fx: MessageFixture): CapturedMessage[] => [fx, ...(fx.other_messages ?? [])];

/** Replaces ids (and Python's reply_to, which only the rpc backend uses) with their order of appearance. */
function canonical(value: unknown): unknown {
  const ids = new Map<string, string>();
  const walk = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (k !== 'reply_to') out[k] = walk(x, k);
      return out;
    }
    if (typeof v === 'string' && (key === 'task_id' || key === 'group_id')) {
      if (!ids.has(v)) ids.set(v, `id${ids.size}`);
      return ids.get(v);
    }
    return v;
  };
  return walk(value);
}

describe('canvas messages match Python Celery 5.2.6', () => {
  let app: Celeriac;
  let add: Task<[number, number], number>;
  let echo: Task<unknown[], unknown[]>;

  beforeEach(() => {
    app = new Celeriac('tasks', { broker: 'memory://', backend: 'memory://' });
    add = app.task('tasks.add', (x: number, y: number) => x + y);
    echo = app.task('tasks.echo', (...xs: unknown[]) => xs);
  });

  afterEach(async () => {
    await app.close();
  });

  /** The messages waiting on the default queue, parsed, in publish order. */
  async function sent(count: number): Promise<TaskRequest[]> {
    const transport = await app.connection();
    const out: TaskRequest[] = [];
    await new Promise<void>((resolve, reject) => {
      const consumer = transport.createConsumer({
        prefetch: count + 10,
        onMessage: (d) => {
          out.push(parseTaskMessage(d.message, app.codecs));
          if (out.length === count) void consumer.close().then(resolve, reject);
        },
        onError: reject,
      });
      void consumer.consume('celery');
    });
    return out;
  }

  const body = (m: TaskRequest): unknown => canonical([m.args, m.kwargs, m.embed]);

  it('chain(add.s(1, 1), add.s(2), add.s(3)): the rest of the chain reversed, each step with its task_id', async () => {
    const r = await chain(add.s(1, 1), add.s(2), add.s(3)).applyAsync();
    const [m] = await sent(1);
    const fx = fixture('chain');
    expect(body(m as TaskRequest)).toEqual(canonical(fx.decoded_body));
    // The chain's result is its last step, the first element of the reversed list.
    expect((m as TaskRequest).embed.chain?.[0]?.options['task_id']).toBe(r.id);
  });

  it('chord([add.s(1, 1), add.s(2, 2)], echo.s()): body in embed.chord, group id and group_index in the headers', async () => {
    const r = await chord([add.s(1, 1), add.s(2, 2)], echo.s()).applyAsync();
    const messages = await sent(2);
    const fx = fixture('chord');
    expect(messages.map(body)).toEqual(decoded(fx).map((m) => canonical(m.decoded_body)));
    expect(messages.map((m) => m.groupIndex)).toEqual(decoded(fx).map((m) => m.envelope.headers['group_index']));
    expect(new Set(messages.map((m) => m.groupId)).size).toBe(1);
    expect(messages[0]?.embed.chord?.options['task_id']).toBe(r.id);
  });

  it('group(add.s(i, i) for i in range(3)): one group id, no group_index, empty embed', async () => {
    const g = await group([0, 1, 2].map((i) => add.s(i, i))).applyAsync();
    const messages = await sent(3);
    const fx = fixture('group');
    expect(messages.map(body)).toEqual(decoded(fx).map((m) => canonical(m.decoded_body)));
    expect(messages.map((m) => [m.groupId, m.groupIndex])).toEqual([0, 1, 2].map(() => [g.id, null]));
  });

  it('link=[add.s(10), echo.si("done")], link_error=echo.s(): callbacks and errbacks as Python sends them', async () => {
    await add.s(2, 2).applyAsync([], { link: [add.s(10), echo.si('done')], linkError: echo.s() });
    const [m] = await sent(1);
    expect(body(m as TaskRequest)).toEqual(canonical(fixture('link_and_link_error').decoded_body));
  });

  it('map, starmap and chunks serialise as Python dict()s them', () => {
    expect(add.map([1, 2]).toDict()).toEqual({
      task: 'celery.map', args: [], kwargs: { task: { task: 'tasks.add', args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }, it: [1, 2] }, options: {}, subtask_type: null, immutable: true,
    });
    expect(add.starmap([[1, 2]]).toDict().kwargs).toEqual({ task: expect.objectContaining({ task: 'tasks.add' }), it: [[1, 2]] });
    expect(add.chunks([[1, 2], [3, 4], [5, 6]], 2).tasks.map((t) => [t.task, t.kwargs['it']])).toEqual([
      ['celery.starmap', [[1, 2], [3, 4]]],
      ['celery.starmap', [[5, 6]]],
    ]);
    expect(add.s(1).set({ queue: 'q', countdown: 3 }).toDict()).toEqual({ task: 'tasks.add', args: [1], kwargs: {}, options: { queue: 'q', countdown: 3 }, subtask_type: null, immutable: false });
  });

  it('chord and chain dicts have Celery\'s shape (kwargs.header / body, kwargs.tasks)', () => {
    const c = chord([add.s(1, 1)], add.s(5)).toDict();
    expect(c).toMatchObject({ task: 'celery.chord', subtask_type: 'chord', kwargs: { kwargs: {}, header: [expect.objectContaining({ args: [1, 1] })], body: expect.objectContaining({ args: [5] }) } });
    expect(chain(add.s(1, 1), add.s(2)).toDict()).toMatchObject({ task: 'celery.chain', subtask_type: 'chain', kwargs: { tasks: [expect.anything(), expect.anything()] } });
  });

  it('bad input: unknown .set() option, an empty chain, chunks of 0', async () => {
    expect(() => add.s(1).set({ qeue: 'x' } as never)).toThrow(/unknown signature option 'qeue'/);
    expect(() => add.chunks([[1, 2]], 0)).toThrow(/n must be a whole number >= 1/);
    expect(() => (chain as (...sigs: unknown[]) => unknown)()).toThrow(/needs at least one signature/);
  });
});
