// The name server registry (Pyro4's NameServer semantics) over the memory and the SQLite storage, and
// SQLite persistence across a reopen (including Pyro4's own sql: layout, read by Python's sqlite3 elsewhere).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NamingError } from '../../../src/errors.js';
import { compileRegex, NAMESERVER_NAME, NameRegistry } from '../../../src/rpc/naming/registry.js';
import { MemoryNameStorage, type NameStorage } from '../../../src/rpc/naming/storage.js';
import { openNameStorage, SqliteNameStorage } from '../../../src/rpc/naming/sqlite-storage.js';
import { NameServerObject } from '../../../src/rpc/naming/nameserver.js';
import { PythonException, PyroURI } from '../../../src/rpc/objects/index.js';
import { membersOf } from '../../../src/rpc/objects/members.js';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-naming-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

const storages: Array<[string, () => NameStorage]> = [
  ['memory', () => new MemoryNameStorage()],
  ['sqlite', () => new SqliteNameStorage(join(dir, `ns-${++fileNo}.db`))],
];

const U = (obj: string, port = 5000): string => `PYRO:${obj}@127.0.0.1:${port}`;

describe.each(storages)('NameRegistry on %s storage', (_kind, make) => {
  let ns: NameRegistry;
  beforeEach(() => {
    ns = new NameRegistry(make());
  });
  afterEach(() => ns.close());

  it('registers, looks up (with sorted metadata), counts and replaces', () => {
    ns.register('a.b', U('obj1'), { metadata: ['z', 'x', 'x'] });
    expect(ns.lookup('a.b')).toEqual({ uri: U('obj1'), metadata: ['x', 'z'] });
    expect(ns.count()).toBe(1);
    ns.register('a.b', U('obj2'));
    expect(ns.lookup('a.b')).toEqual({ uri: U('obj2'), metadata: [] });
    expect(ns.count()).toBe(1);
    expect(() => ns.ping()).not.toThrow();
  });

  it('unknown names are a NamingError with Pyro4 wording', () => {
    expect(() => ns.lookup('nope')).toThrow(new NamingError('unknown name: nope'));
    expect(() => ns.setMetadata('nope', ['a'])).toThrow(NamingError);
  });

  it('a safe register refuses a taken name and leaves the first registration alone', () => {
    ns.register('svc', U('first'), { safe: true });
    expect(() => ns.register('svc', U('second'), { safe: true })).toThrow(new NamingError('name already registered: svc'));
    expect(ns.lookup('svc').uri).toBe(U('first'));
  });

  it('checks arguments as Pyro4 does', () => {
    expect(() => ns.register(42 as unknown as string, U('x'))).toThrow(TypeError);
    expect(() => ns.register('n', 42 as unknown as string)).toThrow(TypeError);
    expect(() => ns.register('n', 'not a uri')).toThrow(NamingError);
    expect(() => ns.register('n', 'PYRO:obj')).toThrow(/needs @host:port/);
    expect(() => ns.register('n', 'PYRO:obj@host:port')).toThrow(/invalid port/);
    expect(() => ns.register('n', U('x'), { metadata: 'abc' as unknown as string[] })).toThrow(/should not be a str/);
    expect(() => ns.register('n', U('x'), { metadata: [1] as unknown as string[] })).toThrow(TypeError);
    // Other URI forms Pyro4 accepts.
    ns.register('n1', 'PYRONAME:other.name');
    ns.register('n2', 'pyro:obj@[::1]:9090');
    ns.register('n3', 'PYRO:obj@./u:/tmp/sock');
    expect(ns.count()).toBe(3);
  });

  it('set_metadata replaces and clears tags', () => {
    ns.register('s', U('s'), { metadata: ['a'] });
    ns.setMetadata('s', new Set(['b', 'c']));
    expect(ns.lookup('s').metadata).toEqual(['b', 'c']);
    ns.setMetadata('s', null);
    expect(ns.lookup('s').metadata).toEqual([]);
    expect(() => ns.setMetadata('s', 'x' as unknown as string[])).toThrow(TypeError);
  });

  describe('list', () => {
    beforeEach(() => {
      ns.register(NAMESERVER_NAME, U(NAMESERVER_NAME, 9090), { metadata: ['class:Pyro4.naming.NameServer'] });
      ns.register('example.one', U('o1'), { metadata: ['red', 'round'] });
      ns.register('example.two', U('o2'), { metadata: ['red'] });
      ns.register('Example.three', U('o3'), { metadata: ['blue', 'round'] });
      ns.register('ex%mple_x', U('o4'));
    });

    it('lists everything, sorted, with metadata', () => {
      expect(Object.keys(ns.list())).toEqual(['Example.three', NAMESERVER_NAME, 'ex%mple_x', 'example.one', 'example.two']);
      expect(ns.list()['example.one']).toEqual({ uri: U('o1'), metadata: ['red', 'round'] });
    });

    it('filters by exact, case-sensitive prefix (no SQL wildcards)', () => {
      expect(Object.keys(ns.list({ prefix: 'example.' }))).toEqual(['example.one', 'example.two']);
      expect(Object.keys(ns.list({ prefix: 'ex%' }))).toEqual(['ex%mple_x']);
      expect(Object.keys(ns.list({ prefix: 'ex_' }))).toEqual([]);
      // An empty prefix is no filter (Pyro4 tests truthiness).
      expect(Object.keys(ns.list({ prefix: '' }))).toHaveLength(5);
    });

    it('filters by a Python regex matched at the start of the name', () => {
      expect(Object.keys(ns.list({ regex: '[eE]xample\\.t' }))).toEqual(['Example.three', 'example.two']);
      expect(Object.keys(ns.list({ regex: 'one' }))).toEqual([]);
      expect(Object.keys(ns.list({ regex: '(?P<w>ex)ample\\.(one|two)\\Z' }))).toEqual(['example.one', 'example.two']);
      expect(() => ns.list({ regex: '(' })).toThrow(/invalid regex/);
    });

    it('filters by metadata: all of, any of', () => {
      expect(Object.keys(ns.list({ metadataAll: ['red', 'round'] }))).toEqual(['example.one']);
      expect(Object.keys(ns.list({ metadataAll: new Set(['round']) }))).toEqual(['Example.three', 'example.one']);
      expect(Object.keys(ns.list({ metadataAll: ['red', 'nothing'] }))).toEqual([]);
      expect(Object.keys(ns.list({ metadataAny: ['blue', 'red'] }))).toEqual(['Example.three', 'example.one', 'example.two']);
      expect(Object.keys(ns.list({ metadataAny: ['none'] }))).toEqual([]);
      expect(ns.list({ metadataAny: ['blue'] })['Example.three']).toEqual({ uri: U('o3'), metadata: ['blue', 'round'] });
      // Empty tag lists are no filter, as in Pyro4.
      expect(Object.keys(ns.list({ metadataAll: [] }))).toHaveLength(5);
      expect(() => ns.list({ metadataAny: 'red' as unknown as string[] })).toThrow(/should not be a str/);
    });

    it('refuses two filters at once', () => {
      expect(() => ns.list({ prefix: 'a', regex: 'b' })).toThrow(/one thing at a time/);
      expect(() => ns.list({ metadataAll: ['a'], metadataAny: ['b'] })).toThrow(/one thing at a time/);
    });

    it('removes by name, prefix and regex, never the name server itself', () => {
      expect(ns.remove({ name: NAMESERVER_NAME })).toBe(0);
      expect(ns.remove({ name: 'example.one' })).toBe(1);
      expect(ns.remove({ name: 'example.one' })).toBe(0);
      // An unknown name falls through to the prefix, as in Pyro4.
      expect(ns.remove({ name: 'missing', prefix: 'example.' })).toBe(1);
      expect(ns.remove({ regex: '.*' })).toBe(2);
      expect(Object.keys(ns.list())).toEqual([NAMESERVER_NAME]);
      expect(ns.remove({ prefix: 'Pyro.' })).toBe(0);
      expect(ns.remove({})).toBe(0);
    });
  });
});

