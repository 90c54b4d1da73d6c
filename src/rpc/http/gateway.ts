/**
 * The HTTP gateway: one `RpcHandler` (the dispatcher, `celeriac gateway`) served as JSON-RPC 2.0 and XML-RPC
 * on the same paths (default `/` and `/RPC2`, where Python's ServerProxy posts), node:http or node:https.
 *
 *   POST, Content-Type application/json, application/json-rpc, application/jsonrequest, *+json → JSON-RPC
 *   POST, Content-Type text/xml, application/xml, *+xml                                     → XML-RPC
 *   POST, any other or no Content-Type: the first non-blank byte decides ('<' XML-RPC, else JSON-RPC)
 *
 *   200 every protocol answer, errors included (jsonrpclib and xmlrpc.client read only 200s); an empty 200
 *       when a JSON-RPC request held only notifications (they run after the reply is sent)
 *   401 credentials missing or wrong (`auth`)       404 another path       405 not POST
 *   413 a body over `maxBodySize` (refused from Content-Length before it is sent when the client asks
 *       `Expect: 100-continue`; otherwise counted as it arrives, never kept past the limit; the
 *       connection is closed)                       415 a Content-Encoding other than identity
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RpcHandler, RpcListener, RpcTlsOptions } from '../types.js';
import { readBody, utf8 } from './body.js';
import { PARSE_ERROR } from './faults.js';
import { errorResponse } from './jsonrpc.js';
import { createInvoker, type InvokerOptions, type Protocol } from './methods.js';
import { serveJsonRpc, serveXmlRpc, type ServeOptions } from './serve.js';
import { writeFault } from './xmlrpc.js';

/** Who may call: HTTP basic credentials, a bearer token, or a check of your own. */
export type GatewayAuth =
  | { username: string; password: string }
  | { token: string | Buffer }
  | ((request: IncomingMessage) => boolean | Promise<boolean>);

export interface GatewayOptions extends Omit<InvokerOptions, 'handler'> {
  handler: RpcHandler;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port (read it from `address`). */
  port?: number;
  /** Paths served (default ['/', '/RPC2']); any other answers 404. */
  path?: string | string[];
  /** Largest request body in bytes (default 1 MiB). */
  maxBodySize?: number;
  /** Most entries of a JSON-RPC batch or calls of one system.multicall (default 1000). */
  maxBatch?: number;
  auth?: GatewayAuth;
  /** Serve HTTPS with these (`cert` and `key` at least; `requestCert` + `ca` to ask callers for certificates). */
  tls?: RpcTlsOptions;
  /** Put remote stacks in JSON-RPC error data (default true; false for gateways open to strangers). */
  exposeStacks?: boolean;
  /** Told about what the gateway could not answer properly (a handler that threw, a broken connection). */
  onError?: (error: unknown) => void;
}

export interface Gateway extends RpcListener {
  /** `http://host:port/` (the first served path). */
  readonly address: string;
  readonly server: Server;
  /** Stops taking requests, lets running ones (and notifications) finish, then closes every connection. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY = 1 << 20;

const JSON_TYPES = /^application\/(json|json-rpc|jsonrequest|[\w.+-]+\+json)$/;
const XML_TYPES = /^(text|application)\/(xml|[\w.+-]+\+xml)$/;

/** The protocol of a request: its Content-Type, else the first non-blank byte of the body. */
export function chooseProtocol(contentType: string | undefined, body: Buffer): Protocol {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (JSON_TYPES.test(type)) return 'jsonrpc';
  if (XML_TYPES.test(type)) return 'xmlrpc';
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0xef || byte === 0xbb || byte === 0xbf) continue;
    return byte === 0x3c ? 'xmlrpc' : 'jsonrpc';
  }
  return 'jsonrpc';
}

function sameSecret(given: string, expected: string | Buffer): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function authorized(req: IncomingMessage, auth: GatewayAuth | undefined): Promise<boolean> {
  if (!auth) return true;
  if (typeof auth === 'function') return auth(req);
  const header = req.headers.authorization ?? '';
  if ('token' in auth) return header.startsWith('Bearer ') && sameSecret(header.slice(7).trim(), auth.token);
  if (!header.startsWith('Basic ')) return false;
  return sameSecret(Buffer.from(header.slice(6).trim(), 'base64').toString('utf8'), `${auth.username}:${auth.password}`);
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string | number> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** 413 and close: what is still coming is read and dropped by node, never kept; a sender that never stops is cut off. */
function tooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
  reply(res, 413, `request body larger than ${limit} bytes: send less, or raise the gateway's maxBodySize\n`, { connection: 'close' });
  setTimeout(() => req.socket.destroy(), 5_000).unref();
}

