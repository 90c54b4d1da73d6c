/**
 * What the gateway calls for a method name, for both protocols: the introspection methods it answers itself
 * (`system.listMethods`, `system.methodHelp`, `system.methodSignature` as Python's SimpleXMLRPCServer has
 * them, and OpenRPC's `rpc.discover` for JSON-RPC) from the handler's `celeriac.describe`, and everything
 * else passed to the handler as an `RpcRequest`:
 *
 *   'add'         → { method: 'add' }                     (the described version, when the handler describes one)
 *   'math.add'    → { method: 'add', namespace: 'math' }  (a described namespace; else split at the last dot)
 *
 * A handler that rejects (instead of answering `{ ok: false }`) becomes an 'InternalError' outcome.
 */
import { DESCRIBE_METHOD, type IncomingInfo, type MethodInfo, type RpcArgs, type RpcHandler, type RpcOutcome, type RpcRequest } from '../types.js';
import { gatewayError } from './faults.js';

export type Protocol = 'jsonrpc' | 'xmlrpc';

/** A method call as the protocol front ends make it. */
export type Invoke = (method: string, args: RpcArgs, info: IncomingInfo) => Promise<RpcOutcome>;

export interface InvokerOptions {
  handler: RpcHandler;
  /** Split dotted names into namespace and method (default true). */
  dottedNamespaces?: boolean;
  /** The version sent with every request (default: the version the handler describes for the method). */
  version?: string;
  /** What the gateway answers `rpc.discover` with as `info.title` (default 'celeriac'). */
  title?: string;
}

const SYSTEM_METHODS: Record<Protocol, string[]> = {
  xmlrpc: ['system.listMethods', 'system.methodHelp', 'system.methodSignature', 'system.multicall'],
  jsonrpc: ['rpc.discover', 'system.listMethods', 'system.methodHelp', 'system.methodSignature'],
};

const wireName = (m: MethodInfo): string => (m.namespace ? `${m.namespace}.${m.name}` : m.name);

function newer(a: string | undefined, b: string | undefined): boolean {
  const pa = (a ?? '0').split('.').map(Number);
  const pb = (b ?? '0').split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
  return false;
}

/** One invoker per gateway and protocol; `describe()` is asked of the handler once and remembered. */
export function createInvoker(options: InvokerOptions, protocol: Protocol): Invoke {
  const { handler } = options;
  const dotted = options.dottedNamespaces ?? true;
  let described: Promise<MethodInfo[] | null> | undefined;

  const describe = (info: IncomingInfo): Promise<MethodInfo[] | null> => {
    described ??= handler({ method: DESCRIBE_METHOD, args: [] }, { ...info, oneWay: false }).then(
      (o) => (o.ok && Array.isArray(o.result) ? (o.result as MethodInfo[]).filter((m) => typeof m?.name === 'string') : null),
      (err: unknown) => {
        described = undefined; // a failure of the handler is not an answer: ask again next time
        throw err;
      },
    );
    return described;
  };

  const toRequest = async (method: string, args: RpcArgs, info: IncomingInfo): Promise<RpcRequest> => {
    const methods = (await describe(info).catch(() => null)) ?? [];
    let best: MethodInfo | undefined;
    for (const m of methods) if (wireName(m) === method && (!best || newer(m.version, best.version))) best = m;
    const version = options.version ?? best?.version;
    const versionPart = version !== undefined ? { version } : {};
    if (best) return { method: best.name, args, ...(best.namespace ? { namespace: best.namespace } : {}), ...versionPart };
    const dot = method.lastIndexOf('.');
    if (dotted && dot > 0 && dot < method.length - 1 && method !== DESCRIBE_METHOD) {
      return { method: method.slice(dot + 1), namespace: method.slice(0, dot), args, ...versionPart };
    }
    return { method, args, ...versionPart };
  };

  const help = async (args: RpcArgs, info: IncomingInfo, what: 'help' | 'signature'): Promise<RpcOutcome> => {
    const name = Array.isArray(args) ? args[0] : (args as Record<string, unknown>)['method_name'] ?? (args as Record<string, unknown>)['name'];
    if (typeof name !== 'string' || (Array.isArray(args) && args.length !== 1)) {
      return { ok: false, error: gatewayError('InvalidParams', `system.method${what === 'help' ? 'Help' : 'Signature'} takes one parameter: a method name (string)`) };
    }
    if (what === 'signature') return { ok: true, result: 'signatures not supported' };
    const methods = (await describe(info)) ?? [];
    return { ok: true, result: methods.find((m) => wireName(m) === name)?.doc ?? '' };
  };

  const builtins: Record<string, (args: RpcArgs, info: IncomingInfo) => Promise<RpcOutcome>> = {
    'system.listMethods': async (_args, info) => {
      const names = ((await describe(info)) ?? []).map(wireName);
      return { ok: true, result: [...new Set([...names, ...SYSTEM_METHODS[protocol]])].sort() };
    },
    'system.methodHelp': (args, info) => help(args, info, 'help'),
    'system.methodSignature': (args, info) => help(args, info, 'signature'),
  };
  if (protocol === 'jsonrpc') {
    builtins['rpc.discover'] = async (_args, info) => {
      const methods = (await describe(info)) ?? [];
      const openrpc = {
        openrpc: '1.2.6',
        info: { title: options.title ?? 'celeriac', version: methods.find((m) => m.version)?.version ?? '1.0' },
        methods: methods.map((m) => ({
          name: wireName(m),
          ...(m.doc ? { summary: m.doc } : {}),
          params: [],
          paramStructure: 'either',
          result: { name: 'result', schema: {} },
        })),
      };
      return { ok: true, result: openrpc };
    };
  }

  return async (method, args, info) => {
    try {
      const builtin = Object.prototype.hasOwnProperty.call(builtins, method) ? builtins[method] : undefined;
      if (builtin) return await builtin(args, info);
      if (protocol === 'jsonrpc' && (method.startsWith('rpc.') || method === 'system.multicall')) {
        const why = method === 'system.multicall' ? 'JSON-RPC sends a batch instead' : 'rpc.* names are reserved by JSON-RPC';
        return { ok: false, error: gatewayError('NoSuchMethod', `${method} is not served here (${why})`) };
      }
      return await handler(await toRequest(method, args, info), info);
    } catch (err) {
      const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return { ok: false, error: gatewayError('InternalError', `the server failed to run ${method}: ${text}`) };
    }
  };
}
