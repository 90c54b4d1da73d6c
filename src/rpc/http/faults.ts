/**
 * Remote errors over HTTP, both ways and pure: a `RemoteErrorInfo` as a JSON-RPC error object or an XML-RPC
 * fault (gateway side), and JSON-RPC errors and XML-RPC faults of any server back into `RemoteErrorInfo`
 * (client side), including the texts Python's SimpleXMLRPCServer and jsonrpclib put in them.
 *
 *   RemoteErrorInfo.type        JSON-RPC error.code   XML-RPC faultCode
 *   NoSuchMethod(Error)         -32601                -32601
 *   InvalidParams               -32602                -32602
 *   InternalError               -32603                -32603   (the handler itself failed, or a result could not be encoded)
 *   anything else               -32000                1        (what Python's SimpleXMLRPCServer sends for any exception)
 *
 *   JSON-RPC error.data = { type, module, stack, data? }   (the RemoteErrorInfo without its message)
 *   XML-RPC faultString = "<class 'module.Type'>:message"  (Python's own form; no module for builtins)
 */
import type { RemoteErrorInfo } from '../../errors.js';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** JSON-RPC: the remote method raised (the first of the -32000..-32099 server errors). */
export const SERVER_ERROR = -32000;
/** XML-RPC: the remote method raised (Python's SimpleXMLRPCServer uses 1 for every exception). */
export const APPLICATION_FAULT = 1;

/** Where the gateway's own errors live (parse errors, invalid requests, failures of the handler). */
export const GATEWAY_MODULE = 'celeriac.rpc.http';
const DISPATCHER_MODULE = 'oslo_messaging.rpc.dispatcher';

/** The error types the gateway maps to JSON-RPC's reserved codes. */
const CODE_BY_TYPE: Record<string, number> = {
  NoSuchMethod: METHOD_NOT_FOUND,
  NoSuchMethodError: METHOD_NOT_FOUND,
  InvalidParams: INVALID_PARAMS,
  InternalError: INTERNAL_ERROR,
};

/** The names the client gives errors that carry only a reserved code. */
const TYPE_BY_CODE: Record<number, string> = {
  [PARSE_ERROR]: 'ParseError',
  [INVALID_REQUEST]: 'InvalidRequest',
  [METHOD_NOT_FOUND]: 'NoSuchMethod',
  [INVALID_PARAMS]: 'InvalidParams',
  [INTERNAL_ERROR]: 'InternalError',
};

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface XmlRpcFault {
  faultCode: number;
  faultString: string;
}

/** A failure of the gateway itself (not of a remote method), as a RemoteErrorInfo. */
export function gatewayError(type: 'InvalidParams' | 'InternalError' | 'NoSuchMethod', message: string): RemoteErrorInfo {
  return { type, message, module: type === 'NoSuchMethod' ? DISPATCHER_MODULE : GATEWAY_MODULE, stack: null };
}

/** A remote error as a JSON-RPC error object. `stacks: false` leaves the remote stack out. */
export function toJsonRpcError(info: RemoteErrorInfo, stacks = true): JsonRpcErrorObject {
  const code = CODE_BY_TYPE[info.type] ?? SERVER_ERROR;
  // A Python caller (jsonrpclib) sees only the message for codes -32700..-32000: keep the type in it.
  const message = code === SERVER_ERROR ? `${info.type}: ${info.message}` : info.message;
  const data: Record<string, unknown> = { type: info.type, module: info.module ?? null, stack: stacks ? (info.stack ?? null) : null };
  if (info.data !== undefined) data['data'] = info.data;
  return { code, message, data };
}

