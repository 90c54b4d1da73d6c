/** Result meta against the records Python Celery 5.2.6 stored (tests/fixtures/wire/results). */
import { describe, expect, it } from 'vitest';
import { ProtocolError, RemoteTaskError, fromWireException, toWireException } from '../../../src/errors.js';
import { buildResultMeta, copyFlatMeta, dateDone, mayOverwrite, parseResultMeta, pendingMeta, revokedException, type ResultMeta } from '../../../src/protocol/result-meta.js';
import { isReady, States } from '../../../src/protocol/states.js';
import { resultFixtures } from './wire-fixtures.js';

const records = Object.fromEntries(resultFixtures().map(([name, fx]) => [name, fx.record])) as Record<string, Record<string, unknown>>;
const NAIVE_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;
const at = (naive: unknown): number => Date.parse(`${String(naive).slice(0, 23)}Z`);

describe('parseResultMeta on every captured record', () => {
  it.each(resultFixtures().filter(([name]) => name !== 'taskset_group_save'))('%s', (_name, fx) => {
    const meta = parseResultMeta(JSON.stringify(fx.record), 'fallback-id');
    expect(meta).toEqual(fx.record);
    expect(meta.date_done === null || NAIVE_UTC.test(meta.date_done)).toBe(true);
    expect(meta.date_done === null).toBe(!isReady(meta.status));
  });

  it('a group record (celery-taskset-meta) is not task meta', () => {
    expect(() => parseResultMeta(JSON.stringify(records['taskset_group_save']), 'g')).toThrow(ProtocolError);
  });

  it('fills what old or partial records leave out', () => {
    expect(parseResultMeta('{"status": "SUCCESS", "result": 1}', 'tid')).toEqual({ status: 'SUCCESS', result: 1, task_id: 'tid', children: [], traceback: null, date_done: null });
    expect(() => parseResultMeta('not json', 'tid')).toThrow(ProtocolError);
  });
});

