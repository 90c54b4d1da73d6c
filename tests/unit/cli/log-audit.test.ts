// Reading worker logs: pino JSON, pino-pretty (colours too) and Python Celery's lines, mixed; retries,
// revocations, unregistered tasks, traces; Celery's report layout.
import { describe, expect, it } from 'vitest';
import { formatStats, LogAudit, parseLine, taskEvent, type LogRecord } from '../../../src/cli/log-audit.js';

const json = (level: number, msg: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ level, time: 1_700_000_000_000, pid: 1, ...extra, msg });

describe('parseLine', () => {
  it('knows the three formats and leaves other lines as continuations', () => {
    expect(parseLine(json(30, 'hi'))).toMatchObject({ format: 'json', level: 'INFO', msg: 'hi', head: '[2023-11-14T22:13:20.000Z] INFO: hi' });
    expect(parseLine('\x1b[90m[07:00:01.123]\x1b[39m \x1b[32mINFO\x1b[39m: \x1b[36mTask a.b[1] received\x1b[39m')).toMatchObject({ format: 'pretty', level: 'INFO', msg: 'Task a.b[1] received' });
    expect(parseLine('[2024-01-02 16:41:57,615: WARNING/MainProcess] careful')).toMatchObject({ format: 'celery', level: 'WARN', msg: 'careful' });
    expect(parseLine('    at f (x.js:1:1)')).toBeUndefined();
    expect(parseLine('{not json')).toBeUndefined();
  });
});

describe('taskEvent', () => {
  it.each([
    ['Task tasks.add[1-2] received', { kind: 'received', name: 'tasks.add', id: '1-2' }],
    ['Received task: tasks.add[1-2]', { kind: 'received', name: 'tasks.add', id: '1-2' }],
    ['Task tasks.add[1-2] succeeded in 0.0015s: 4', { kind: 'succeeded', name: 'tasks.add', id: '1-2', runtime: 0.0015 }],
    ["Task tasks.add[1-2] raised unexpected: ValueError('x')", { kind: 'failed', name: 'tasks.add', id: '1-2' }],
    ['Task tasks.add[1-2] retry: Retry in 5s', { kind: 'retried', name: 'tasks.add', id: '1-2' }],
    ['Task tasks.add[1-2] terminated (SIGTERM): REVOKED', { kind: 'revoked', name: 'tasks.add', id: '1-2' }],
    ['Discarding revoked task: tasks.add[1-2]', { kind: 'revoked', name: 'tasks.add', id: '1-2' }],
    ['Received unregistered task of type "nope.x" [1-2]: stored FAILURE', { kind: 'failed', name: 'nope.x', id: '1-2' }],
    ['worker ready', undefined],
  ])('%s', (msg, ev) => expect(taskEvent(msg)).toEqual(ev));
});

describe('LogAudit', () => {
  it('counts a mixed fleet\'s logs; a retried task is complete only once it ends', () => {
    const errors: LogRecord[] = [];
    const traces: LogRecord[] = [];
    const audit = new LogAudit({ onError: (r) => errors.push(r), onTrace: (r) => traces.push(r) });
    const lines = [
      json(30, 'Task tasks.add[a] received'),
      json(30, 'Task tasks.add[a] succeeded in 0.5s: 3'),
      json(30, 'Task tasks.flaky[b] received'),
      json(30, 'Task tasks.flaky[b] retry: Retry in 1s'),
      json(30, 'Task tasks.flaky[b] received'),
      json(50, 'Task tasks.flaky[b] raised unexpected: Error: no', { err: { type: 'Error', message: 'no', stack: 'Error: no\n    at f (t.js:1:1)' } }),
      '[07:00:01.123] INFO: Task tasks.add[c] received',
      '[07:00:01.200] INFO: Task tasks.add[c] succeeded in 1.5s: 5',
      '[07:00:02.000] INFO: Task tasks.slow[d] received',
      '[2024-01-02 16:41:57,615: INFO/MainProcess] Task tasks.py[e] received',
      "[2024-01-02 16:41:57,700: ERROR/ForkPoolWorker-1] Task tasks.py[e] raised unexpected: ValueError('boom')",
      'Traceback (most recent call last):',
      '  File "t.py", line 1, in f',
      'ValueError: boom',
      '[2024-01-02 16:41:58,000: INFO/MainProcess] Discarding revoked task: tasks.py[f]',
    ];
    for (const l of lines) audit.feed(l);
    const report = audit.end().report();
    expect(report).toMatchObject({ total: 6, errors: 3, succeeded: 2, completed: 5, retried: 1, revoked: 1 });
    expect(report.types).toEqual([['tasks.add', 2], ['tasks.py', 2], ['tasks.flaky', 1], ['tasks.slow', 1]]);
    expect(report.runtimes['tasks.add']).toEqual({ count: 2, avg: 1, max: 1.5 });
    expect(audit.incomplete()).toEqual(['d']);
    expect(errors.map((e) => e.msg)).toEqual(['Task tasks.flaky[b] raised unexpected: Error: no', "Task tasks.py[e] raised unexpected: ValueError('boom')", 'Discarding revoked task: tasks.py[f]']);
    expect(traces.map((t) => t.trace)).toEqual([['Error: no', '    at f (t.js:1:1)'], ['Traceback (most recent call last):', '  File "t.py", line 1, in f', 'ValueError: boom']]);
    expect(formatStats(report)).toBe(['', 'Report', '======', 'Task total: 6', 'Task errors: 3', 'Task success: 2', 'Task completed: 5', 'Task retried: 1', 'Task revoked: 1', 'Tasks', '=====', 'tasks.add: 2', 'tasks.py: 2', 'tasks.flaky: 1', 'tasks.slow: 1', ''].join('\n'));
  });

  it('pretty records take only indented lines; JSON records take none', () => {
    const traces: LogRecord[] = [];
    const audit = new LogAudit({ onTrace: (r) => traces.push(r) });
    for (const l of ['[07:00:01.123] ERROR: oops', '    err: {', '      "stack": "x"', '    }', 'celeriac@h ready.', json(30, 'hi'), 'stray line']) audit.feed(l);
    audit.end();
    expect(traces).toHaveLength(1);
    expect(traces[0]?.trace).toEqual(['    err: {', '      "stack": "x"', '    }']);
  });
});
