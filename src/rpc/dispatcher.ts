/**
 * The server side of a call: picks the endpoint and method a request names and runs it (oslo.messaging's
 * RPCDispatcher). Knows no driver: it is an `RpcHandler`, so a broker, a TCP socket and the HTTP gateway
 * all serve the same endpoints.
 *
 * An endpoint is any object. Callable are its public methods: own or inherited functions, never a name
 * starting with `_`, never `constructor`, never what every object inherits from `Object.prototype`
 * (TypeScript's `private` is compile-time only: hide a method with `_` or `#`). An endpoint may carry
 * `target: { namespace, version }` as oslo's do; without one it has the server's namespace and version.
 *
 * Choosing (as oslo does): endpoints whose namespace differs from the request's are skipped; of the rest,
 * those with a compatible version (same major, minor >= requested; '1.0' when the request names none) are
 * searched for the method, in order. None compatible: "unsupported version"; compatible but no such method:
 * "no such method". Both answer with oslo's exception names, so Python callers get their own classes.
 */
import type { RemoteErrorInfo } from '../errors.js';
import { DESCRIBE_METHOD, type IncomingInfo, type MethodInfo, type RpcArgs, type RpcOutcome, type RpcRequest } from './types.js';
import { remoteErrorInfo } from './remote-error.js';

/** oslo's endpoint target: which requests an endpoint answers. */
export interface EndpointTarget {
  namespace?: string | null;
  version?: string;
}

/** What a method called with keyword arguments receives as its second parameter. */
export interface RpcCallContext extends IncomingInfo {
  method: string;
  /** The caller's context (oslo's ctxt: request id, user, ...), `{}` when it sent none. */
  context: Record<string, unknown>;
}

export interface DispatcherOptions {
  /** Namespace of endpoints that name none (default: the default namespace, undefined). */
  namespace?: string;
  /** Version of endpoints that name none (default '1.0', as oslo). */
  version?: string;
  /** First doc lines by method name (`celeriac serve` reads them from the module's JSDoc). */
  docs?: ReadonlyMap<string, string> | Record<string, string>;
}

type Method = (...args: unknown[]) => unknown;

interface ResolvedEndpoint {
  object: object;
  namespace: string | undefined;
  version: string;
  methods: Map<string, Method>;
}

const OBJECT_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));
const DISPATCHER_MODULE = 'oslo_messaging.rpc.dispatcher';

/** Public methods of an object: own and inherited functions, without `_names`, `constructor`, Object's own, or `target`. */
export function publicMethods(object: object): Map<string, Method> {
  const methods = new Map<string, Method>();
  for (let o: object | null = object; o && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (methods.has(name) || name.startsWith('_') || name === 'constructor' || name === 'target' || OBJECT_KEYS.has(name)) continue;
      const desc = Object.getOwnPropertyDescriptor(o, name);
      // Getters are not methods: reading one here would run user code at registration.
      if (desc && 'value' in desc && typeof desc.value === 'function') methods.set(name, desc.value as Method);
    }
  }
  return methods;
}

/** Parses 'major.minor[.rev]'; throws on anything else. */
function parseVersion(text: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new TypeError(`'${text}' is not a version: use 'major.minor', e.g. '1.2'`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** oslo's version_is_compatible: the implementation serves the request when majors match and it is not older. */
export function versionCompatible(implemented: string, requested: string): boolean {
  const [iMaj, iMin, iRev] = parseVersion(implemented);
  const [rMaj, rMin, rRev] = parseVersion(requested);
  if (iMaj !== rMaj) return false;
  if (iMin !== rMin) return iMin > rMin;
  return iRev >= rRev;
}

function endpointTarget(object: object): EndpointTarget | undefined {
  const target = (object as { target?: unknown }).target;
  return typeof target === 'object' && target !== null ? (target as EndpointTarget) : undefined;
}

const failure = (error: RemoteErrorInfo): RpcOutcome => ({ ok: false, error });

export class Dispatcher {
  private readonly endpoints: ResolvedEndpoint[];
  private readonly docs: ReadonlyMap<string, string>;

  constructor(endpoints: readonly object[], options: DispatcherOptions = {}) {
    if (endpoints.length === 0) throw new TypeError('an RPC server needs at least one endpoint: an object whose public methods are callable');
    const version = options.version ?? '1.0';
    parseVersion(version);
    this.endpoints = endpoints.map((object) => {
      if (typeof object !== 'object' || object === null) throw new TypeError(`an endpoint must be an object with methods; got ${String(object)}`);
      const target = endpointTarget(object);
      const v = target?.version ?? version;
      parseVersion(v);
      const namespace = target && 'namespace' in target ? (target.namespace ?? undefined) : options.namespace;
      return { object, namespace, version: v, methods: publicMethods(object) };
    });
    this.docs = options.docs instanceof Map ? options.docs : new Map(Object.entries(options.docs ?? {}));
  }

  /** Every callable method, with its doc line, namespace and version (what `celeriac.describe` answers). */
  describe(): MethodInfo[] {
    const out: MethodInfo[] = [];
    for (const e of this.endpoints) {
      for (const name of e.methods.keys()) {
        const doc = this.docs.get(name);
        out.push({ name, ...(doc ? { doc } : {}), ...(e.namespace !== undefined ? { namespace: e.namespace } : {}), version: e.version });
      }
    }
    return out;
  }

  /** The `RpcHandler`: never throws; a failure of the method or of the request is an `{ ok: false }` outcome. */
  readonly handle = async (request: RpcRequest, info: IncomingInfo): Promise<RpcOutcome> => {
    if (request.method === DESCRIBE_METHOD) return { ok: true, result: this.describe() };
    let requested: string;
    try {
      requested = request.version ?? '1.0';
      parseVersion(requested);
    } catch (err) {
      return failure({ type: 'UnsupportedVersion', module: DISPATCHER_MODULE, message: (err as Error).message, data: { version: request.version } });
    }
    let compatible = false;
    for (const e of this.endpoints) {
      if ((e.namespace ?? undefined) !== (request.namespace ?? undefined)) continue;
      if (!versionCompatible(e.version, requested)) continue;
      compatible = true;
      const method = e.methods.get(request.method);
      if (method) return this.run(e.object, method, request, info);
    }
    const ns = request.namespace ? ` in namespace '${request.namespace}'` : '';
    if (compatible) {
      return failure({
        type: 'NoSuchMethod',
        module: DISPATCHER_MODULE,
        message: `Endpoint does not support RPC method ${request.method}${ns}`,
        data: { method: request.method },
      });
    }
    return failure({
      type: 'UnsupportedVersion',
      module: DISPATCHER_MODULE,
      message: `Endpoint does not support RPC version ${requested}${ns}. Attempted method: ${request.method}`,
      data: { version: requested, method: request.method },
    });
  };

  private async run(object: object, method: Method, request: RpcRequest, info: IncomingInfo): Promise<RpcOutcome> {
    const args: RpcArgs = request.args;
    try {
      let result: unknown;
      if (Array.isArray(args)) result = await method.apply(object, args as unknown[]);
      else if (typeof args === 'object' && args !== null) {
        const ctx: RpcCallContext = { ...info, method: request.method, context: request.context ?? {} };
        result = await method.call(object, args, ctx);
      } else {
        return failure({ type: 'TypeError', module: 'builtins', message: `arguments of ${request.method} must be an object (by name) or a list (by position); got ${typeof args}` });
      }
      return { ok: true, result: result === undefined ? null : result };
    } catch (err) {
      return failure(remoteErrorInfo(err));
    }
  }
}
