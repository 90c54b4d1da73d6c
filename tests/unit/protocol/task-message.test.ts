/** Protocol v2 task messages against the golden messages captured from Python Celery 5.2.6. */
import { describe, expect, it } from 'vitest';
import { CodecRegistry, jsonCodec } from '../../../src/protocol/codecs.js';
import { decodeEnvelope, encodeEnvelope } from '../../../src/protocol/envelope.js';
import { buildTaskMessage, isoTime, parseIsoTime, parseTaskMessage, type SignatureDict, type TaskMessageInput } from '../../../src/protocol/task-message.js';
import { allMessages, messageFixtures, type CapturedMessage, type MessageFixture } from './wire-fixtures.js';

const codecs = new CodecRegistry();
const ETA = '2030-01-02T03:04:05.678901+00:00';
const ETA_MS = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
const PY_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;

const ms = (iso: unknown): number => parseIsoTime(iso as string) as number;

describe('parseTaskMessage on every captured Celery message', () => {
  it.each(allMessages())('%s', (_label, _fx, m) => {
    const env = decodeEnvelope(m.raw);
    const h = m.envelope.headers;
    const [args, kwargs, embed] = m.decoded_body;
    expect(env.deliveryTag).toBe(m.envelope.properties.delivery_tag);
    expect(env.deliveryInfo).toEqual(m.envelope.properties.delivery_info);
    expect(env.redelivered).toBe(false);
    expect(env.message.headers).toEqual(h);
    expect(env.message.contentType).toBe('application/json');

    const req = parseTaskMessage(env.message, codecs);
    expect(req.id).toBe(h['id']);
    expect(req.name).toBe(h['task']);
    expect(req.args).toEqual(args);
    expect(req.kwargs).toEqual(kwargs);
    expect(req.eta?.getTime() ?? null).toBe(h['eta'] ? ms(h['eta']) : null);
    expect(req.expires?.getTime() ?? null).toBe(h['expires'] ? ms(h['expires']) : null);
    expect(req.timeLimit).toEqual(h['timelimit']);
    expect(req.groupId).toBe(h['group']);
    expect(req.groupIndex).toBe(h['group_index']);
    expect(req.rootId).toBe(h['root_id']);
    expect(req.parentId).toBe(h['parent_id']);
    expect(req.shadow).toBe(h['shadow']);
    expect(req.origin).toBe(h['origin']);
    expect(req.ignoreResult).toBe(h['ignore_result']);
    expect(req.retries).toBe(0);
    expect(req.argsrepr).toBe(h['argsrepr']);
    expect(req.kwargsrepr).toBe(h['kwargsrepr']);
    expect(req.lang).toBe('py');
    expect(req.correlationId).toBe(m.envelope.properties['correlation_id']);
    expect(req.replyTo).toBe(m.envelope.properties['reply_to']);
    expect(req.embed).toEqual({ callbacks: embed['callbacks'], errbacks: embed['errbacks'], chain: embed['chain'], chord: embed['chord'] });
  });

  const parse = (name: string, index = 0) => {
    const fx = messageFixtures().find(([n]) => n === name)?.[1] as MessageFixture;
    const m = index === 0 ? fx : (fx.other_messages?.[index - 1] as CapturedMessage);
    const { message } = decodeEnvelope(m.raw);
    return { req: parseTaskMessage(message, codecs), props: message.properties };
  };

  it('reads the wire facts the README lists', () => {
    expect(parse('time_limits').req.timeLimit).toEqual([30, 10]); // [hard, soft]
    expect(parse('soft_time_limit_only').req.timeLimit).toEqual([null, 10]);
    expect(parse('eta_utc').req.eta?.getTime()).toBe(ETA_MS);
    expect(parse('eta_naive').req.eta?.getTime()).toBe(ETA_MS); // naive = UTC
    expect(parse('eta_plus0200').req.eta?.getTime()).toBe(ETA_MS - 2 * 3600_000);
    expect(parse('expires_datetime').req.expires?.getTime()).toBe(ETA_MS);
    expect(parse('expires_seconds').props.expiration).toBe('60000');
    expect(parse('priority_5').props.priority).toBe(5);
    expect(parse('priority_9').props.priority).toBe(9);
    expect(parse('shadow').req.shadow).toBe('shadowname');
    expect(parse('ignore_result').req.ignoreResult).toBe(true);
    expect(parse('custom_headers').req.headers['x-custom']).toBe('v');
    const chain = parse('chain').req.embed.chain as SignatureDict[];
    expect(chain.map((s) => s.args)).toEqual([[3], [2]]); // reversed: the worker pops the last
    expect(parse('chord', 0).req.groupIndex).toBe(0);
    expect(parse('chord', 1).req.groupIndex).toBe(1);
    expect(parse('chord').req.embed.chord?.task).toBe('tasks.echo');
    expect(parse('group', 2).req.groupIndex).toBeNull();
    const both = parse('link_and_link_error').req.embed;
    expect(both.callbacks?.map((s) => [s.task, s.immutable])).toEqual([['tasks.add', false], ['tasks.echo', true]]);
    expect(both.errbacks?.map((s) => s.task)).toEqual(['tasks.echo']);
  });
});

