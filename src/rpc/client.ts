/**
 * The caller's side: a typed client over any driver (oslo.messaging's RPCClient). The interface it is
 * typed with gives each method's arguments and result: `await client.call('add', { x, y })` is a number
 * when `add(args: { x: number; y: number }): number`. `prepare()` makes a copy aimed elsewhere (one server,
 * every server, another version), `proxy` calls methods as if they were local.
 */
import { RpcError, RpcTimeoutError } from '../errors.js';
import { rebuildRemoteError } from './remote-error.js';
import type { RpcCallContext } from './dispatcher.js';
import { DESCRIBE_METHOD, type MethodInfo, type RpcAddress, type RpcArgs, type RpcDriver, type RpcRequest } from './types.js';

/** The names of an interface's methods. */
export type MethodName<Api> = { [K in keyof Api]-?: Api[K] extends (...args: never[]) => unknown ? K : never }[keyof Api] & string;

type Params<F> = F extends (...args: infer P) => unknown ? P : never;

/** A method's parameters without a trailing call context (what a caller passes). */
export type CallerParams<F> =
  Params<F> extends [infer A, (RpcCallContext | undefined)?] ? ([] extends Params<F> ? [] : [A]) : Params<F>;

type IsKeywordArgs<A> = A extends readonly unknown[] ? false : A extends (...args: never[]) => unknown ? false : A extends object ? true : false;

/** A method of a client typed with no interface: any arguments, an unknown result. */
export type UntypedMethod = (args: RpcArgs) => unknown;
/** A client typed with no interface (`app.rpc.client({ url })`). */
export type UntypedApi = Record<string, UntypedMethod>;

type IsUntyped<F> = [F] extends [UntypedMethod] ? ([UntypedMethod] extends [F] ? true : false) : false;

/**
 * What `call` and `cast` take as arguments: the object of a method that takes keyword arguments (one
 * object parameter, oslo style), or the list of positional ones.
 */
export type CallArgs<F> =
  IsUntyped<F> extends true ? RpcArgs : CallerParams<F> extends [infer A] ? (IsKeywordArgs<A> extends true ? A | [A] : [A]) : CallerParams<F>;

/** A method's result, unwrapped from its promise. */
export type CallResult<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** The interface's methods as remote calls: same parameters (without the call context), results in promises. */
export type RpcProxy<Api> = { readonly [K in MethodName<Api>]: (...args: CallerParams<Api[K]>) => Promise<CallResult<Api[K]>> };

export interface RpcClientOptions {
  /** The topic every server of a service listens on (ignored over TCP and HTTP, where the URL is the address). */
  topic: string;
  /** One server of the topic instead of any of them. */
  server?: string;
  /** Every server of the topic (casts only). */
  fanout?: boolean;
  /** oslo's control exchange (default 'openstack'). */
  exchange?: string;
  namespace?: string;
  /** The version this caller needs: a server answers when its major is the same and its minor not lower. */
  version?: string;
  /** ms to wait for an answer (or for the next heartbeat of a long call); default 60,000 as oslo's rpc_response_timeout. */
  timeout?: number;
  /** Passed to the server untouched with every request (oslo's ctxt). */
  context?: Record<string, unknown>;
}

export interface CallOptions {
  timeout?: number;
  signal?: AbortSignal;
  /** Merged over the client's context for this call. */
  context?: Record<string, unknown>;
}

export const DEFAULT_CALL_TIMEOUT = 60_000;

