// Reading Python Celery config modules without running them, and converting Celery settings to celeriac's.
import { describe, expect, it } from 'vitest';
import { CELERY_NEW_NAMES, CELERY_OLD_TO_NEW } from '../../../src/cli/celery-settings.js';
import { readAssignments, renameNames, tokenize } from '../../../src/cli/python-config.js';
import { brokerUrl, convertSettings, type SettingIn } from '../../../src/cli/upgrade-map.js';
import { tsLiteral } from '../../../src/cli/upgrade.js';

const values = (src: string): Record<string, unknown> => Object.fromEntries(readAssignments(src).map((a) => [a.name, a.error ? { error: a.error } : a.value]));

describe('readAssignments', () => {
  it('reads literals: strings (all quotes, prefixes, escapes, concatenation), numbers, constants, containers', () => {
    expect(values(String.raw`
A = 'a\tb' "c" '''d
e'''
B = r'\d+'
C = u"\u00e9\x41\n"
D = 1_000 + 0x10 - 0o7 + 0b11 + 1.5e2 + .5
E = (True, False, None)
F = [1, [2, (3,)], {'k': {"v": None}, 4: 'int key'}]
G = {1, 2,}
H = (1)
I = 60 * 60 * 24 // 2 % 7 ** 2
J = -2 ** 2
`)).toEqual({
      A: 'a\tbcd\ne', B: '\\d+', C: 'éA\n', D: 1000 + 16 - 7 + 3 + 150 + 0.5, E: [true, false, null],
      F: [1, [2, [3]], { k: { v: null }, '4': 'int key' }], G: [1, 2], H: 1, I: 43200 % 49, J: -4,
    });
  });

  it('resolves names assigned above, and follows Python: the last assignment wins, chains share a value', () => {
    const src = "HOST = 'redis://h'\nBROKER_URL = HOST + '/0'\nX = Y = [1] + [2]\nBROKER_URL = BROKER_URL + '?a=1'\n";
    expect(readAssignments(src).map((a) => [a.name, a.value])).toEqual([['HOST', 'redis://h'], ['BROKER_URL', 'redis://h/0'], ['X', [1, 2]], ['Y', [1, 2]], ['BROKER_URL', 'redis://h/0?a=1']]);
  });

  it('never evaluates: calls, attributes, f-strings, bytes, unknown names and blocks are reported with a hint', () => {
    const errors = Object.fromEntries(readAssignments(`
import os
from datetime import timedelta
A = timedelta(hours=1)
B = os.environ['X']
C = f"{A}"
D = b'x'
E = UNDEFINED
F = 1; F += 2
G = 'a' * 3
if True:
    BROKER_URL = 'x'
def f():
    helper = 1
`).map((a) => [a.name, a.error]));
    expect(errors['A']).toBe('not a literal: it calls timedelta(); write the number of seconds');
    expect(errors['B']).toMatch(/^not a literal: it reads os\.environ; celeriac reads CELERIAC_\* environment variables/);
    expect(errors['C']).toMatch(/an f-string/);
    expect(errors['D']).toMatch(/bytes/);
    expect(errors['E']).toBe('not a literal: the name UNDEFINED is not assigned a literal above');
    expect(errors['F']).toBe("not a literal: augmented assignment '+='");
    expect(errors['G']).toMatch(/'\*' on string and number/);
    expect(errors['BROKER_URL']).toMatch(/^assigned inside a block/);
  });

  it('reports broken source with its line', () => {
    expect(() => tokenize("A = 1\nB = 'open\n")).toThrow('line 2: a string is not closed');
  });
});

describe('renameNames', () => {
  it('renames names only: strings and comments keep old names', () => {
    const src = "BROKER_URL = 'BROKER_URL'  # BROKER_URL\nCELERY_RESULT_BACKEND = BROKER_URL\n";
    expect(renameNames(src, (n) => CELERY_OLD_TO_NEW[n])).toBe("broker_url = 'BROKER_URL'  # BROKER_URL\nresult_backend = broker_url\n");
  });
});

describe("Celery's names table", () => {
  it('maps the 169 old names one to one, as Celery 5.2', () => {
    expect(Object.keys(CELERY_OLD_TO_NEW)).toHaveLength(169);
    expect(CELERY_NEW_NAMES.size).toBe(169);
    expect(CELERY_OLD_TO_NEW['CELERY_TASK_SERIALIZER']).toBe('task_serializer');
    expect(CELERY_OLD_TO_NEW['CELERYD_TASK_TIME_LIMIT']).toBe('task_time_limit');
  });
});

describe('convertSettings', () => {
  const ok = (): undefined => undefined;
  const s = (name: string, value: SettingIn['value'], setting = name): SettingIn => ({ setting, name, line: 1, value });

  it('composes the broker URL from Celery 3 parts, and converts backends', () => {
    const c = convertSettings([s('broker_host', 'mq'), s('broker_user', 'me'), s('broker_password', 'p@ss'), s('broker_vhost', 'v'), s('result_backend', 'db+sqlite:///results.db')], ok);
    expect(c.config).toEqual({ broker: 'amqp://me:p%40ss@mq/v', backend: 'sqlite://./results.db' });
    expect(convertSettings([s('result_backend', 'db+sqlite:////var/r.db')], ok).config).toEqual({ backend: 'sqlite:///var/r.db' });
    expect(convertSettings([s('result_backend', 'amqp')], ok).config).toEqual({ backend: 'rpc://' });
    expect(convertSettings([s('result_backend', 'mongodb://h')], ok).notCarried[0]?.why).toMatch(/no mongodb result backend/);
    expect(brokerUrl(['librabbitmq://h//', 'amqp://other//'], { note: () => undefined })).toBe('amqp://h//');
  });

  it("refuses what celeriac's option schema refuses, with the reason", () => {
    const c = convertSettings([s('task_serializer', 'pickle', 'CELERY_TASK_SERIALIZER')], (o, v) => (o === 'taskSerializer' && v === 'pickle' ? 'Invalid enum value' : undefined));
    expect(c.notCarried).toEqual([{ setting: 'CELERY_TASK_SERIALIZER', name: 'task_serializer', line: 1, why: 'celeriac\'s taskSerializer refuses "pickle": Invalid enum value' }]);
  });
});

describe('tsLiteral', () => {
  it('prints TypeScript: bare identifier keys, quoted others, escaped strings, long values on lines', () => {
    expect(tsLiteral({ a: 1, 'b.c': "it's", d: [true, null] })).toBe("{ a: 1, 'b.c': 'it\\'s', d: [true, null] }");
    expect(tsLiteral({ x: 'y'.repeat(90) })).toBe(`{\n  x: '${'y'.repeat(90)}',\n}`);
  });
});