describe('SQLite name storage', () => {
  it('keeps registrations and metadata across a reopen', () => {
    const file = join(dir, 'persist.db');
    const first = new NameRegistry(openNameStorage(`sqlite:${file}`));
    first.register('keep.me', U('k'), { metadata: ['m1', 'm2'] });
    first.register('drop.me', U('d'));
    first.remove({ name: 'drop.me' });
    first.close();
    const second = new NameRegistry(openNameStorage(`sql:${file}`));
    expect(second.list()).toEqual({ 'keep.me': { uri: U('k'), metadata: ['m1', 'm2'] } });
    second.register('keep.me', U('k2'), { metadata: ['m3'] });
    second.close();
    const third = new NameRegistry(new SqliteNameStorage(file));
    expect(third.lookup('keep.me')).toEqual({ uri: U('k2'), metadata: ['m3'] });
    expect(third.list({ metadataAny: ['m1'] })).toEqual({});
    third.close();
  });

  it('two registries on one file see each other and a safe register stays exclusive', () => {
    const file = join(dir, 'shared.db');
    const a = new NameRegistry(new SqliteNameStorage(file));
    const b = new NameRegistry(new SqliteNameStorage(file));
    a.register('one', U('a'), { safe: true });
    expect(() => b.register('one', U('b'), { safe: true })).toThrow(NamingError);
    expect(b.lookup('one').uri).toBe(U('a'));
    a.close();
    b.close();
  });

  it('refuses unknown storage specs and in-memory SQLite', () => {
    expect(() => openNameStorage('dbm:x')).toThrow(/unknown name storage/);
    expect(() => openNameStorage('sqlite:')).toThrow(/unknown name storage/);
    expect(() => new SqliteNameStorage(':memory:')).toThrow(/needs a file path/);
    expect(openNameStorage()).toBeInstanceOf(MemoryNameStorage);
  });
});

