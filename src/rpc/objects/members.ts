/**
 * What a remote object shows: `@expose` (a class, a method, a getter/setter or accessor), `@oneway`, `@callback`,
 * `@behavior({ instanceMode })` and `@params(...)` (standard TS decorators), and the member table a daemon
 * dispatches on. As in Pyro4: names starting with '_' are never callable, plain fields are never attributes.
 */
import { RpcError } from '../../errors.js';

const EXPOSED = Symbol('celeriac.pyro.exposed');
const ONEWAY = Symbol('celeriac.pyro.oneway');
const CALLBACK = Symbol('celeriac.pyro.callback');
const BEHAVIOR = Symbol('celeriac.pyro.behavior');
const PARAMS = Symbol('celeriac.pyro.params');
/** Set on an object (or class) registered with a daemon: what autoproxy needs to send a proxy in its place. */
export const REGISTRATION = Symbol('celeriac.pyro.registration');

type Marked = Record<symbol, unknown>;
type AnyFunction = (...args: never[]) => unknown;

export type InstanceMode = 'single' | 'session' | 'percall';
export interface Behavior {
  /** single: one instance per daemon; session (the default): one per proxy connection; percall: one per call. */
  instanceMode: InstanceMode;
  /** Makes an instance (default `new cls()`). */
  instanceCreator?: (cls: new () => object) => object;
}

export function isPrivate(name: string): boolean {
  return name.startsWith('_') || name === 'constructor';
}

function mark(target: unknown, symbol: symbol, value: unknown = true): void {
  if ((typeof target !== 'function' && (typeof target !== 'object' || target === null)) || Object.isFrozen(target)) return;
  (target as Marked)[symbol] = value;
}

function checkName(context: DecoratorContext | undefined, what: string): void {
  if (context && 'name' in context && typeof context.name === 'string' && isPrivate(context.name)) {
    throw new RpcError(`${what} on private name '${context.name}' is not allowed: names starting with '_' are never remote`);
  }
}

/**
 * Makes a class (all its public methods and accessors), a method, or a getter/setter remotely callable. Works as a
 * standard decorator (`@expose`) or called plainly (`expose(SomeClass)`, `expose(objectLiteral)`).
 */
export function expose<T>(value: T, context?: DecoratorContext): T extends AnyFunction ? void : T {
  checkName(context, '@expose');
  if (context?.kind === 'accessor') {
    const acc = value as { get?: unknown; set?: unknown };
    mark(acc.get, EXPOSED);
    mark(acc.set, EXPOSED);
  } else mark(value, EXPOSED);
  return (typeof value === 'function' ? undefined : value) as T extends AnyFunction ? void : T;
}

/** The caller does not wait: no reply is sent, errors are only logged by the daemon. */
export function oneway(value: unknown, context?: DecoratorContext): void {
  checkName(context, '@oneway');
  mark(value, ONEWAY);
}

/** A method the server calls back on a client's daemon: its errors are also reported on the client's daemon (onError). */
export function callback(value: unknown, context?: DecoratorContext): void {
  mark(value, CALLBACK);
}

/** Pyro4's `@behavior(instance_mode=...)` for a class registered with a daemon. */
export function behavior(options: Partial<Behavior>): (value: unknown, context?: DecoratorContext) => void {
  const b: Behavior = { instanceMode: options.instanceMode ?? 'session', ...(options.instanceCreator ? { instanceCreator: options.instanceCreator } : {}) };
  if (!['single', 'session', 'percall'].includes(b.instanceMode)) throw new RpcError(`invalid instance mode '${b.instanceMode}': use single, session or percall`);
  return (value) => mark(value, BEHAVIOR, b);
}

/** Names the parameters of a method, so keyword arguments from Python (`f(x=1)`) find their place. */
export function params(...names: string[]): (value: unknown, context?: DecoratorContext) => void {
  return (value) => mark(value, PARAMS, names);
}

export function behaviorOf(cls: object): Behavior {
  return ((cls as Marked)[BEHAVIOR] as Behavior | undefined) ?? { instanceMode: 'session' };
}

export interface MethodInfo {
  fn: (...args: unknown[]) => unknown;
  oneway: boolean;
  callback: boolean;
  /** Parameter names for keyword arguments; null where they cannot be known (destructuring). */
  params: (string | null)[];
}

