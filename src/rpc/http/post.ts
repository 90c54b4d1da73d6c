/**
 * One HTTP POST of an RPC client over a keep-alive agent, with the RPC error tree: no reply in time →
 * RpcTimeoutError, server unreachable or gone → RpcConnectionError, a reply over the size cap → FrameError.
 * A request that fails on a reused keep-alive socket before any reply (the server closed it while idle) is
 * sent once more on a new connection, as node's documentation advises.
 */
import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { FrameError, RpcConnectionError, RpcError, RpcTimeoutError } from '../../errors.js';
import { readBody } from './body.js';

export interface PostTarget {
  /** The http: or https: URL posted to (no credentials in it). */
  url: URL;
  agent: Agent;
  /** Sent with every request (Authorization, the user's own). */
  headers: Record<string, string>;
  maxResponseSize: number;
  /** How errors name the server: 'the JSON-RPC server at http://host:port/'. */
  label: string;
}

export interface PostReply {
  status: number;
  statusText: string;
  body: Buffer;
}

export interface PostOptions {
  contentType: string;
  /** What is being sent, for error messages ("call of 'add'"). */
  what: string;
  timeout: number;
  signal?: AbortSignal;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

function connectionError(err: NodeJS.ErrnoException, target: PostTarget, options: PostOptions, replied: boolean): RpcError {
  const code = err.code ?? err.message;
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code)) {
    return new RpcConnectionError(`TLS with ${target.label} failed (${code}): check the server's certificate, or give the CA in the driver's tls option`, { cause: err });
  }
  if (UNREACHABLE.has(code) && !replied && code !== 'ECONNRESET' && code !== 'EPIPE') {
    return new RpcConnectionError(`cannot reach ${target.label} (${code}): is the server running, and is the URL right?`, { cause: err });
  }
  return new RpcConnectionError(`the connection to ${target.label} was lost during the ${options.what} (${code}); the call may or may not have run`, { cause: err });
}

function once(body: string, target: PostTarget, options: PostOptions, deadline: number): Promise<PostReply & { retry?: boolean }> {
  return new Promise((resolve, reject) => {
    const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const payload = Buffer.from(body, 'utf8');
    let replied = false;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const req = send(target.url, {
      method: 'POST',
      agent: target.agent,
      headers: { ...target.headers, 'content-type': options.contentType, 'content-length': payload.length, accept: options.contentType.split(';')[0] ?? '*/*' },
    });
    const timer = setTimeout(() => {
      finish(() => reject(new RpcTimeoutError(`no reply from ${target.label} to the ${options.what} within ${options.timeout} ms`)));
      req.destroy();
    }, Math.max(0, deadline - Date.now()));
    const onAbort = (): void => {
      const reason: unknown = options.signal?.reason;
      finish(() => reject(reason instanceof Error ? reason : new RpcError(`the ${options.what} was aborted`)));
      req.destroy();
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!replied && req.reusedSocket && err.code === 'ECONNRESET') return finish(() => resolve({ status: 0, statusText: '', body: Buffer.alloc(0), retry: true }));
      finish(() => reject(connectionError(err, target, options, replied)));
    });
    req.on('response', (res: IncomingMessage) => {
      replied = true;
      void readBody(res, target.maxResponseSize).then((read) => {
        if (read.ok) return finish(() => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: read.body }));
        res.destroy();
        if (read.reason === 'too-large') {
          return finish(() => reject(new FrameError(`the reply of ${target.label} to the ${options.what} is larger than ${target.maxResponseSize} bytes: raise the driver's maxMessageSize`)));
        }
        finish(() => reject(connectionError(read.error ?? Object.assign(new Error('reply cut off'), { code: 'ECONNRESET' }), target, options, true)));
      });
    });
    req.end(payload);
  });
}

/** Posts `body` and returns the whole reply, whatever its status. */
export async function post(body: string, target: PostTarget, options: PostOptions): Promise<PostReply> {
  const deadline = Date.now() + options.timeout;
  const first = await once(body, target, options, deadline);
  if (!first.retry) return first;
  const second = await once(body, target, options, deadline);
  if (second.retry) throw new RpcConnectionError(`the connection to ${target.label} was reset twice before any reply: is the server overloaded or closing?`);
  return second;
}
