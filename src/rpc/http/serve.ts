/**
 * The gateway's two protocol front ends, without HTTP: a request body in, a response body out (or none), every
 * method run through an `Invoke` (methods.ts). Nothing here throws for bad input: it becomes the protocol's
 * error reply. JSON-RPC batches run concurrently (the spec allows it); XML-RPC's system.multicall runs its
 * calls in order, as Python's SimpleXMLRPCServer does.
 */
import type { IncomingInfo, RpcOutcome } from '../types.js';
import { gatewayError, INTERNAL_ERROR, toJsonRpcError, toXmlRpcFault } from './faults.js';
import { errorResponse, readRequests, resultResponse, type JsonRpcCall, type JsonRpcEntry, type JsonRpcResponse } from './jsonrpc.js';
import type { Invoke } from './methods.js';
import { readMethodCall, writeFault, writeMethodResponse } from './xmlrpc.js';

export interface ServeOptions {
  /** Most entries of a JSON-RPC batch or calls of a system.multicall. */
  maxBatch: number;
  /** Send remote stacks in JSON-RPC error data. */
  stacks: boolean;
  /** Who is calling, for the handler's IncomingInfo. */
  peer?: string;
  /** Receives the running notifications (the reply does not wait for them). */
  background: (work: Promise<unknown>) => void;
}

function info(options: ServeOptions, oneWay: boolean): IncomingInfo {
  return { oneWay, ...(options.peer !== undefined ? { peer: options.peer } : {}) };
}

// ---- JSON-RPC --------------------------------------------------------------------------------------------

function toResponse(call: JsonRpcCall, outcome: RpcOutcome, options: ServeOptions): JsonRpcResponse {
  const id = call.id ?? null;
  return outcome.ok ? resultResponse(id, outcome.result) : errorResponse(id, toJsonRpcError(outcome.error, options.stacks));
}

/** One response as text; a result JSON cannot carry (a BigInt, a cycle) becomes an internal error. */
function stringify(response: JsonRpcResponse): string {
  try {
    return JSON.stringify(response);
  } catch (err) {
    return JSON.stringify(errorResponse(response.id, { code: INTERNAL_ERROR, message: `the result cannot be sent as JSON: ${(err as Error).message}` }));
  }
}

async function answer(entry: JsonRpcEntry, invoke: Invoke, options: ServeOptions): Promise<string | null> {
  if (entry.kind === 'invalid') return stringify(errorResponse(entry.id, entry.error));
  if (!('id' in entry)) {
    options.background(invoke(entry.method, entry.args, info(options, true)));
    return null;
  }
  return stringify(toResponse(entry, await invoke(entry.method, entry.args, info(options, false)), options));
}

/** A JSON-RPC body's reply: text, or null when nothing is to be sent (only notifications). */
export async function serveJsonRpc(body: string, invoke: Invoke, options: ServeOptions): Promise<string | null> {
  const read = readRequests(body, options.maxBatch);
  if (read.kind === 'error') return stringify(errorResponse(null, read.error));
  if (read.kind === 'single') return answer(read.entry, invoke, options);
  const replies = (await Promise.all(read.entries.map((e) => answer(e, invoke, options)))).filter((r): r is string => r !== null);
  return replies.length ? `[${replies.join(',')}]` : null;
}

// ---- XML-RPC ---------------------------------------------------------------------------------------------

type Fault = { faultCode: number; faultString: string };

/** One call of a multicall: [result] or a fault struct (Python's form). */
async function multicallEntry(call: unknown, invoke: Invoke, options: ServeOptions): Promise<unknown[] | Fault> {
  const c = call as { methodName?: unknown; params?: unknown } | null;
  if (typeof c !== 'object' || c === null || typeof c.methodName !== 'string' || !Array.isArray(c.params)) {
    return toXmlRpcFault(gatewayError('InvalidParams', 'each call of system.multicall is a struct {methodName: string, params: array}'));
  }
  if (c.methodName === 'system.multicall') return toXmlRpcFault(gatewayError('InvalidParams', 'system.multicall cannot be nested'));
  const outcome = await invoke(c.methodName, c.params as unknown[], info(options, false));
  if (!outcome.ok) return toXmlRpcFault(outcome.error);
  try {
    writeMethodResponse(outcome.result); // the whole reply must encode: check this result alone
  } catch (err) {
    return toXmlRpcFault(gatewayError('InternalError', `the result of ${c.methodName} cannot be sent as XML-RPC: ${(err as Error).message}`));
  }
  return [outcome.result];
}

async function multicall(params: unknown[], invoke: Invoke, options: ServeOptions): Promise<RpcOutcome> {
  const calls = params[0];
  if (params.length !== 1 || !Array.isArray(calls)) {
    return { ok: false, error: gatewayError('InvalidParams', 'system.multicall takes one parameter: an array of {methodName, params} structs') };
  }
  if (calls.length > options.maxBatch) {
    return { ok: false, error: gatewayError('InvalidParams', `system.multicall of ${calls.length} calls; at most ${options.maxBatch} are served at once`) };
  }
  const results: Array<unknown[] | Fault> = [];
  for (const call of calls) results.push(await multicallEntry(call, invoke, options));
  return { ok: true, result: results };
}

/** An XML-RPC body's reply: a methodResponse with the result, or a fault. */
export async function serveXmlRpc(body: string, invoke: Invoke, options: ServeOptions): Promise<string> {
  const call = readMethodCall(body);
  if (!call.ok) return writeFault({ faultCode: call.code, faultString: call.message });
  const outcome = call.method === 'system.multicall' ? await multicall(call.params, invoke, options) : await invoke(call.method, call.params, info(options, false));
  if (!outcome.ok) return writeFault(toXmlRpcFault(outcome.error));
  try {
    return writeMethodResponse(outcome.result);
  } catch (err) {
    return writeFault({ faultCode: INTERNAL_ERROR, faultString: `the result of ${call.method} cannot be sent as XML-RPC: ${(err as Error).message}` });
  }
}