export interface Members {
  methods: Map<string, MethodInfo>;
  attrs: Map<string, { get?: () => unknown; set?: (v: unknown) => void }>;
  /** What get_metadata answers (and the connect handshake carries). */
  meta: { methods: string[]; oneway: string[]; attrs: string[] };
}

/** The exposed members of an instance or class (its prototype chain; own functions of an exposed plain object). */
export function membersOf(target: object): Members {
  const m: Members = { methods: new Map(), attrs: new Map(), meta: { methods: [], oneway: [], attrs: [] } };
  const seen = new Set<string>();
  const visit = (holder: object, holderExposed: boolean): void => {
    for (const name of Object.getOwnPropertyNames(holder)) {
      if (seen.has(name) || isPrivate(name)) continue;
      seen.add(name);
      const d = Object.getOwnPropertyDescriptor(holder, name);
      if (!d) continue;
      if (typeof d.value === 'function') {
        const fn = d.value as Marked & ((...a: unknown[]) => unknown);
        if (!holderExposed && !fn[EXPOSED]) continue;
        m.methods.set(name, { fn, oneway: !!fn[ONEWAY], callback: !!fn[CALLBACK], params: (fn[PARAMS] as string[] | undefined) ?? parameterNames(fn) });
      } else if (d.get || d.set) {
        const g = d.get as Marked | undefined;
        const s = d.set as Marked | undefined;
        if (!holderExposed && !g?.[EXPOSED] && !s?.[EXPOSED]) continue;
        m.attrs.set(name, { ...(d.get ? { get: d.get as () => unknown } : {}), ...(d.set ? { set: d.set as (v: unknown) => void } : {}) });
      }
    }
  };
  if (typeof target === 'function') {
    for (let proto: object | null = (target as { prototype: object }).prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
      visit(proto, !!((proto as { constructor?: Marked }).constructor?.[EXPOSED]));
    }
  } else {
    if ((target as Marked)[EXPOSED] || Object.getPrototypeOf(target) === Object.prototype) visit(target, !!(target as Marked)[EXPOSED]);
    return Object.getPrototypeOf(target) === Object.prototype ? finish(m) : finish(mergeInto(m, membersOf((target as { constructor: object }).constructor)));
  }
  return finish(m);
}

function mergeInto(a: Members, b: Members): Members {
  for (const [k, v] of b.methods) if (!a.methods.has(k) && !a.attrs.has(k)) a.methods.set(k, v);
  for (const [k, v] of b.attrs) if (!a.methods.has(k) && !a.attrs.has(k)) a.attrs.set(k, v);
  return a;
}

function finish(m: Members): Members {
  m.meta = {
    methods: [...m.methods.keys()].sort(),
    oneway: [...m.methods].filter(([, v]) => v.oneway).map(([k]) => k).sort(),
    attrs: [...m.attrs.keys()].sort(),
  };
  return m;
}

/** Parameter names read from a function's source; null for a destructured parameter, [] when unreadable. */
export function parameterNames(fn: (...a: never[]) => unknown): (string | null)[] {
  const src = Function.prototype.toString.call(fn).replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  const open = src.indexOf('(');
  const arrow = src.indexOf('=>');
  if (open < 0 || (arrow >= 0 && arrow < open)) {
    const single = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src.trim());
    return single?.[1] ? [single[1]] : [];
  }
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  let quote = '';
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i] as string;
    if (quote) {
      cur += c;
      if (c === '\\') cur += src[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    if (c === '(' || c === '[' || c === '{') depth++;
    if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) break;
      depth--;
    }
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => {
    const name = p.trim().replace(/^\.\.\./, '').split('=')[0]?.trim() ?? '';
    return /^[A-Za-z_$][\w$]*$/.test(name) ? name : null;
  });
}

/** Places keyword arguments by parameter name after the positional ones (Python's call rules, in short). */
export function bindArguments(method: string, info: MethodInfo, args: unknown[], kwargs: Record<string, unknown>): unknown[] {
  const keys = Object.keys(kwargs);
  if (keys.length === 0) return args;
  const out = [...args];
  for (const key of keys) {
    const at = info.params.indexOf(key);
    if (at < 0) throw new TypeError(`${method}() got an unexpected keyword argument '${key}'`);
    if (at < args.length) throw new TypeError(`${method}() got multiple values for argument '${key}'`);
    while (out.length < at) out.push(undefined);
    out[at] = kwargs[key];
  }
  return out;
}