/** A plain object (not an array, not a class instance): sent as keyword arguments. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

export class RpcClient<Api = UntypedApi> {
  /** `await client.proxy.add({ x: 1, y: 2 })`: each method of the interface as a remote call. */
  readonly proxy: RpcProxy<Api>;

  constructor(
    private readonly driver: () => Promise<RpcDriver>,
    readonly options: Readonly<RpcClientOptions>,
  ) {
    if (!options.topic && options.topic !== '') throw new RpcError('an RPC client needs a topic, e.g. app.rpc.client({ topic: "compute" })');
    if (options.timeout !== undefined && !(options.timeout > 0)) throw new RpcError(`timeout must be a positive number of ms; got ${String(options.timeout)}`);
    this.proxy = new Proxy(Object.create(null) as RpcProxy<Api>, {
      get: (_target, name) => {
        if (typeof name !== 'string' || name === 'then') return undefined;
        return (...args: unknown[]) => this.call(name as MethodName<Api>, (args.length === 1 && isPlainObject(args[0]) ? args[0] : args) as CallArgs<Api[MethodName<Api>]>);
      },
    });
  }

  /** A copy of this client with some options changed: `prepare({ server: 'host1' })`, `prepare({ fanout: true })`, `prepare({ version: '1.3' })`. */
  prepare(overrides: Partial<RpcClientOptions>): RpcClient<Api> {
    return new RpcClient<Api>(this.driver, { ...this.options, ...overrides });
  }

  /** Calls a method and waits for its result; a remote failure rejects with a typed RemoteError. */
  async call<M extends MethodName<Api>>(method: M, args: CallArgs<Api[M]>, options: CallOptions = {}): Promise<CallResult<Api[M]>> {
    if (this.options.fanout) throw new RpcError(`'${method}': a fanout reaches every server and has no single answer; use cast() for a fanout, or prepare({ fanout: false })`);
    const timeout = options.timeout ?? this.options.timeout ?? DEFAULT_CALL_TIMEOUT;
    if (!(timeout > 0)) throw new RpcError(`timeout must be a positive number of ms; got ${String(timeout)}`);
    const driver = await this.driver();
    const outcome = await driver.call(this.address(), this.request(method, args, options.context), { timeout, ...(options.signal ? { signal: options.signal } : {}) }).catch((err: unknown) => {
      if (err instanceof RpcTimeoutError) throw new RpcTimeoutError(`${method}: ${err.message}`, { cause: err });
      throw err;
    });
    if (outcome.ok) return outcome.result as CallResult<Api[M]>;
    throw rebuildRemoteError(outcome.error);
  }

  /** Sends a method call without waiting for (or getting) an answer; with `fanout` every server of the topic runs it. */
  async cast<M extends MethodName<Api>>(method: M, args: CallArgs<Api[M]>, options: Pick<CallOptions, 'context'> = {}): Promise<void> {
    const driver = await this.driver();
    await driver.cast(this.address(), this.request(method, args, options.context));
  }

  /** The server's callable methods with their doc lines (what `celeriac rpc list` prints). */
  async describe(options: Pick<CallOptions, 'timeout' | 'signal'> = {}): Promise<MethodInfo[]> {
    const driver = await this.driver();
    const timeout = options.timeout ?? this.options.timeout ?? DEFAULT_CALL_TIMEOUT;
    const outcome = await driver.call(this.address(), { method: DESCRIBE_METHOD, args: {} }, { timeout, ...(options.signal ? { signal: options.signal } : {}) });
    if (!outcome.ok) throw rebuildRemoteError(outcome.error);
    if (!Array.isArray(outcome.result)) throw new RpcError(`the server's answer to ${DESCRIBE_METHOD} is not a list of methods: is it a celeriac server?`);
    return outcome.result as MethodInfo[];
  }

  private address(): RpcAddress {
    const { topic, server, fanout, exchange } = this.options;
    return { topic, ...(server !== undefined ? { server } : {}), ...(fanout ? { fanout } : {}), ...(exchange !== undefined ? { exchange } : {}) };
  }

  private request(method: string, args: unknown, context: Record<string, unknown> | undefined): RpcRequest {
    if (typeof method !== 'string' || method === '') throw new RpcError('a call needs a method name');
    if (typeof args !== 'object' || args === null) {
      throw new RpcError(`arguments of '${method}' must be an object of keyword arguments or a list of positional ones; got ${args === null ? 'null' : typeof args}`);
    }
    const { namespace, version } = this.options;
    const ctx = context || this.options.context ? { ...this.options.context, ...context } : undefined;
    return {
      method,
      args: args as RpcArgs,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(ctx ? { context: ctx } : {}),
    };
  }
}
