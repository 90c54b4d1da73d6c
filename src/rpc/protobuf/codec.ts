/**
 * The protobuf body codec of direct RPC (frame codec id 3) for one or more services: requests, replies and errors
 * as protobuf bytes (envelope.ts), arguments and results checked with the method's message types. Pure: no I/O.
 *
 *   REQUEST / CAST   celeriac.rpc.Request { method, args: <request message>, namespace: <service full name>, version, context }
 *   REPLY            the method's response message (celeriac.rpc.MethodList for celeriac.describe)
 *   ERROR            celeriac.rpc.Status (google.rpc.Status on the wire) with a celeriac.rpc.RemoteErrorInfo detail
 */
import { ConfigError, RpcError, type RemoteErrorInfo } from '../../errors.js';
import { CodecId } from '../framing.js';
import type { BodyCodec, BodyKind } from '../tcp/body.js';
import { DESCRIBE_METHOD, type MethodInfo, type RpcRequest } from '../types.js';
import { Envelope } from './envelope.js';
import type { ProtoMethod, ProtoService } from './schema.js';

/** Marks arguments this codec decoded (so an implementation knows they were checked); JSON callers' arguments lack it. */
export const DECODED = Symbol('celeriac.protobuf.decoded');

export interface ProtobufBodyCodec extends BodyCodec {
  readonly services: readonly ProtoService[];
}

interface Found {
  service: ProtoService;
  method: ProtoMethod;
}

const EMPTY = new Uint8Array(0);
const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** True when `args` came out of a protobuf body (decoded and so well-formed for its message type). */
export function wasDecoded(args: unknown): boolean {
  return typeof args === 'object' && args !== null && (args as { [DECODED]?: true })[DECODED] === true;
}

/**
 * The codec for `TcpDriverOptions.bodyCodecs` on both ends: `createTcpDriver(url, { codec: 'protobuf', bodyCodecs: [protobufCodec(service)] })`.
 * Replies and errors name only their method, so services served together must not share a method name.
 */
export function protobufCodec(services: ProtoService | readonly ProtoService[]): ProtobufBodyCodec {
  const list: readonly ProtoService[] = Array.isArray(services) ? services : [services as ProtoService];
  if (list.length === 0) throw new ConfigError('a protobuf codec needs at least one service (loadProtoService(...))');
  const byName = new Map<string, Found>();
  for (const service of list) {
    for (const method of service.methods) {
      for (const name of new Set([method.name, method.localName])) {
        const seen = byName.get(name);
        if (seen && seen.service !== service) {
          throw new ConfigError(
            `${seen.service.fullName} and ${service.fullName} both have a method '${name}': replies name only their method, ` +
              `so serve these services on separate ports (one protobufCodec each)`,
          );
        }
        byName.set(name, { service, method });
      }
    }
  }
  const envelope = new Envelope();
  const known = (): string => list.map((s) => `${s.fullName} (${s.methods.map((m) => m.name).join(', ')})`).join('; ');

  const find = (namespace: string | undefined, name: string): Found | undefined => {
    const found = byName.get(name);
    if (!found) return undefined;
    return namespace === undefined || found.service.fullName === namespace ? found : undefined;
  };

  const encodeRequestBody = (value: unknown): Buffer => {
    const request = value as RpcRequest;
    if (request.method === DESCRIBE_METHOD) return asBuffer(envelope.encodeRequest({ ...request, args: EMPTY }));
    const found = find(request.namespace, request.method);
    if (!found) throw new RpcError(`no protobuf method '${request.method}'${request.namespace ? ` in ${request.namespace}` : ''}: the services here are ${known()}`);
    const { service, method } = found;
    let args: unknown = request.args;
    if (Array.isArray(args)) {
      if (args.length > 1) throw new RpcError(`${service.fullName}.${method.name} takes one ${method.requestType.name} message, not ${args.length} arguments`);
      args = args[0];
    }
    const bytes = service.messages.encode(method.requestType, args);
    return asBuffer(envelope.encodeRequest({ ...request, method: method.name, namespace: service.fullName, args: bytes }));
  };

  const decodeRequestBody = (body: Buffer): RpcRequest => {
    const env = envelope.decodeRequest(body);
    const request: RpcRequest = { method: env.method, args: {} };
    if (env.namespace !== undefined) request.namespace = env.namespace;
    if (env.version !== undefined) request.version = env.version;
    if (env.context !== undefined) request.context = env.context;
    const found = env.method === DESCRIBE_METHOD ? undefined : find(env.namespace, env.method);
    // An unknown method keeps empty arguments: the dispatcher answers it with NoSuchMethod.
    if (found) {
      const args = found.service.messages.decode(found.method.requestType, env.args);
      Object.defineProperty(args, DECODED, { value: true });
      request.args = args;
    }
    return request;
  };

  const answering = (method: string | undefined): Found => {
    const found = method === undefined ? undefined : byName.get(method);
    if (!found) throw new RpcError(`no protobuf type for the reply of '${String(method)}': the services here are ${known()}`);
    return found;
  };

  return {
    id: CodecId.PROTOBUF,
    name: 'protobuf',
    services: list,
    encode(value: unknown, kind: BodyKind, method?: string): Buffer {
      if (kind === 'request') return encodeRequestBody(value);
      if (kind === 'error') return asBuffer(envelope.encodeStatus(value as RemoteErrorInfo));
      if (method === DESCRIBE_METHOD) return asBuffer(envelope.encodeMethodList(value as MethodInfo[]));
      const { service, method: m } = answering(method);
      return asBuffer(service.messages.encode(m.responseType, value ?? {}));
    },
    decode(body: Buffer, kind: BodyKind, method?: string): unknown {
      if (kind === 'request') return decodeRequestBody(body);
      if (kind === 'error') return envelope.decodeStatus(body);
      if (method === DESCRIBE_METHOD) return envelope.decodeMethodList(body);
      const { service, method: m } = answering(method);
      return service.messages.decode(m.responseType, body);
    },
  };
}
