/**
 * The protobuf bodies of direct RPC frames (codec id 3) besides the messages of the user's service. Pure: no I/O.
 * A REPLY body is the method's response message itself; REQUEST, CAST and ERROR bodies are these:
 */
import type { Type } from 'protobufjs';
import type { RemoteErrorInfo } from '../../errors.js';
import type { MethodInfo } from '../types.js';
import { protobufjs } from './lib.js';

export const ENVELOPE_PROTO = `
syntax = "proto3";
package celeriac.rpc;

// REQUEST and CAST bodies: gRPC's /game.GameService/connect_server plus celeriac's version and context.
message Request {
  string method = 1;     // as written in the .proto: connect_server
  bytes args = 2;        // the method's request message, encoded
  string namespace = 3;  // the service's full name: game.GameService
  string version = 4;    // the version the caller needs ('1.2'); empty: any
  string context = 5;    // the caller's context (oslo's ctxt) as JSON text; empty: none
}

// ERROR bodies: google.rpc.Status (same fields, same numbers), with one RemoteErrorInfo in details.
message Status {
  int32 code = 1;              // a gRPC status code: 12 UNIMPLEMENTED for an unknown method, 3 for bad arguments, 2 UNKNOWN, ...
  string message = 2;
  repeated Any details = 3;
}

// google.protobuf.Any; type_url type.googleapis.com/celeriac.rpc.RemoteErrorInfo.
message Any {
  string type_url = 1;
  bytes value = 2;
}

// What the remote method raised, as celeriac's RemoteErrorInfo.
message RemoteErrorInfo {
  string type = 1;             // the error's class name: ValueError, NoSuchMethod, ...
  optional string module = 2;  // where it is defined (builtins, oslo_messaging.rpc.dispatcher)
  optional string stack = 3;   // the remote stack, shown apart from the local one
  optional string data = 4;    // extra data as JSON text
}

// The REPLY to celeriac.describe (the list of methods, for 'celeriac rpc list').
message MethodList {
  repeated MethodInfo methods = 1;
}

message MethodInfo {
  string name = 1;
  string doc = 2;
  string namespace = 3;
  string version = 4;
}
`;

export const ERROR_INFO_URL = 'type.googleapis.com/celeriac.rpc.RemoteErrorInfo';

/** A REQUEST body, its arguments still encoded. */
export interface RequestEnvelope {
  method: string;
  args: Uint8Array;
  namespace?: string;
  version?: string;
  context?: Record<string, unknown>;
}

/** gRPC status codes by name (grpc/status.h). */
export const GrpcStatus = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;

/** The status code an error type maps to (what a gRPC tool reading the Status sees). */
export function statusCode(type: string): number {
  switch (type) {
    case 'NoSuchMethod':
    case 'NoSuchMethodError':
    case 'UnsupportedVersion':
    case 'UnsupportedVersionError':
      return GrpcStatus.UNIMPLEMENTED;
    case 'TypeError':
    case 'RangeError':
    case 'ValueError':
      return GrpcStatus.INVALID_ARGUMENT;
    case 'RpcTimeoutError':
      return GrpcStatus.DEADLINE_EXCEEDED;
    case 'EncodeError':
      return GrpcStatus.INTERNAL;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** The error type of a Status that carries no RemoteErrorInfo (a peer other than celeriac). */
function typeOfCode(code: number): string {
  if (code === GrpcStatus.UNIMPLEMENTED) return 'NoSuchMethod';
  const name = Object.entries(GrpcStatus).find(([, c]) => c === code)?.[0] ?? `STATUS_${code}`;
  return `grpc.${name}`;
}

/** The envelope's message types, parsed once per codec (protobufjs is loaded on first use). */
export class Envelope {
  private readonly request: Type;
  private readonly status: Type;
  private readonly info: Type;
  private readonly methodList: Type;

  constructor() {
    const root = protobufjs().parse(ENVELOPE_PROTO, { keepCase: true }).root;
    this.request = root.lookupType('celeriac.rpc.Request');
    this.status = root.lookupType('celeriac.rpc.Status');
    this.info = root.lookupType('celeriac.rpc.RemoteErrorInfo');
    this.methodList = root.lookupType('celeriac.rpc.MethodList');
  }

  encodeRequest(r: RequestEnvelope): Uint8Array {
    return this.request.encode({
      method: r.method,
      args: r.args,
      namespace: r.namespace ?? '',
      version: r.version ?? '',
      context: r.context === undefined ? '' : JSON.stringify(r.context),
    }).finish();
  }

  /** Throws on bytes that are not a Request (wrong wire types, truncated, context that is not a JSON object). */
  decodeRequest(body: Uint8Array): RequestEnvelope {
    const m = this.request.decode(body) as unknown as { method: string; args: Uint8Array; namespace: string; version: string; context: string };
    const out: RequestEnvelope = { method: m.method, args: m.args };
    if (m.namespace !== '') out.namespace = m.namespace;
    if (m.version !== '') out.version = m.version;
    if (m.context !== '') {
      const context = JSON.parse(m.context) as unknown;
      if (typeof context !== 'object' || context === null || Array.isArray(context)) throw new TypeError('the context of a request must be a JSON object');
      out.context = context as Record<string, unknown>;
    }
    return out;
  }

  encodeStatus(info: RemoteErrorInfo): Uint8Array {
    const detail: Record<string, unknown> = { type: info.type };
    if (typeof info.module === 'string') detail['module'] = info.module;
    if (typeof info.stack === 'string') detail['stack'] = info.stack;
    if (info.data !== undefined) {
      try {
        const data = JSON.stringify(info.data);
        if (data !== undefined) detail['data'] = data;
      } catch {
        // data that JSON cannot carry (a cycle, a bigint) stays behind; type and message still travel
      }
    }
    return this.status.encode({
      code: statusCode(info.type),
      message: info.message,
      details: [{ type_url: ERROR_INFO_URL, value: this.info.encode(detail).finish() }],
    }).finish();
  }

  /** Throws on bytes that are not a Status. */
  decodeStatus(body: Uint8Array): RemoteErrorInfo {
    const status = this.status.decode(body) as unknown as { code: number; message: string; details: { type_url: string; value: Uint8Array }[] };
    const detail = status.details.find((d) => d.type_url === ERROR_INFO_URL);
    if (!detail) return { type: typeOfCode(status.code), message: status.message, data: { code: status.code } };
    const m = this.info.decode(detail.value) as unknown as { type: string; module?: string; stack?: string; data?: string };
    const info: RemoteErrorInfo = { type: m.type || typeOfCode(status.code), message: status.message };
    const own = (key: string): boolean => Object.prototype.hasOwnProperty.call(m, key);
    if (own('module')) info.module = m.module as string;
    if (own('stack')) info.stack = m.stack as string;
    if (own('data')) info.data = JSON.parse(m.data as string) as unknown;
    return info;
  }

  encodeMethodList(methods: readonly MethodInfo[]): Uint8Array {
    return this.methodList.encode({ methods: methods.map((m) => ({ name: m.name, doc: m.doc ?? '', namespace: m.namespace ?? '', version: m.version ?? '' })) }).finish();
  }

  decodeMethodList(body: Uint8Array): MethodInfo[] {
    const list = this.methodList.decode(body) as unknown as { methods: { name: string; doc: string; namespace: string; version: string }[] };
    return list.methods.map((m) => ({
      name: m.name,
      ...(m.doc ? { doc: m.doc } : {}),
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.version ? { version: m.version } : {}),
    }));
  }
}
