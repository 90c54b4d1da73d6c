/**
 * Frame bodies of direct RPC: the codecs (json, msgpack, and room for more, e.g. protobuf stubs) and the
 * checks that a decoded body is what its frame type says. Pure: no I/O.
 *
 *   REQUEST / CAST   { method: string, args: object | array, namespace?: string, version?: string, context?: object }
 *   REPLY            the result (an empty body is `undefined`: a method that returns nothing)
 *   ERROR            RemoteErrorInfo { type: string, message: string, module?, stack?, data? }
 *   HELLO            json { protocol: 1, auth: boolean, nonce?: base64 }          (handshake.ts)
 *   AUTH / WELCOME   json { nonce?: base64, proof: base64 }                        (handshake.ts)
 *   GOAWAY           json { code: 'E_RPC_FRAME' | 'E_RPC_AUTH' | 'closing' | ..., message: string }
 */
import { FrameError, type RemoteErrorInfo } from '../../errors.js';
import { msgpackCodec } from '../../protocol/codecs.js';
import { CodecId, codecName } from '../framing.js';
import type { RpcRequest } from '../types.js';

/** What a body holds, so a codec with typed messages (protobuf) can pick its message type. */
export type BodyKind = 'request' | 'reply' | 'error';

/**
 * A body codec: one per codec id of the frame header. `method` is given with replies and errors (the method
 * they answer), so that a codec with one message type per method (protobuf stubs) can pick it; a request
 * carries its method inside.
 */
export interface BodyCodec {
  readonly id: CodecId;
  readonly name: string;
  /** A string is written as utf-8 straight into the frame (no intermediate buffer). */
  encode(value: unknown, kind: BodyKind, method?: string): Buffer | string;
  decode(body: Buffer, kind: BodyKind, method?: string): unknown;
}

export const jsonBody: BodyCodec = {
  id: CodecId.JSON,
  name: 'json',
  encode: (value) => (value === undefined ? '' : JSON.stringify(value)),
  decode: (body) => (body.length === 0 ? undefined : (JSON.parse(body.toString('utf8')) as unknown)),
};

export const msgpackBody: BodyCodec = {
  id: CodecId.MSGPACK,
  name: 'msgpack',
  encode: (value) => (value === undefined ? Buffer.alloc(0) : msgpackCodec.encode(value)),
  decode: (body) => (body.length === 0 ? undefined : msgpackCodec.decode(body)),
};

/** Codecs by id; a registry is a value (each driver has its own). */
export class BodyCodecs {
  private readonly byId: (BodyCodec | undefined)[] = [];
  private readonly byName = new Map<string, BodyCodec>();

  constructor(extra: readonly BodyCodec[] = []) {
    for (const codec of [jsonBody, msgpackBody, ...extra]) {
      this.byId[codec.id] = codec;
      this.byName.set(codec.name, codec);
    }
  }

  named(name: string): BodyCodec | undefined {
    return this.byName.get(name);
  }

  /** Whether bodies in this codec can be read and written here. */
  serves(codec: CodecId): boolean {
    return this.byId[codec] !== undefined;
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** Decodes a body; a codec nobody registered, or bytes that do not decode, are a FrameError. */
  decode(codec: CodecId, body: Buffer, kind: BodyKind, method?: string): unknown {
    const c = this.byId[codec];
    if (!c) {
      throw new FrameError(`a ${kind} body in the ${codecName(codec)} codec, which this side does not serve: use ${this.names.join(' or ')}`);
    }
    try {
      return c.decode(body, kind, method);
    } catch (err) {
      throw new FrameError(`a ${kind} body is not valid ${c.name} (${(err as Error).message}): the peer sent corrupt bytes`, { cause: err });
    }
  }

  encode(codec: CodecId, value: unknown, kind: BodyKind, method?: string): Buffer | string {
    const c = this.byId[codec];
    if (!c) throw new FrameError(`no ${codecName(codec)} body codec is registered on this side`);
    return c.encode(value, kind, method);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a decoded REQUEST or CAST body and returns it as an RpcRequest. */
export function toRequest(value: unknown): RpcRequest {
  if (!isObject(value)) throw new FrameError(`a request body must be an object with 'method' and 'args', not ${describe(value)}`);
  const { method, args, namespace, version, context } = value;
  if (typeof method !== 'string' || method === '') throw new FrameError(`a request body needs 'method' (a non-empty string), got ${describe(method)}`);
  if (args !== undefined && typeof args !== 'object') throw new FrameError(`'args' of a request must be an object or an array, got ${describe(args)}`);
  if (namespace !== undefined && namespace !== null && typeof namespace !== 'string') throw new FrameError(`'namespace' of a request must be a string`);
  if (version !== undefined && version !== null && typeof version !== 'string') throw new FrameError(`'version' of a request must be a string`);
  if (context !== undefined && context !== null && !isObject(context)) throw new FrameError(`'context' of a request must be an object`);
  const request: RpcRequest = { method, args: (args ?? {}) as RpcRequest['args'] };
  if (typeof namespace === 'string') request.namespace = namespace;
  if (typeof version === 'string') request.version = version;
  if (isObject(context)) request.context = context;
  return request;
}

/** Reads a decoded ERROR body; a body that is not one still becomes an error the caller can read. */
export function toErrorInfo(value: unknown): RemoteErrorInfo {
  if (isObject(value) && typeof value.type === 'string' && typeof value.message === 'string') {
    const info: RemoteErrorInfo = { type: value.type, message: value.message };
    if (typeof value.module === 'string' || value.module === null) info.module = value.module;
    if (typeof value.stack === 'string' || value.stack === null) info.stack = value.stack;
    if (value.data !== undefined) info.data = value.data;
    return info;
  }
  return { type: 'RemoteError', module: 'celeriac', message: `the server sent an error without type and message: ${describe(value)}` };
}

/** What the peer says when it sends GOAWAY. */
export interface GoAway {
  code: string;
  message: string;
}

export function toGoAway(value: unknown): GoAway {
  if (isObject(value) && typeof value.code === 'string' && typeof value.message === 'string') return { code: value.code, message: value.message };
  return { code: 'E_RPC_FRAME', message: `the peer closed the connection with an unreadable GOAWAY: ${describe(value)}` };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
