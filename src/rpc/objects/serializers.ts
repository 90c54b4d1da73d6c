/**
 * Pyro4's json (id 2) and msgpack (id 6) serializers, pure. What each carries:
 *
 *   call     json     {"object": id, "method": name, "params": [...], "kwargs": {...}}
 *            msgpack  [id, name, [...params], {...kwargs}]
 *   value    the value itself; classes travel as dicts with "__class__":
 *            Pyro4.core.URI    {"__class__": "Pyro4.core.URI", "state": [protocol, object, sockname, host, port]}
 *            Pyro4.core.Proxy  {"__class__": "Pyro4.core.Proxy", "state": [uri, oneway, methods, attrs, timeout,
 *                               hmac ("b64:..." or null), handshake, max retries, serializer]}
 *            exceptions        {"__class__": "builtins.X", "__exception__": true, "args": [...], "attributes": {...}}
 *            batch error       {"__class__": "Pyro4.futures._ExceptionWrapper", "exception": <exception dict>}
 *   sets and tuples become lists, dates ISO strings, bytes (json) {"data": base64, "encoding": "base64"} as serpent does.
 * Pickle, serpent, marshal, dill and cloudpickle are never decoded (see refusal.ts for the error replies).
 */
import { Packr } from 'msgpackr';
import { FrameError } from '../../errors.js';
import { dictToRemoteError, exceptionToDict, ExceptionWrapper } from './exceptions.js';
import { PyroURI } from './uri.js';
import { SERIALIZER_ID } from './wire.js';

/** Conversions the codec cannot make alone: registered objects and proxies to Proxy dicts, and back. */
export interface WireHooks {
  /** A class instance that is not plain data: return its wire form (a Proxy dict), or undefined for its own fields. */
  encodeObject?(value: object): unknown;
  /** A dict with a `__class__` the codec does not know (Pyro4.core.Proxy): return the value, or undefined to keep the dict. */
  decodeClass?(dict: Record<string, unknown>): unknown;
}

export interface PyroCall {
  objectId: string;
  method: string;
  params: unknown[];
  kwargs: Record<string, unknown>;
}

export interface PyroSerializer {
  readonly name: 'json' | 'msgpack';
  readonly id: number;
  dumpsCall(call: PyroCall, hooks?: WireHooks): Buffer;
  loadsCall(data: Buffer, hooks?: WireHooks): PyroCall;
  dumps(value: unknown, hooks?: WireHooks): Buffer;
  loads(data: Buffer, hooks?: WireHooks): unknown;
}

const MAX_DEPTH = 200;
const CLASS_MARK = Buffer.from('__class__');

function isPlain(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Turns a value into what the serializer writes (Pyro's class dicts for URIs, proxies, exceptions). */
export function toWire(value: unknown, json: boolean, hooks: WireHooks | undefined, depth = 0): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return json && !Number.isFinite(value) ? null : value;
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : json ? value.toString() : value;
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
  }
  if (value === null) return null;
  if (depth > MAX_DEPTH) throw new FrameError(`value nested deeper than ${MAX_DEPTH} levels (a cycle?) cannot be serialized`);
  const d = depth + 1;
  if (Array.isArray(value)) return value.map((v) => toWire(v, json, hooks, d));
  const obj = value as object;
  if (!isPlain(obj)) {
    if (obj instanceof Set) return [...obj].map((v) => toWire(v, json, hooks, d));
    if (obj instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of obj) out[String(k)] = toWire(v, json, hooks, d);
      return out;
    }
    if (obj instanceof Date) return obj.toISOString();
    if (obj instanceof Uint8Array) return json ? { data: Buffer.from(obj).toString('base64'), encoding: 'base64' } : Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
    if (obj instanceof PyroURI) return { __class__: 'Pyro4.core.URI', state: obj.state() };
    if (obj instanceof ExceptionWrapper) return { __class__: 'Pyro4.futures._ExceptionWrapper', exception: exceptionToDict(obj.exception) };
    if (obj instanceof Error) return toWire(exceptionToDict(obj), json, hooks, d);
    const special = hooks?.encodeObject?.(obj);
    if (special !== undefined) return special;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const v = (obj as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'function') out[key] = toWire(v, json, hooks, d);
  }
  return out;
}

/** Rebuilds values from what a peer sent: class dicts become PyroURI, RemoteError, proxies (through hooks). */
export function fromWire(value: unknown, hooks: WireHooks | undefined, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) throw new FrameError(`data nested deeper than ${MAX_DEPTH} levels is refused`);
  const d = depth + 1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromWire(value[i], hooks, d);
    return value;
  }
  if (value instanceof Uint8Array) return value;
  const dict = value as Record<string, unknown>;
  for (const key of Object.keys(dict)) dict[key] = fromWire(dict[key], hooks, d);
  const cls = dict['__class__'];
  if (typeof cls !== 'string') return dict;
  if (cls === 'Pyro4.core.URI') return PyroURI.fromState(dict['state']);
  if (dict['__exception__'] === true) return dictToRemoteError(dict);
  if (cls === 'Pyro4.futures._ExceptionWrapper') {
    const ex = dict['exception'];
    return new ExceptionWrapper(ex instanceof Error ? ex : dictToRemoteError({ args: [String(ex)] }));
  }
  const special = hooks?.decodeClass?.(dict);
  return special === undefined ? dict : special;
}