/** A remote error as an XML-RPC fault, with Python's "<class '...'>:message" text. */
export function toXmlRpcFault(info: RemoteErrorInfo): XmlRpcFault {
  const qualified = info.module && info.module !== 'builtins' ? `${info.module}.${info.type}` : info.type;
  return { faultCode: CODE_BY_TYPE[info.type] ?? APPLICATION_FAULT, faultString: `<class '${qualified}'>:${info.message}` };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** `a.b.ValueError` → module 'a.b', type 'ValueError'; a bare name is a Python builtin. */
function splitQualified(name: string): { type: string; module: string } {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? { type: name, module: 'builtins' } : { type: name.slice(dot + 1), module: name.slice(0, dot) };
}

/** jsonrpclib's texts: "Server error: <where> | <Type>: <message>" and "<Type>:<message>". */
function pythonErrorText(message: string): { type: string; module: string; message: string; stack: string | null } | undefined {
  if (message.length > 20_000) return undefined; // the patterns below are not for megabytes
  const server = /^Server error: ([\s\S]*?) \| ([A-Za-z_][\w.]*): ([\s\S]*)$/.exec(message);
  if (server) return { ...splitQualified(server[2] as string), message: (server[3] as string).trimEnd(), stack: server[1] as string };
  const bare = /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)):([\s\S]*)$/.exec(message);
  if (bare) return { ...splitQualified(bare[1] as string), message: (bare[2] as string).trim(), stack: null };
  return undefined;
}

/**
 * A JSON-RPC error object from any server as a RemoteErrorInfo. A celeriac gateway's `data` gives the type,
 * module and stack; otherwise the code names the type (-32601 → 'NoSuchMethod') and jsonrpclib's texts are
 * read for the Python exception. `data` keeps `{ code, data? }` (the error's own data).
 */
export function fromJsonRpcError(error: unknown): RemoteErrorInfo {
  if (!isRecord(error)) return { type: 'JsonRpcError', message: JSON.stringify(error) ?? 'error', module: null, stack: null, data: { code: null, data: error } };
  const code = typeof error['code'] === 'number' ? error['code'] : null;
  const message = typeof error['message'] === 'string' ? error['message'] : JSON.stringify(error['message'] ?? null);
  const raw = error['data'];
  if (isRecord(raw) && typeof raw['type'] === 'string') {
    const type = raw['type'];
    return {
      type,
      message: message.startsWith(`${type}: `) ? message.slice(type.length + 2) : message,
      module: textOrNull(raw['module']),
      stack: textOrNull(raw['stack']),
      data: { code, ...('data' in raw ? { data: raw['data'] } : {}) },
    };
  }
  const data = { code, ...(raw !== undefined ? { data: raw } : {}) };
  if (code === METHOD_NOT_FOUND) return { type: 'NoSuchMethod', message, module: null, stack: null, data };
  const python = code === INTERNAL_ERROR || (code !== null && code <= SERVER_ERROR && code > SERVER_ERROR - 100) ? pythonErrorText(message) : undefined;
  if (python) return { ...python, data };
  const type = (code !== null ? TYPE_BY_CODE[code] : undefined) ?? (code !== null && code <= SERVER_ERROR && code > SERVER_ERROR - 100 ? 'ServerError' : 'JsonRpcError');
  return { type, message, module: null, stack: null, data };
}

/**
 * An XML-RPC fault from any server as a RemoteErrorInfo: Python's "<class 'mod.Type'>:message" gives the
 * type and module; -32601, and SimpleXMLRPCServer's 'method "x" is not supported', become 'NoSuchMethod'.
 * Anything else is type 'Fault' (module 'xmlrpc.client'). `data` keeps `{ code, faultString }`.
 */
export function fromXmlRpcFault(fault: XmlRpcFault): RemoteErrorInfo {
  const data = { code: fault.faultCode, faultString: fault.faultString };
  const m = /^<class '([\w.]+)'>:([\s\S]*)$/.exec(fault.faultString);
  const parsed = m ? { ...splitQualified(m[1] as string), message: m[2] as string } : undefined;
  const missing = parsed?.type === 'Exception' && /^method ".*" is not supported$/s.test(parsed.message);
  if (fault.faultCode === METHOD_NOT_FOUND || missing) {
    return { type: 'NoSuchMethod', message: parsed?.message ?? fault.faultString, module: parsed && !missing ? parsed.module : null, stack: null, data };
  }
  if (parsed) return { ...parsed, stack: null, data };
  return { type: TYPE_BY_CODE[fault.faultCode] ?? 'Fault', message: fault.faultString, module: TYPE_BY_CODE[fault.faultCode] ? null : 'xmlrpc.client', stack: null, data };
}