describe('compileRegex', () => {
  it('anchors at the start like re.match and translates Python group syntax', () => {
    expect(compileRegex('a|b').test('xb')).toBe(false);
    expect(compileRegex('a|b').test('bx')).toBe(true);
    expect(compileRegex('(?P<x>a)(?P=x)').test('aa')).toBe(true);
    expect(compileRegex('\\Aab\\Z').test('abc')).toBe(false);
  });
});

describe("NameServerObject ('Pyro.NameServer' as the daemon serves it)", () => {
  it("answers in Pyro4's shapes and raises Pyro4's exception classes", () => {
    const registry = new NameRegistry();
    const ns = new NameServerObject(registry);
    ns.register('a.b', new PyroURI(U('x')), false, ['m']);
    const found = ns.lookup('a.b');
    expect(found).toBeInstanceOf(PyroURI);
    expect(String(found)).toBe(U('x'));
    expect(ns.lookup('a.b', true)).toEqual([new PyroURI(U('x')), ['m']]);
    expect(ns.list()).toEqual({ 'a.b': U('x') });
    expect(ns.list(null, null, null, ['m'], true)).toEqual({ 'a.b': [U('x'), ['m']] });
    expect(ns.count()).toBe(1);
    expect(ns.ping()).toBeNull();
    const err = (() => {
      try {
        ns.lookup('zz');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PythonException);
    expect((err as PythonException).pythonClass).toBe('Pyro4.errors.NamingError');
    expect(() => ns.list('a', 'b')).toThrow(RangeError); // leaves as builtins.ValueError
    expect(ns.remove('a.b')).toBe(1);
  });

  it('refuses remote writes with the reason when write-protected, and still reads', () => {
    const registry = new NameRegistry();
    registry.register('kept', U('k'));
    const ns = new NameServerObject(registry, 'this name server is read-only');
    expect(() => ns.register('x', U('x'))).toThrow(/register refused: this name server is read-only/);
    expect(() => ns.set_metadata('kept', ['t'])).toThrow(/set_metadata refused/);
    expect(() => ns.remove('kept')).toThrow(/remove refused/);
    expect(String(ns.lookup('kept'))).toBe(U('k'));
  });

  it('exposes exactly the methods of Pyro4.naming.NameServer', () => {
    expect(membersOf(new NameServerObject(new NameRegistry())).meta.methods).toEqual(['count', 'list', 'lookup', 'ping', 'register', 'remove', 'set_metadata']);
  });
});