/** What the Python call asked for, as buildTaskMessage input (ids, origin and reply_to copied from the capture). */
function inputFor(name: string, m: CapturedMessage): TaskMessageInput {
  const h = m.envelope.headers;
  const [args, kwargs, embed] = m.decoded_body;
  const input: TaskMessageInput = {
    id: h['id'] as string,
    name: h['task'] as string,
    args,
    kwargs,
    now: Date.UTC(2026, 10, 22, 10, 42, 0),
    origin: h['origin'] as string,
    replyTo: m.envelope.properties['reply_to'] as string,
    rootId: h['root_id'] as string,
    parentId: h['parent_id'] as string | null,
    groupId: h['group'] as string | null,
    groupIndex: h['group_index'] as number | null,
    callbacks: embed['callbacks'] as SignatureDict[] | null,
    errbacks: embed['errbacks'] as SignatureDict[] | null,
    chain: embed['chain'] as SignatureDict[] | null,
    chord: embed['chord'] as SignatureDict | null,
  };
  const extra: Record<string, () => Partial<TaskMessageInput>> = {
    countdown: () => ({ countdown: 10, now: ms(h['eta']) - 10_000 }),
    eta_utc: () => ({ eta: ETA }),
    eta_naive: () => ({ eta: '2030-01-02T03:04:05.678901' }),
    eta_plus0200: () => ({ eta: '2030-01-02T03:04:05.678901+02:00' }),
    expires_seconds: () => ({ expires: 60, now: ms(h['expires']) - 60_000 }),
    expires_datetime: () => ({ expires: ETA, now: ETA_MS - 98_209_279_314 }),
    priority_0: () => ({ priority: 0 }),
    priority_5: () => ({ priority: 5 }),
    priority_9: () => ({ priority: 9 }),
    time_limits: () => ({ timeLimit: 30, softTimeLimit: 10 }),
    soft_time_limit_only: () => ({ softTimeLimit: 10 }),
    ignore_result: () => ({ ignoreResult: true }),
    shadow: () => ({ shadow: 'shadowname' }),
    custom_headers: () => ({ headers: { 'x-custom': 'v' } }),
  };
  return { ...input, ...extra[name.replace(/\[\d+\]$/, '')]?.() };
}

