/**
 * JSON-RPC 2.0 messages (jsonrpc.org/specification), pure: reading requests (single or batch) into calls and
 * invalid entries, writing responses, and the client's side (requests, notifications, reading responses).
 *
 *   request:       {"jsonrpc": "2.0", "method": "add", "params": [2, 40] | {"x": 2}, "id": 1}
 *   notification:  the same without "id" (no response, ever)
 *   response:      {"jsonrpc": "2.0", "result": 42, "id": 1}
 *   error:         {"jsonrpc": "2.0", "error": {"code": -32601, "message": "...", "data": ...}, "id": 1}
 *   batch:         [request, notification, ...]  →  [response, ...] in any order, none for notifications;
 *                  nothing at all when every entry was a notification
 *
 *   -32700 parse error (not JSON, id null)   -32600 invalid request (not a request object; [] )
 *   -32601 method not found                  -32602 invalid params    -32603 internal error
 *   -32000 a remote exception (faults.ts)
 */
import { FrameError } from '../../errors.js';
import type { RpcArgs } from '../types.js';
import { INVALID_REQUEST, PARSE_ERROR, type JsonRpcErrorObject } from './faults.js';

export type JsonRpcId = string | number | null;

/** A valid request of a batch (or the single one). */
export interface JsonRpcCall {
  kind: 'call';
  /** Absent for notifications. */
  id?: JsonRpcId;
  method: string;
  args: RpcArgs;
}

/** An entry that is no request: answered with this error (id null when none could be read). */
export interface JsonRpcInvalid {
  kind: 'invalid';
  id: JsonRpcId;
  error: JsonRpcErrorObject;
}

export type JsonRpcEntry = JsonRpcCall | JsonRpcInvalid;

export type JsonRpcRead =
  | { kind: 'single'; entry: JsonRpcEntry }
  | { kind: 'batch'; entries: JsonRpcEntry[] }
  /** Not JSON, or an empty batch: one error response with id null. */
  | { kind: 'error'; error: JsonRpcErrorObject };

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result?: unknown;
  error?: JsonRpcErrorObject;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is JsonRpcId => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

function invalid(id: JsonRpcId, message: string): JsonRpcInvalid {
  return { kind: 'invalid', id, error: { code: INVALID_REQUEST, message: `invalid request: ${message}` } };
}

/** One entry of a request body. */
export function readEntry(value: unknown): JsonRpcEntry {
  if (!isRecord(value)) return invalid(null, `expected a request object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  const hasId = Object.prototype.hasOwnProperty.call(value, 'id');
  const id = hasId && isId(value['id']) ? value['id'] : null;
  if (hasId && !isId(value['id'])) return invalid(null, 'id must be a string, a number or null');
  if (value['jsonrpc'] !== '2.0') return invalid(id, `"jsonrpc" must be exactly "2.0" (got ${JSON.stringify(value['jsonrpc']) ?? 'nothing'})`);
  const method = value['method'];
  if (typeof method !== 'string' || method === '') return invalid(id, '"method" must be a non-empty string');
  const params = value['params'];
  if (params !== undefined && typeof params !== 'object') return invalid(id, '"params" must be an array (by position) or an object (by name)');
  if (params === null) return invalid(id, '"params" must be an array (by position) or an object (by name), not null');
  const args: RpcArgs = params === undefined ? [] : (params as RpcArgs);
  return hasId ? { kind: 'call', id, method, args } : { kind: 'call', method, args };
}

/** Reads a request body. `maxBatch` caps the entries of a batch (more: one invalid-request error). */
export function readRequests(text: string, maxBatch = Infinity): JsonRpcRead {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'error', error: { code: PARSE_ERROR, message: `parse error: the body is not JSON (${(err as Error).message})` } };
  }
  if (!Array.isArray(value)) return { kind: 'single', entry: readEntry(value) };
  if (value.length === 0) return { kind: 'error', error: { code: INVALID_REQUEST, message: 'invalid request: an empty batch' } };
  if (value.length > maxBatch) return { kind: 'error', error: { code: INVALID_REQUEST, message: `invalid request: a batch of ${value.length} requests; at most ${maxBatch} are served at once` } };
  return { kind: 'batch', entries: value.map(readEntry) };
}

export function resultResponse(id: JsonRpcId, result: unknown): JsonRpcResponse {
  return { jsonrpc: '2.0', result: result === undefined ? null : result, id };
}

export function errorResponse(id: JsonRpcId, error: JsonRpcErrorObject): JsonRpcResponse {
  return { jsonrpc: '2.0', error, id };
}

// ---- client side ---------------------------------------------------------------------------------------

/** A request (with `id`) or a notification (without). */
export function writeRequest(method: string, args: RpcArgs, id?: number | string): string {
  return JSON.stringify({ jsonrpc: '2.0', method, params: args, ...(id !== undefined ? { id } : {}) });
}

/** What a response says: a result, or the server's error object (faults.ts reads it). */
export type JsonRpcReply = { ok: true; result: unknown } | { ok: false; error: unknown };

function readResponseObject(value: unknown, where: string): { id: unknown; reply: JsonRpcReply } {
  if (!isRecord(value)) throw new FrameError(`${where} is not a JSON-RPC response object: ${JSON.stringify(value)?.slice(0, 200)}`);
  if ('error' in value && value['error'] !== null && value['error'] !== undefined) return { id: value['id'], reply: { ok: false, error: value['error'] } };
  if (!('result' in value)) throw new FrameError(`${where} has neither "result" nor "error": is the URL a JSON-RPC endpoint?`);
  return { id: value['id'], reply: { ok: true, result: value['result'] } };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FrameError(`${where} is not JSON (starts with ${JSON.stringify(text.slice(0, 80))}): is the URL a JSON-RPC endpoint?`);
  }
}

/** Reads the response to the request `id`; throws FrameError for anything that is not one. */
export function readResponse(text: string, id: number | string): JsonRpcReply {
  const { id: got, reply } = readResponseObject(parseJson(text, 'the reply'), 'the reply');
  // Errors about the request as a whole (parse error, invalid request) carry id null.
  if (got !== id && !(got === null && !reply.ok)) throw new FrameError(`the reply answers request ${JSON.stringify(got)}, not ${JSON.stringify(id)}`);
  return reply;
}

/** Reads a batch response: the reply to each id (notifications have none). */
export function readBatchResponse(text: string): Map<unknown, JsonRpcReply> {
  const value = parseJson(text, 'the batch reply');
  const list = Array.isArray(value) ? value : [value];
  const out = new Map<unknown, JsonRpcReply>();
  for (const item of list) {
    const { id, reply } = readResponseObject(item, 'an entry of the batch reply');
    out.set(id, reply);
  }
  return out;
}