describe('buildResultMeta matches the Celery records', () => {
  const same = (ours: ResultMeta, theirs: Record<string, unknown>, ignore: string[] = []) => {
    expect(Object.keys(ours)).toEqual(Object.keys(theirs)); // key order, task_id last
    for (const [k, v] of Object.entries(theirs)) if (!ignore.includes(k)) expect(ours[k as keyof ResultMeta], k).toEqual(v);
  };

  it('SUCCESS', () => {
    const r = records['success_add'] as Record<string, unknown>;
    const ours = buildResultMeta({ taskId: r['task_id'] as string, status: States.SUCCESS, result: 4, now: at(r['date_done']) });
    same(ours, r, ['date_done']);
    expect(ours.date_done).toMatch(NAIVE_UTC);
    expect(ours.date_done).toBe(`${String(r['date_done']).slice(0, 23)}000`);
  });

  it('FAILURE with the exception in wire form', () => {
    const r = records['failure_fail'] as Record<string, unknown>;
    const err = new Error('boom');
    err.name = 'ValueError';
    const ours = buildResultMeta({ taskId: r['task_id'] as string, status: States.FAILURE, result: toWireException(err), traceback: 'tb', now: at(r['date_done']) });
    same(ours, r, ['date_done', 'traceback']);
    expect(ours.result).toEqual({ exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' });
    const back = fromWireException(r['result'], r['traceback'] as string);
    expect(back).toBeInstanceOf(RemoteTaskError);
    expect((back as RemoteTaskError).excType).toBe('ValueError');
    expect(back.message).toBe('ValueError: boom');
  });

  it("REVOKED gets Celery's TaskRevokedError form", () => {
    const r = records['revoked'] as Record<string, unknown>;
    const ours = buildResultMeta({ taskId: r['task_id'] as string, status: States.REVOKED, result: undefined, now: at(r['date_done']) });
    same(ours, r, ['date_done']);
    expect(ours.result).toEqual({ exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' });
    expect(revokedException('expired').exc_message).toEqual(['expired']);
  });

  it('STARTED has no date_done', () => {
    const r = records['started_sleepy'] as Record<string, unknown>;
    same(buildResultMeta({ taskId: r['task_id'] as string, status: States.STARTED, result: r['result'], now: 0 }), r);
  });

  it('group_id and parent_id sit before task_id, and only when set', () => {
    const g = records['success_group_member'] as Record<string, unknown>;
    same(buildResultMeta({ taskId: g['task_id'] as string, status: States.SUCCESS, result: 2, groupId: g['group_id'] as string, parentId: null, now: at(g['date_done']) }), g, ['date_done']);
    const p = records['success_chain_last'] as Record<string, unknown>;
    same(buildResultMeta({ taskId: p['task_id'] as string, status: States.SUCCESS, result: 4, parentId: p['parent_id'] as string, groupId: null, now: at(p['date_done']) }), p, ['date_done']);
  });

  it('result_extended fields sit between date_done and task_id', () => {
    const r = records['success_add_extended'] as Record<string, unknown>;
    const extended = { name: 'tasks.add', args: [2, 2], kwargs: {}, worker: 'wire@capture', retries: 0, queue: 'celery' };
    same(buildResultMeta({ taskId: r['task_id'] as string, status: States.SUCCESS, result: 4, extended, now: at(r['date_done']) }), r, ['date_done']);
  });

  it('RETRY carries children as result tuples', () => {
    const r = records['retry_intermediate'] as Record<string, unknown>;
    same(buildResultMeta({ taskId: r['task_id'] as string, status: States.RETRY, result: null, traceback: r['traceback'] as string, children: r['children'] as unknown[], now: 0 }), r);
  });
});

describe('result state rules', () => {
  it('PENDING meta for unknown ids', () => {
    expect(pendingMeta('x')).toEqual({ status: 'PENDING', result: null, traceback: null, children: [], date_done: null, task_id: 'x' });
  });

  it('dateDone is naive UTC with microseconds', () => {
    expect(dateDone(Date.UTC(2026, 10, 22, 10, 50, 0, 123))).toBe('2026-11-22T10:50:00.123000');
  });

  it.each([
    [undefined, States.STARTED, true],
    [States.STARTED, States.SUCCESS, true],
    [States.STARTED, States.RETRY, true],
    [States.RETRY, States.STARTED, true],
    [States.SUCCESS, States.FAILURE, false],
    [States.SUCCESS, States.STARTED, false],
    [States.SUCCESS, States.SUCCESS, false],
    [States.FAILURE, States.STARTED, false],
    [States.REVOKED, States.RETRY, false],
    [States.FAILURE, States.SUCCESS, true],
  ])('mayOverwrite(%s, %s) = %s', (current, next, allowed) => {
    expect(mayOverwrite(current, next)).toBe(allowed);
  });
});

describe('copyFlatMeta: the JSON round trip without the text, for records of JSON scalars', () => {
  const roundTrip = (m: ResultMeta): ResultMeta => parseResultMeta(JSON.stringify(m), m.task_id);
  const now = Date.parse('2026-11-22T10:50:00.123Z');
  const flat: ResultMeta[] = [
    buildResultMeta({ taskId: 'a', status: States.SUCCESS, result: 4, now }),
    buildResultMeta({ taskId: 'b', status: States.SUCCESS, result: 'text \u2028 "quoted" \ud800', now }),
    buildResultMeta({ taskId: 'c', status: States.SUCCESS, result: null, now, groupId: 'g', parentId: 'p' }),
    buildResultMeta({ taskId: 'd', status: States.STARTED, result: false, now }),
    buildResultMeta({ taskId: 'e', status: States.SUCCESS, result: 1.5e300, traceback: 'tb', now }),
    { status: States.SUCCESS, result: 0, task_id: 'f' } as ResultMeta, // lacks fields: completed as a parse would
  ];
  it.each(flat.map((m) => [m.task_id, m]))('%s: same keys, order and values as the round trip, in new objects', (_id, m) => {
    const copy = copyFlatMeta(m, m.task_id);
    expect(copy).toEqual(roundTrip(m));
    expect(JSON.stringify(copy)).toBe(JSON.stringify(roundTrip(m)));
    expect(copy).not.toBe(m);
    expect(copy?.children).not.toBe(m.children);
  });

  it.each([
    ['an object result', { list: [1] }],
    ['an array result', [1, 2]],
    ['NaN (JSON: null)', Number.NaN],
    ['Infinity (JSON: null)', Number.POSITIVE_INFINITY],
    ['-0 (JSON: 0)', -0],
    ['undefined inside a field', undefined],
    ['a bigint', 1n],
  ])('%s is left to the round trip (undefined)', (_what, result) => {
    const m = buildResultMeta({ taskId: 'x', status: States.SUCCESS, result: 0, now });
    (m as { result: unknown }).result = result;
    expect(copyFlatMeta(m, 'x')).toBeUndefined();
  });

  it('extended fields, children, an error form and a class instance are left to the round trip', () => {
    const ext = buildResultMeta({ taskId: 'x', status: States.SUCCESS, result: 1, now, extended: { name: 't', args: [1], kwargs: {}, worker: 'w', retries: 0, queue: 'q' } });
    expect(copyFlatMeta(ext, 'x')).toBeUndefined();
    expect(copyFlatMeta(buildResultMeta({ taskId: 'x', status: States.SUCCESS, result: 1, children: [['id', null]], now }), 'x')).toBeUndefined();
    expect(copyFlatMeta(buildResultMeta({ taskId: 'x', status: States.FAILURE, result: toWireException(new Error('e')), now }), 'x')).toBeUndefined();
    class Meta {
      status = States.SUCCESS;
      result = 1;
    }
    expect(copyFlatMeta(new Meta() as unknown as ResultMeta, 'x')).toBeUndefined();
  });
});