/** The request handler alone, to mount the gateway in a server of your own. `background` receives notifications still running. */
export function createRequestListener(options: GatewayOptions, background: (work: Promise<unknown>) => void = () => {}): (req: IncomingMessage, res: ServerResponse) => void {
  const paths = new Set(typeof options.path === 'string' ? [options.path] : (options.path ?? ['/', '/RPC2']));
  const limit = options.maxBodySize ?? DEFAULT_MAX_BODY;
  const invokers = { jsonrpc: createInvoker(options, 'jsonrpc'), xmlrpc: createInvoker(options, 'xmlrpc') };
  const onError = options.onError ?? (() => {});
  const track = (work: Promise<unknown>): void => background(work.catch(onError));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!paths.has(path)) return reply(res, 404, `no RPC endpoint at ${path}: post to ${[...paths].join(' or ')}\n`);
    if (req.method !== 'POST') return reply(res, 405, 'RPC calls are POST requests (JSON-RPC 2.0 or XML-RPC)\n', { allow: 'POST' });
    if (!(await authorized(req, options.auth))) {
      const scheme = typeof options.auth === 'object' && 'token' in options.auth ? 'Bearer' : 'Basic';
      return reply(res, 401, 'authentication required: check the user and password of the URL, or the secret\n', { 'www-authenticate': `${scheme} realm="celeriac"` });
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') return reply(res, 415, `Content-Encoding ${encoding} is not accepted: send the body uncompressed\n`);
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) return tooLarge(req, res, limit);
    const read = await readBody(req, limit);
    if (!read.ok) return read.reason === 'too-large' ? tooLarge(req, res, limit) : undefined;
    const protocol = chooseProtocol(req.headers['content-type'], read.body);
    const text = utf8(read.body);
    const serve: ServeOptions = {
      maxBatch: options.maxBatch ?? 1000,
      stacks: options.exposeStacks ?? true,
      peer: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
      background: track,
    };
    let body: string | null;
    if (protocol === 'jsonrpc') {
      body = text === undefined ? JSON.stringify(errorResponse(null, { code: PARSE_ERROR, message: 'parse error: the body is not UTF-8' })) : await serveJsonRpc(text, invokers.jsonrpc, serve);
    } else {
      body = text === undefined ? writeFault({ faultCode: PARSE_ERROR, faultString: 'parse error: the body is not UTF-8' }) : await serveXmlRpc(text, invokers.xmlrpc, serve);
    }
    const type = protocol === 'jsonrpc' ? 'application/json' : 'text/xml; charset=utf-8';
    reply(res, 200, body ?? '', body === null ? {} : { 'content-type': type });
  };

  return (req, res) => {
    const work = handle(req, res).catch((err: unknown) => {
      onError(err);
      reply(res, 500, 'the gateway failed to answer: see its log\n');
    });
    background(work);
  };
}

/** Starts a gateway; resolves once it listens. */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const running = new Set<Promise<unknown>>();
  const background = (work: Promise<unknown>): void => {
    running.add(work);
    void work.finally(() => running.delete(work));
  };
  const listener = createRequestListener(options, background);
  const server = options.tls ? createTlsServer({ ...options.tls }, listener) : createServer(listener);
  server.keepAliveTimeout = 30_000;
  const limit = options.maxBodySize ?? DEFAULT_MAX_BODY;
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length'] ?? NaN) > limit) return tooLarge(req, res, limit);
    res.writeContinue();
    listener(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address: host, port } = server.address() as AddressInfo;
  const first = typeof options.path === 'string' ? options.path : (options.path?.[0] ?? '/');
  const address = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${first}`;
  let closing: Promise<void> | undefined;
  return {
    address,
    server,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        while (running.size) await Promise.allSettled([...running]);
        server.closeAllConnections();
        await stopped;
      })()),
  };
}
