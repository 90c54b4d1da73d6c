/**
 * The HTTP RPC driver, written once for both protocols: a keep-alive agent, credentials, HTTP statuses as RPC
 * errors, `celeriac.describe` answered from `system.listMethods` for servers that do not know it, and
 * `listen()` starting a gateway on the URL's host and port. `jsonrpc-driver.ts` and `xmlrpc-driver.ts` give
 * the protocol (a `WireProtocol`) and the URL schemes.
 *
 * Options (besides RpcDriverOptions' `tls`, `maxMessageSize` and `secret`):
 *   timeout      ms a cast waits for the server's HTTP reply (default 30 000; calls take the caller's timeout)
 *   headers      extra HTTP headers for every request (Record<string, string>)
 *   maxSockets   most parallel connections to the server (default 16)
 * Credentials: `http://user:password@host/` sends HTTP basic auth; `secret` sends `Authorization: Bearer <secret>`
 * (and a gateway started by `listen()` requires the same). Namespaces travel as `namespace.method`; the
 * request's version and context have no place in either protocol and are not sent.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ConfigError, FrameError, RpcAuthError, RpcError } from '../../errors.js';
import { maskUrl } from '../../util/url.js';
import { DESCRIBE_METHOD, type DriverCallOptions, type MethodInfo, type RpcAddress, type RpcArgs, type RpcDriver, type RpcDriverOptions, type RpcHandler, type RpcListener, type RpcOutcome, type RpcRequest } from '../types.js';
import { utf8 } from './body.js';
import { createGateway, DEFAULT_MAX_BODY, type GatewayAuth } from './gateway.js';
import { post, type PostReply, type PostTarget } from './post.js';

/** A protocol as the driver needs it. */
export interface WireProtocol {
  name: 'JSON-RPC' | 'XML-RPC';
  /** The prefix of its URL schemes: 'jsonrpc' (jsonrpc+http://) or 'xmlrpc' (xmlrpc+http://). */
  scheme: 'jsonrpc' | 'xmlrpc';
  /** What the addresses of its listeners start with: '' (plain http://) or 'xmlrpc+'. */
  listenPrefix: string;
  contentType: string;
  encodeCall(method: string, args: RpcArgs, id: number): string;
  /** Reads a reply (any HTTP status); undefined when the text is no reply of this protocol. Throws FrameError for a broken one. */
  decodeReply(text: string, id: number): RpcOutcome | undefined;
  encodeCast(method: string, args: RpcArgs, id: number): string;
  /** Calls many methods in one request (XML-RPC system.multicall, a JSON-RPC batch): each result, or undefined where one failed. */
  encodeMany(calls: Array<{ method: string; args: RpcArgs }>, firstId: number): string;
  decodeMany(text: string, firstId: number, count: number): unknown[];
}

const DEFAULT_RESPONSE_LIMIT = 16 << 20;
const DEFAULT_CAST_TIMEOUT = 30_000;

function option<T>(options: RpcDriverOptions, key: string, type: string, fallback: T): T {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== type) throw new ConfigError(`the HTTP RPC driver's option '${key}' must be a ${type}; got ${typeof v}`);
  return v as T;
}

export class HttpRpcDriver implements RpcDriver {
  private readonly target: PostTarget;
  private readonly castTimeout: number;
  private readonly listeners = new Set<RpcListener>();
  /** user:password of the URL: sent as basic auth, and required by a gateway `listen()` starts. */
  private readonly credentials: { username: string; password: string } | undefined;
  private nextId = 1;

