/**
 * What user code holds: `proxy<T>(uri)` gives a typed remote object whose methods return promises
 * (`await p.getFortune('Ruvika')`), whose exposed properties are awaited (`await p.name`), and whose generator
 * methods stream (`for await (const x of p.numbers())`). Controls use Pyro4's `_pyro` names, which are never remote.
 * Also the autoproxy hooks: registered objects and proxies travel as `Pyro4.core.Proxy` dicts and come back as proxies.
 */
import { RpcError } from '../../errors.js';
import { ExceptionWrapper } from './exceptions.js';
import { REGISTRATION } from './members.js';
import { RemoteIterator } from './iterator.js';
import { ProxyCore, type CoreEnv, type Metadata, type ProxyOptions } from './proxy.js';
import type { WireHooks } from './serializers.js';
import type { PyroURI } from './uri.js';
import { FLAG } from './wire.js';

const PROXY_CORE = Symbol('celeriac.pyro.proxy');
const BATCH_ITEM = Symbol('celeriac.pyro.batchItem');
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** A stream result: iterate it directly (`for await`), or await it for the iterator. */
export type RemoteStream<I> = Promise<RemoteIterator<I>> & AsyncIterable<I>;

/** What a remote call of a method returning R gives: a promise, or a stream for generators and iterators. */
export type RemoteResult<R> = [R] extends [AsyncIterable<infer I>]
  ? RemoteStream<I>
  : [R] extends [Generator<infer I, unknown, unknown>]
    ? RemoteStream<I>
    : [R] extends [IterableIterator<infer I>]
      ? RemoteStream<I>
      : [R] extends [PromiseLike<infer V>]
        ? [V] extends [AsyncIterable<infer I>]
          ? RemoteStream<I>
          : Promise<V>
        : Promise<R>;