/** JSON.parse that also takes Python's NaN / Infinity / -Infinity tokens (json.dumps writes them for floats). */
function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (!/NaN|Infinity/.test(text)) throw err;
    let out = '';
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i] as string;
      if (inString) {
        out += c;
        if (c === '\\') out += text[++i] ?? '';
        else if (c === '"') inString = false;
      } else if (c === '"') {
        inString = true;
        out += c;
      } else {
        const m = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
        if (m) {
          out += `"\\u0000${m[1] ?? ''}"`;
          i += (m[1] ?? '').length - 1;
        } else out += c;
      }
    }
    return JSON.parse(out, (_k, v: unknown) => (typeof v === 'string' && v.startsWith('\u0000') ? Number(v.slice(1)) : v)) as unknown;
  }
}

function needsRevive(data: Buffer): boolean {
  return data.includes(CLASS_MARK);
}

function asCall(objectId: unknown, method: unknown, params: unknown, kwargs: unknown): PyroCall {
  if (typeof objectId !== 'string' || typeof method !== 'string') throw new FrameError('a Pyro call needs a string object id and method name');
  if (!Array.isArray(params)) throw new FrameError('the params of a Pyro call must be a list');
  if (kwargs !== null && kwargs !== undefined && (typeof kwargs !== 'object' || Array.isArray(kwargs))) throw new FrameError('the kwargs of a Pyro call must be a dict');
  return { objectId, method, params, kwargs: (kwargs ?? {}) as Record<string, unknown> };
}

export const jsonSerializer: PyroSerializer = {
  name: 'json',
  id: SERIALIZER_ID.json,
  dumpsCall: (c, hooks) =>
    Buffer.from(JSON.stringify({ object: c.objectId, method: c.method, params: toWire(c.params, true, hooks), kwargs: toWire(c.kwargs, true, hooks) }), 'utf8'),
  loadsCall(data, hooks) {
    const raw = decodeJson(data);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new FrameError('a json Pyro call must be a dict with object, method, params, kwargs');
    const r = raw as Record<string, unknown>;
    const call = asCall(r['object'], r['method'], r['params'], r['kwargs']);
    if (needsRevive(data)) {
      call.params = fromWire(call.params, hooks) as unknown[];
      call.kwargs = fromWire(call.kwargs, hooks) as Record<string, unknown>;
    }
    return call;
  },
  dumps: (value, hooks) => Buffer.from(JSON.stringify(toWire(value, true, hooks)), 'utf8'),
  loads: (data, hooks) => {
    const raw = decodeJson(data);
    return needsRevive(data) ? fromWire(raw, hooks) : raw;
  },
};

function decodeJson(data: Buffer): unknown {
  try {
    return parsePythonJson(data.toString('utf8'));
  } catch (err) {
    throw new FrameError(`invalid json in a Pyro message: ${(err as Error).message}`);
  }
}

// int64AsType 'auto' (numbers when safe, bigint beyond) exists at run time; msgpackr's types lag behind.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'number', encodeUndefinedAsNil: true, moreTypes: false });

function decodeMsgpack(data: Buffer): unknown {
  try {
    return packr.unpack(data) as unknown;
  } catch (err) {
    const ext = /Unknown extension type (\d+)/.exec((err as Error).message);
    const why = ext ? `msgpack extension type 0x${Number(ext[1]).toString(16)} (Pyro4 uses 0x30-0x33 for complex, long, datetime, date) is not supported: send it as a string` : (err as Error).message;
    throw new FrameError(`invalid msgpack in a Pyro message: ${why}`);
  }
}

export const msgpackSerializer: PyroSerializer = {
  name: 'msgpack',
  id: SERIALIZER_ID.msgpack,
  dumpsCall: (c, hooks) => packr.pack([c.objectId, c.method, toWire(c.params, false, hooks), toWire(c.kwargs, false, hooks)]),
  loadsCall(data, hooks) {
    const raw = decodeMsgpack(data);
    if (!Array.isArray(raw) || raw.length !== 4) throw new FrameError('a msgpack Pyro call must be [object, method, params, kwargs]');
    const call = asCall(raw[0], raw[1], raw[2], raw[3]);
    if (needsRevive(data)) {
      call.params = fromWire(call.params, hooks) as unknown[];
      call.kwargs = fromWire(call.kwargs, hooks) as Record<string, unknown>;
    }
    return call;
  },
  dumps: (value, hooks) => packr.pack(toWire(value, false, hooks)),
  loads: (data, hooks) => {
    const raw = decodeMsgpack(data);
    return needsRevive(data) ? fromWire(raw, hooks) : raw;
  },
};

export const SERIALIZERS: Readonly<Record<'json' | 'msgpack', PyroSerializer>> = { json: jsonSerializer, msgpack: msgpackSerializer };

export function serializerById(id: number): PyroSerializer | undefined {
  return id === SERIALIZER_ID.json ? jsonSerializer : id === SERIALIZER_ID.msgpack ? msgpackSerializer : undefined;
}
