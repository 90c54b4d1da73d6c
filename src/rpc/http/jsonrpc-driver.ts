/**
 * The JSON-RPC 2.0 client driver (`RpcDriverFactory`). URLs: `http://host:port/path` and `https://...`
 * (JSON-RPC is what plain HTTP URLs mean to celeriac), or explicitly `jsonrpc+http://`, `jsonrpc+https://`.
 * Arguments: an array is sent as `params` by position, an object as `params` by name. A cast is a
 * notification (no id, no reply). Errors: a celeriac gateway's error data gives the remote type, module and
 * stack; -32601 is 'NoSuchMethod'; other servers' errors are read as faults.ts says. Options: driver.ts.
 */
import type { RpcDriver, RpcDriverFactory, RpcDriverOptions, RpcOutcome } from '../types.js';
import { HttpRpcDriver, type WireProtocol } from './driver.js';
import { fromJsonRpcError } from './faults.js';
import { readBatchResponse, readResponse, writeRequest } from './jsonrpc.js';

export const JSON_RPC: WireProtocol = {
  name: 'JSON-RPC',
  scheme: 'jsonrpc',
  listenPrefix: '',
  contentType: 'application/json',
  encodeCall: (method, args, id) => writeRequest(method, args, id),
  encodeCast: (method, args) => writeRequest(method, args),
  decodeReply(text, id): RpcOutcome {
    const reply = readResponse(text, id);
    return reply.ok ? { ok: true, result: reply.result } : { ok: false, error: fromJsonRpcError(reply.error) };
  },
  encodeMany: (calls, firstId) => `[${calls.map((c, i) => writeRequest(c.method, c.args, firstId + i)).join(',')}]`,
  decodeMany(text, firstId, count) {
    const replies = readBatchResponse(text);
    return Array.from({ length: count }, (_, i) => {
      const r = replies.get(firstId + i);
      return r?.ok ? r.result : undefined;
    });
  },
};

/** A JSON-RPC 2.0 driver for `url` (http://, https://, jsonrpc+http://, jsonrpc+https://). */
export const createJsonRpcDriver: RpcDriverFactory = (url: string, options: RpcDriverOptions = {}): RpcDriver => new HttpRpcDriver(url, options, JSON_RPC);