describe('buildTaskMessage matches Celery 5.2.6 field by field', () => {
  it.each(allMessages())('%s', (label, fx: MessageFixture, m) => {
    const theirs = m.envelope;
    const ours = buildTaskMessage(inputFor(label, m), jsonCodec);

    // Same header keys in the same order, same values (lang and time formats aside).
    expect(Object.keys(ours.headers)).toEqual(Object.keys(theirs.headers));
    for (const [key, want] of Object.entries(theirs.headers)) {
      const got = ours.headers[key];
      if (key === 'lang') expect(got).toBe('js');
      else if (key === 'eta' || key === 'expires') {
        if (want === null) expect(got).toBeNull();
        else {
          expect(got).toMatch(PY_ISO);
          expect(ms(got)).toBe(ms(want));
          // An aware UTC string input comes out byte for byte as Python wrote it (microseconds kept).
          if (label === 'eta_utc' || label === 'expires_datetime') expect(got).toBe(want);
        }
      } else if (key === 'argsrepr' && fx.python_call.includes('args=[')) {
        // Python renders a list argument as a list; JS has no tuples, so celeriac always sends tuple form.
        expect(got).toBe(`(${(want as string).slice(1, -1)})`);
      } else expect(got, `header ${key}`).toEqual(want);
    }
    expect(codecs.decode(ours.contentType, ours.body)).toEqual(m.decoded_body);
    expect(ours.contentType).toBe(theirs['content-type']);
    expect(ours.contentEncoding).toBe(theirs['content-encoding']);

    // The kombu envelope: same keys in the same order, same properties.
    const env = JSON.parse(encodeEnvelope(ours, theirs.properties.delivery_info, theirs.properties.delivery_tag)) as typeof theirs;
    const raw = JSON.parse(m.raw) as typeof theirs;
    expect(Object.keys(env)).toEqual(Object.keys(raw));
    expect(Object.keys(env.properties)).toEqual(Object.keys(raw.properties));
    expect(Object.keys(env.properties.delivery_info)).toEqual(Object.keys(raw.properties.delivery_info));
    expect(env.properties).toEqual(raw.properties);
  });

  it('keeps exact ISO strings (microseconds) for string times, normalised to UTC', () => {
    const base = { id: 'i', name: 't', now: 0, origin: 'o' };
    const h = (extra: Partial<TaskMessageInput>) => buildTaskMessage({ ...base, ...extra }, jsonCodec).headers;
    expect(h({ eta: ETA })['eta']).toBe(ETA);
    expect(h({ eta: '2030-01-02T03:04:05.678901+02:00' })['eta']).toBe('2030-01-02T01:04:05.678901+00:00');
    expect(h({ eta: '2030-01-02T03:04:05.678901' })['eta']).toBe(ETA);
    expect(h({ eta: '2030-01-02T03:04:05Z' })['eta']).toBe('2030-01-02T03:04:05.000000+00:00');
    expect(h({ eta: new Date(ETA_MS) })['eta']).toBe('2030-01-02T03:04:05.678000+00:00');
    expect(h({ eta: ETA_MS })['eta']).toBe('2030-01-02T03:04:05.678000+00:00');
    expect(h({ countdown: 1.5 })['eta']).toBe('1970-01-01T00:00:01.500000+00:00');
    expect(h({ eta: ETA, countdown: 5 })['eta']).toBe(ETA); // an explicit eta wins
    expect(isoTime(0, 7)).toBe('1970-01-01T00:00:00.000007+00:00');
    expect(() => h({ eta: 'next tuesday' })).toThrow(/invalid date/);
  });

  it('sets expiration (ms string, never negative) only when expires is set', () => {
    const base = { id: 'i', name: 't', now: 1_000_000, origin: 'o' };
    const p = (extra: Partial<TaskMessageInput>) => buildTaskMessage({ ...base, ...extra }, jsonCodec).properties;
    expect(p({})).toEqual({ correlation_id: 'i', reply_to: '', delivery_mode: 2 });
    expect(p({ expires: 2.5 }).expiration).toBe('2500');
    expect(p({ expires: new Date(1_060_000) }).expiration).toBe('60000');
    expect(p({ expires: new Date(0) }).expiration).toBe('0');
    expect(Object.keys(p({ expires: 1, priority: 3 }))).toEqual(['correlation_id', 'reply_to', 'delivery_mode', 'expiration', 'priority']);
  });

  it('defaults: root_id is the own id, retries 0, timelimit [null, null], empty embed', () => {
    const msg = buildTaskMessage({ id: 'abc', name: 'tasks.add', args: [1], now: 0, origin: 'gen1@h' }, jsonCodec);
    expect(msg.headers).toMatchObject({ root_id: 'abc', parent_id: null, retries: 0, timelimit: [null, null], argsrepr: '(1,)', kwargsrepr: '{}' });
    expect(codecs.decode(msg.contentType, msg.body)).toEqual([[1], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  });
});