  constructor(
    url: string,
    private readonly options: RpcDriverOptions,
    private readonly protocol: WireProtocol,
  ) {
    const prefixed = /^([a-z]+)\+(.*)$/i.exec(url);
    if (prefixed && prefixed[1]?.toLowerCase() !== protocol.scheme) {
      throw new ConfigError(`'${maskUrl(url)}' is no ${protocol.name} URL: use ${protocol.scheme}+http://host:port/path`);
    }
    let parsed: URL;
    try {
      parsed = new URL(prefixed ? (prefixed[2] as string) : url);
    } catch {
      throw new ConfigError(`'${maskUrl(url)}' is not a ${protocol.name} URL: expected ${protocol.listenPrefix}http://host:port/path`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`'${maskUrl(url)}': ${protocol.name} runs over http:// or https://`);
    const headers: Record<string, string> = { 'user-agent': 'celeriac', ...option<Record<string, string>>(options, 'headers', 'object', {}) };
    this.credentials = parsed.username || parsed.password ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) } : undefined;
    if (this.credentials) {
      headers['authorization'] = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    } else if (options.secret !== undefined) {
      headers['authorization'] = `Bearer ${options.secret.toString()}`;
    }
    const clean = new URL(parsed.href);
    clean.username = '';
    clean.password = '';
    const maxSockets = option(options, 'maxSockets', 'number', 16);
    const agent = clean.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets, ...(options.tls ?? {}) }) : new HttpAgent({ keepAlive: true, maxSockets });
    this.target = { url: clean, agent, headers, maxResponseSize: options.maxMessageSize ?? DEFAULT_RESPONSE_LIMIT, label: `the ${protocol.name} server at ${clean.href}` };
    this.castTimeout = option(options, 'timeout', 'number', DEFAULT_CAST_TIMEOUT);
  }

  private wireMethod(request: RpcRequest): string {
    return request.namespace && request.method !== DESCRIBE_METHOD ? `${request.namespace}.${request.method}` : request.method;
  }

  /**
   * The outcome a reply carries (undefined for an empty one), or the RPC error its HTTP status means when it
   * carries none. `decode: false` (casts) only checks the status.
   */
  private readReply(reply: PostReply, id: number, what: string, decode = true): RpcOutcome | undefined {
    const text = utf8(reply.body) ?? '';
    const ok = reply.status === 200 || reply.status === 204;
    const outcome = text.trim() && (decode || !ok) ? this.tryDecode(text, id, ok) : undefined;
    if (outcome || ok) return outcome;
    const snippet = text.trim().slice(0, 200);
    const why = `HTTP ${reply.status} ${reply.statusText} from ${this.target.label} for the ${what}${snippet ? `: ${snippet}` : ''}`;
    if (reply.status === 401 || reply.status === 403) throw new RpcAuthError(`${why}. Put user:password in the URL (http://user:pass@host/) or give the driver the gateway's secret`);
    if (reply.status === 413) throw new FrameError(`${why}. The request is larger than the server accepts: send less, or raise its maxBodySize`);
    if (reply.status === 404) throw new RpcError(`${why}. Check the URL's path (a celeriac gateway serves / and /RPC2, Python's SimpleXMLRPCServer / and /RPC2)`);
    throw new RpcError(why);
  }

  private tryDecode(text: string, id: number, mustBe: boolean): RpcOutcome | undefined {
    try {
      return this.protocol.decodeReply(text, id);
    } catch (err) {
      if (mustBe) throw err;
      return undefined;
    }
  }

  async call(_address: RpcAddress, request: RpcRequest, options: DriverCallOptions): Promise<RpcOutcome> {
    const outcome = await this.send(this.wireMethod(request), request.args, options);
    if (request.method === DESCRIBE_METHOD && !outcome.ok && outcome.error.type === 'NoSuchMethod') return this.describeByIntrospection(options, outcome);
    return outcome;
  }

  private encode(fn: () => string, what: string): string {
    try {
      return fn();
    } catch (err) {
      throw new RpcError(`the ${what} cannot be sent as ${this.protocol.name}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async send(method: string, args: RpcArgs, options: DriverCallOptions): Promise<RpcOutcome> {
    const id = this.nextId++;
    const what = `call of '${method}'`;
    const body = this.encode(() => this.protocol.encodeCall(method, args, id), what);
    const reply = await post(body, this.target, { contentType: this.protocol.contentType, what, timeout: options.timeout, ...(options.signal ? { signal: options.signal } : {}) });
    const outcome = this.readReply(reply, id, what);
    if (!outcome) throw new FrameError(`${this.target.label} sent an empty reply to the ${what}: is the URL the server's ${this.protocol.name} endpoint?`);
    return outcome;
  }

  /** Servers without `celeriac.describe` (Python's): their system.listMethods, with system.methodHelp for the docs. */
  private async describeByIntrospection(options: DriverCallOptions, original: RpcOutcome): Promise<RpcOutcome> {
    const listed = await this.send('system.listMethods', [], options);
    if (!listed.ok || !Array.isArray(listed.result)) return original;
    const names = (listed.result as unknown[]).filter((n): n is string => typeof n === 'string' && !n.startsWith('system.') && !n.startsWith('rpc.'));
    let docs: unknown[] = [];
    if (names.length) {
      try {
        const firstId = this.nextId;
        this.nextId += names.length;
        const body = this.protocol.encodeMany(names.map((n) => ({ method: 'system.methodHelp', args: [n] })), firstId);
        const reply = await post(body, this.target, { contentType: this.protocol.contentType, what: 'system.methodHelp calls', timeout: options.timeout, ...(options.signal ? { signal: options.signal } : {}) });
        if (reply.status === 200) docs = this.protocol.decodeMany(utf8(reply.body) ?? '', firstId, names.length);
      } catch {
        docs = []; // the docs are a courtesy: the names alone still answer
      }
    }
    const result: MethodInfo[] = names.map((name, i) => {
      const doc = typeof docs[i] === 'string' ? (docs[i] as string).trim().split('\n')[0]?.trim() : undefined;
      return { name, ...(doc ? { doc } : {}) };
    });
    return { ok: true, result };
  }

  async cast(_address: RpcAddress, request: RpcRequest): Promise<void> {
    const method = this.wireMethod(request);
    const what = `cast of '${method}'`;
    const id = this.nextId++;
    const body = this.encode(() => this.protocol.encodeCast(method, request.args, id), what);
    const reply = await post(body, this.target, { contentType: this.protocol.contentType, what, timeout: this.castTimeout });
    this.readReply(reply, id, what, false); // HTTP errors reject; the method's own result or failure is not reported
  }

  async listen(_address: RpcAddress, handler: RpcHandler): Promise<RpcListener> {
    const { url } = this.target;
    const auth: GatewayAuth | undefined = this.credentials ?? (this.options.secret !== undefined ? { token: this.options.secret } : undefined);
    if (url.protocol === 'https:' && !this.options.tls?.cert) throw new ConfigError(`listening on ${url.href} needs a certificate: give the driver tls: { cert, key }`);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const gateway = await createGateway({
      handler,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port,
      path: url.pathname === '/' ? ['/', '/RPC2'] : [url.pathname],
      maxBodySize: this.options.maxMessageSize ?? DEFAULT_MAX_BODY,
      ...(auth ? { auth } : {}),
      ...(url.protocol === 'https:' && this.options.tls ? { tls: this.options.tls } : {}),
    });
    const listener: RpcListener = {
      address: `${this.protocol.listenPrefix}${gateway.address}`,
      close: async () => {
        this.listeners.delete(listener);
        await gateway.close();
      },
    };
    this.listeners.add(listener);
    return listener;
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.close()));
    this.target.agent.destroy();
  }
}
