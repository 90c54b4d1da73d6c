/** The small pure helpers in src/util. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { backoffDelay } from '../../../src/util/backoff.js';
import { globToRegExp, isGlob } from '../../../src/util/glob.js';
import { defaultNodeName, expandNodeName } from '../../../src/util/hostname.js';
import { uuid, uuidFactory } from '../../../src/util/ids.js';
import { PluginRegistry } from '../../../src/util/plugins.js';
import { sleep } from '../../../src/util/sleep.js';
import { maskUrl, urlPath, urlQuery, urlScheme } from '../../../src/util/url.js';
import { TypedEmitter } from '../../../src/util/emitter.js';

describe('url helpers', () => {
  it('urlScheme lower-cases and refuses non-URLs', () => {
    expect(urlScheme('SQLite://./x.db')).toBe('sqlite');
    expect(urlScheme('redis+socket:///tmp/r.sock')).toBe('redis+socket');
    expect(() => urlScheme('localhost:6379')).toThrow(ConfigError);
    expect(() => urlScheme('')).toThrow(/not a broker URL/);
  });

  it.each([
    ['redis://:secret@localhost:6379/0', 'redis://:**@localhost:6379/0'],
    ['amqp://guest:guest@rabbit:5672//', 'amqp://guest:**@rabbit:5672//'],
    ['redis://localhost:6379/0', 'redis://localhost:6379/0'],
    ['sqlite://./celeriac.db', 'sqlite://./celeriac.db'],
    ['amqp://user@host/', 'amqp://user@host/'],
  ])('maskUrl(%s)', (url, want) => {
    expect(maskUrl(url)).toBe(want);
  });

  it('urlPath and urlQuery split file URLs', () => {
    expect(urlPath('sqlite://./celeriac.db')).toBe('./celeriac.db');
    expect(urlPath('sqlite:///abs/path.db?visibility_timeout=5')).toBe('/abs/path.db');
    expect(urlPath('sqlite://:memory:')).toBe(':memory:');
    expect(urlQuery('sqlite://x.db?visibility_timeout=60&poll_interval=5')).toEqual({ visibility_timeout: '60', poll_interval: '5' });
    expect(urlQuery('sqlite://x.db')).toEqual({});
  });
});

describe('glob', () => {
  it.each([
    ['tasks.*', 'tasks.add', true],
    ['tasks.*', 'tasksXadd', false],
    ['tasks.*', 'other.add', false],
    ['w?@host', 'w1@host', true],
    ['w?@host', 'w12@host', false],
    ['w[12]@*', 'w2@h', true],
    ['w[!12]@*', 'w2@h', false],
    ['w[!12]@*', 'w3@h', true],
    ['a+b(c)', 'a+b(c)', true],
    ['celery@*', 'celery@worker.example.com', true],
    ['[unclosed', '[unclosed', true],
  ])("'%s' vs '%s' -> %s", (glob, name, want) => {
    expect(globToRegExp(glob).test(name)).toBe(want);
  });

  it('isGlob', () => {
    expect(isGlob('tasks.*')).toBe(true);
    expect(isGlob('w[12]')).toBe(true);
    expect(isGlob('tasks.add')).toBe(false);
  });
});

describe('node names', () => {
  it('expands %h, %n, %d and %% like Celery', () => {
    expect(expandNodeName('w1@%h', 'box.example.com')).toBe('w1@box.example.com');
    expect(expandNodeName('w1@%n', 'box.example.com')).toBe('w1@box');
    expect(expandNodeName('w1@%d', 'box.example.com')).toBe('w1@example.com');
    expect(expandNodeName('w1@%n.%d', 'box')).toBe('w1@box.');
    expect(expandNodeName('100%%@%h', 'box')).toBe('100%@box');
  });

  it("a name without @ is the host part, as in Celery; the default is celeriac@<host>", () => {
    expect(expandNodeName('w1', 'box')).toBe('celeriac@w1');
    expect(expandNodeName('%h', 'box')).toBe('celeriac@box');
    expect(defaultNodeName('box')).toBe('celeriac@box');
  });
});

describe('backoff', () => {
  it('doubles from base up to max', () => {
    const opts = { base: 100, max: 1000 };
    expect([0, 1, 2, 3, 4, 10, 2000].map((a) => backoffDelay(a, opts))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoffDelay(-1, opts)).toBe(100);
  });

  it('full jitter scales by the random source', () => {
    expect(backoffDelay(2, { base: 100, max: 1000, jitter: true, random: () => 0.5 })).toBe(200);
    expect(backoffDelay(2, { base: 100, max: 1000, jitter: true, random: () => 0 })).toBe(0);
  });
});

describe('plugin registry', () => {
  it('resolves by scheme, lazily', async () => {
    let loaded = 0;
    const registry = new PluginRegistry<string>('broker transport').register('sqlite', async () => {
      loaded++;
      return 'sqlite-plugin';
    });
    expect(loaded).toBe(0);
    expect(await registry.resolve('SQLITE://./x.db')).toBe('sqlite-plugin');
    expect(loaded).toBe(1);
    expect(registry.schemes()).toEqual(['sqlite']);
  });

  it('suggests the nearest scheme for a typo', async () => {
    const registry = new PluginRegistry<string>('broker transport').register('redis', async () => 'r').register('sqlite', async () => 's');
    await expect(registry.resolve('rdis://localhost')).rejects.toThrow(/no broker transport for 'rdis:\/\/'\. Did you mean 'redis:\/\/'\?/);
    await expect(registry.resolve('kafka://x')).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('small helpers', () => {
  it('uuid makes v4 ids', () => {
    expect(uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuid()).not.toBe(uuid());
  });

  it('uuidFactory makes distinct v4 ids across refills of its random pool, and factories do not share one', () => {
    const next = uuidFactory();
    const other = uuidFactory();
    const seen = new Set<string>();
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (let i = 0; i < 2000; i++) {
      const a = next();
      const b = other();
      expect(a).toMatch(v4);
      expect(b).toMatch(v4);
      seen.add(a).add(b);
    }
    expect(seen.size).toBe(4000);
    // Every hex digit shows up in every free position over 4000 ids: the bytes are random, not a counter.
    const ids = [...seen];
    for (const pos of [0, 7, 9, 15, 20, 35]) expect(new Set(ids.map((id) => id[pos])).size).toBe(16);
  });

  it('sleep resolves after the delay, or early on abort', async () => {
    const t0 = Date.now();
    await sleep(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    const ac = new AbortController();
    const t1 = Date.now();
    setTimeout(() => ac.abort(), 10);
    await sleep(10_000, ac.signal);
    expect(Date.now() - t1).toBeLessThan(5000);
    await sleep(10_000, AbortSignal.abort());
  });

  it('TypedEmitter delivers typed payloads', () => {
    const e = new TypedEmitter<{ tick: [n: number]; done: [] }>();
    const seen: number[] = [];
    const on = (n: number) => seen.push(n);
    e.on('tick', on);
    e.once('done', () => seen.push(-1));
    e.emit('tick', 1);
    e.emit('done');
    e.emit('done');
    e.off('tick', on);
    e.emit('tick', 2);
    expect(seen).toEqual([1, -1]);
    expect(e.listenerCount('tick')).toBe(0);
  });
});