/** The public (non-underscore) members of T as a proxy shows them. */
export type RemoteMembers<T> = {
  readonly [K in keyof T as K extends string ? (K extends `_${string}` ? never : K) : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => RemoteResult<R>
    : Promise<Awaited<T[K]>>;
};

/** One queued call of a batch; its result type is R. */
export interface BatchItem<R> {
  readonly [BATCH_ITEM]: R;
}
export type BatchBuilder<T> = {
  readonly [K in keyof T as K extends string ? (K extends `_${string}` ? never : K) : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => BatchItem<Awaited<R>>
    : never;
};
export type BatchResults<L extends readonly unknown[]> = { -readonly [K in keyof L]: L[K] extends BatchItem<infer R> ? R : never };

/** Controls of a proxy (Pyro4's `_pyro` names). */
export interface ProxyControls<T> {
  /** The URI this proxy was made for. */
  readonly _pyroUri: string;
  /** Connects now (resolving PYRONAME) instead of at the first call. */
  _pyroBind(): Promise<void>;
  /** Closes the connection; the next call connects again. */
  _pyroRelease(): void;
  /** Releases, then retries connecting until the daemon is back (`tries`, `delay` ms apart). */
  _pyroReconnect(tries?: number, delay?: number): Promise<void>;
  /** Many calls in one round trip (Pyro4's batch): `await p._pyroBatch((b) => [b.add(1, 2), b.echo('x')])`. */
  _pyroBatch<const L extends readonly BatchItem<unknown>[]>(build: (b: BatchBuilder<T>) => L): Promise<BatchResults<L>>;
  _pyroBatch(build: (b: BatchBuilder<T>) => unknown, options: { oneway: true }): Promise<void>;
  _pyroGetAttr<K extends keyof T & string>(name: K): Promise<Awaited<T[K]>>;
  /** Sets an exposed property on the remote object (Pyro4's __setattr__). */
  _pyroSetAttr<K extends keyof T & string>(name: K, value: T[K]): Promise<void>;
  /** Any method by name, with keyword arguments (for Python methods called as f(x=1)). */
  _pyroCall(method: string, args?: unknown[], kwargs?: Record<string, unknown>): Promise<unknown>;
  /** A Pyro ping message round trip. */
  _pyroPing(): Promise<void>;
  /** The remote object's exposed methods, oneway methods and attributes (connects to learn them). */
  _pyroMetadata(): Promise<{ methods: string[]; oneway: string[]; attrs: string[] }>;
}

export type Remote<T> = RemoteMembers<T> & ProxyControls<T>;
export type Untyped = Record<string, (...args: unknown[]) => unknown>;

/** A typed proxy for a remote object: `PYRO:id@host:port`, `PYRONAME:name[@nshost:nsport]` or `PYROMETA:meta`. */
export function proxy<T = Untyped>(uri: string | PyroURI, options: ProxyOptions = {}): Remote<T> {
  return makeRemote<T>(new ProxyCore(uri, options, coreEnv));
}

/** The connection end behind a proxy (undefined for anything else). */
export function coreOf(value: unknown): ProxyCore | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  return (value as Record<symbol, ProxyCore | undefined>)[PROXY_CORE];
}

/** Closes a proxy's connection (`p._pyroRelease()`). */
export function release(p: unknown): void {
  coreOf(p)?.release();
}

export const coreEnv: CoreEnv = { hooks: (core) => wireHooks(core.options, core.children) };

/**
 * Registered objects and proxies out as Pyro4.core.Proxy dicts; Proxy dicts in as proxies (inheriting key and TLS),
 * one connection per URI kept in `cache` (the owner releases them).
 */
export function wireHooks(inherit: ProxyOptions, cache: Map<string, ProxyCore>): WireHooks {
  return {
    encodeObject(value) {
      const core = coreOf(value);
      if (core) return core.toDict();
      const reg = registrationOf(value);
      return reg ? reg.daemon.proxyDict(reg.objectId) : undefined;
    },
    decodeClass(dict) {
      if (dict['__class__'] !== 'Pyro4.core.Proxy') return undefined;
      const state = Array.isArray(dict['state']) ? (dict['state'] as unknown[]) : [];
      const uri = String(state[0]);
      const known = cache.get(uri);
      if (known) return makeRemote(known);
      const serializer = state[8] === 'json' || state[8] === 'msgpack' ? state[8] : inherit.serializer;
      const child = new ProxyCore(uri, { ...inherit, ...(serializer ? { serializer } : {}) }, coreEnv);
      cache.set(uri, child);
      const meta: Metadata = { oneway: new Set(strings(state[1])), methods: new Set(strings(state[2])), attrs: new Set(strings(state[3])) };
      if (meta.methods.size || meta.attrs.size) child.meta = meta;
      return makeRemote(child);
    },
  };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

interface RegistrationRecord {
  objectId: string;
  daemon: { proxyDict(objectId: string): Record<string, unknown> | undefined };
}

function registrationOf(value: object): RegistrationRecord | undefined {
  const own = (value as Record<symbol, RegistrationRecord | undefined>)[REGISTRATION];
  if (own) return own;
  const ctor = (value as { constructor?: Record<symbol, RegistrationRecord | undefined> }).constructor;
  return ctor?.[REGISTRATION];
}

class RemoteTarget {}

export function makeRemote<T>(core: ProxyCore): Remote<T> {
  const members = new Map<string, unknown>();
  const controls: Record<string, unknown> = {
    _pyroBind: async () => void (await core.connect()),
    _pyroRelease: () => core.release(),
    _pyroReconnect: (tries?: number, delay?: number) => core.reconnect(tries, delay),
    _pyroBatch: (build: (b: unknown) => unknown, options?: { oneway?: boolean }) => runBatch(core, build, options?.oneway ?? false),
    _pyroGetAttr: (name: string) => core.getAttr(name),
    _pyroSetAttr: (name: string, value: unknown) => core.setAttr(name, value),
    _pyroCall: (method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}) => callResult(core.call(method, args, kwargs)),
    _pyroPing: () => core.ping(),
    _pyroMetadata: async () => {
      await core.connect();
      const m = core.meta;
      return { methods: m ? [...m.methods] : [], oneway: m ? [...m.oneway] : [], attrs: m ? [...m.attrs] : [] };
    },
  };
  const text = (): string => `<Pyro proxy for ${core.uri.toString()}>`;
  return new Proxy(new RemoteTarget(), {
    get(_t, key) {
      if (typeof key === 'symbol') return key === PROXY_CORE ? core : key === INSPECT ? text : undefined;
      if (key === '_pyroUri') return core.uri.toString();
      if (key in controls) return controls[key];
      if (key === 'then' || key.startsWith('_')) return undefined;
      if (key === 'toString') return text;
      if (key === 'toJSON') return () => core.uri.toString();
      let m = members.get(key);
      if (!m) members.set(key, (m = member(core, key)));
      return m;
    },
    set(_t, key) {
      throw new RpcError(`set remote attributes with await proxy._pyroSetAttr('${String(key)}', value): an assignment cannot report a remote error`);
    },
    has: (_t, key) => typeof key === 'string' && !key.startsWith('_') && (core.meta ? core.meta.methods.has(key) || core.meta.attrs.has(key) : true),
  }) as unknown as Remote<T>;
}

/** A remote member: call it for a method call; await it for an attribute (`await p.name`). */
function member(core: ProxyCore, name: string): unknown {
  const fn = (...args: unknown[]): Promise<unknown> => callResult(core.call(name, args));
  return Object.assign(fn, {
    then: (ok?: (v: unknown) => unknown, fail?: (e: unknown) => unknown) => core.getAttr(name).then(ok, fail),
  });
}

/** A call's promise that can also be iterated with `for await` when the result is a remote iterator or a list. */
function callResult(pending: Promise<unknown>): Promise<unknown> {
  (pending as unknown as Record<symbol, unknown>)[Symbol.asyncIterator] = iterateResult;
  return pending;
}

function iterateResult(this: Promise<unknown>): AsyncIterator<unknown> {
  const pending = this;
  let it: AsyncIterator<unknown> | undefined;
  return {
    async next() {
      it ??= toIterator(await pending);
      return it.next();
    },
    async return() {
      if (it?.return) return it.return();
      return { done: true, value: undefined };
    },
  };
}

function toIterator(v: unknown): AsyncIterator<unknown> {
  if (v instanceof RemoteIterator) return v;
  if (Array.isArray(v)) {
    const inner = v[Symbol.iterator]();
    return { next: async () => inner.next() };
  }
  throw new RpcError('the result of this call is neither a remote iterator nor a list: await it instead of iterating it');
}

class Queued {
  constructor(readonly index: number) {}
}

async function runBatch(core: ProxyCore, build: (b: unknown) => unknown, oneway: boolean): Promise<unknown> {
  const calls: [string, unknown[], Record<string, unknown>][] = [];
  const builder = new Proxy(
    {},
    {
      get: (_t, name) =>
        typeof name === 'string' && !name.startsWith('_')
          ? (...args: unknown[]) => {
              calls.push([name, args, {}]);
              return new Queued(calls.length - 1);
            }
          : undefined,
    },
  );
  const shape = build(builder);
  await core.connect();
  for (const [name] of calls) if (core.meta && !core.meta.methods.has(name)) throw core.missing(name, 'method');
  const results = await core.invoke('<batch>', calls, {}, { flags: FLAG.BATCH | (oneway ? FLAG.ONEWAY : 0) });
  if (oneway) return undefined;
  const list = Array.isArray(results) ? results : [];
  for (const r of list) if (r instanceof ExceptionWrapper) throw r.exception;
  const pick = (q: unknown): unknown => (q instanceof Queued ? list[q.index] : q);
  return Array.isArray(shape) ? shape.map(pick) : pick(shape);
}
