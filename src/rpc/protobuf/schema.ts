/**
 * Protobuf services for celeriac RPC: a `.proto` file (or a protobufjs Root, or a JSON descriptor as generated
 * stubs embed) loaded with protobufjs into a `ProtoService`: its unary methods with their message types.
 * Streaming methods are refused (or left out with `skipStreaming`): a celeriac call has one request and one reply.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { INamespace, Method, NamespaceBase, Root, Service, Type } from 'protobufjs';
import { ConfigError } from '../../errors.js';
import { protobufjs } from './lib.js';
import { MessageCodec, typeName, type LongsAs } from './messages.js';

/** A schema as protobufjs writes it with `root.toJSON()` (what generated stubs embed); read by `Root.fromJSON`. */
export interface ProtoDescriptor {
  nested?: Record<string, unknown>;
  options?: Record<string, unknown>;
}

export interface LoadProtoOptions {
  /** Field names as written in the .proto (`player_name`); default: lowerCamelCase (`playerName`), as protobufjs and proto3 JSON. */
  keepCase?: boolean;
  /** 64-bit integers in plain objects: 'string' (default: decimal strings, exact) or 'number' (exact up to 2^53). */
  longs?: LongsAs;
  /** Leave streaming methods out instead of refusing the service. */
  skipStreaming?: boolean;
  /** Directories searched for imported .proto files (protoc's -I), after the importing file's own directory. */
  includeDirs?: readonly string[];
}

/** One unary method of a service. */
export interface ProtoMethod {
  /** As written in the .proto (`connect_server`): the name that travels. */
  readonly name: string;
  /** lowerCamelCase (`connectServer`): the method of typed clients and implementations. */
  readonly localName: string;
  readonly requestType: Type;
  readonly responseType: Type;
  /** The method's comment in the .proto, if any. */
  readonly doc: string | undefined;
}

/** A loaded service: what the protobuf codec, `protoClient` and `protoServer` work from. */
export class ProtoService {
  /** 'game.GameService': also the namespace its calls carry (as gRPC's /game.GameService/connect_server). */
  readonly fullName: string;
  readonly methods: readonly ProtoMethod[];
  readonly messages: MessageCodec;
  readonly doc: string | undefined;
  private readonly byName = new Map<string, ProtoMethod>();

  constructor(
    readonly service: Service,
    readonly options: Readonly<LoadProtoOptions> = {},
  ) {
    this.fullName = typeName(service);
    this.messages = new MessageCodec(options.longs ?? 'string');
    this.doc = service.comment ?? undefined;
    const methods: ProtoMethod[] = [];
    for (const method of service.methodsArray) {
      method.resolve();
      if (method.requestStream || method.responseStream) {
        if (options.skipStreaming) continue;
        throw new ConfigError(
          `${this.fullName}.${method.name} is a ${streamKind(method)} method: celeriac's protobuf stubs carry unary calls ` +
            `(one request, one reply); remove it from the service, or leave it out with skipStreaming (celeriac stubs --skip-streaming)`,
        );
      }
      const entry: ProtoMethod = {
        name: method.name,
        localName: lowerCamel(method.name),
        requestType: method.resolvedRequestType as Type,
        responseType: method.resolvedResponseType as Type,
        doc: method.comment ?? undefined,
      };
      const clash = this.byName.get(entry.localName);
      if (clash) throw new ConfigError(`${this.fullName}: methods ${clash.name} and ${entry.name} are both ${entry.localName} in TypeScript: rename one`);
      this.byName.set(entry.name, entry);
      this.byName.set(entry.localName, entry);
      methods.push(entry);
    }
    this.methods = methods;
  }

  /** A method by its .proto name or its lowerCamelCase name. */
  method(name: string): ProtoMethod | undefined {
    return this.byName.get(name);
  }
}

/** 'connect_server' → 'connectServer', 'ListServers' → 'listServers' (gRPC's lowerCamel method names). */
export function lowerCamel(name: string): string {
  const camel = name.replace(/_+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
  return camel.charAt(0).toLowerCase() + camel.slice(1);
}

function streamKind(method: Method): string {
  if (method.requestStream && method.responseStream) return 'bidirectional streaming';
  return method.requestStream ? 'client streaming' : 'server streaming';
}

/** Loads .proto files into one protobufjs Root, comments kept (for docs), types resolved. */
export function loadProtoRoot(files: string | readonly string[], options: LoadProtoOptions = {}): Root {
  const list = typeof files === 'string' ? [files] : [...files];
  const root = new (protobufjs().Root)();
  const dirs = (options.includeDirs ?? []).map((d) => resolve(d));
  root.resolvePath = (origin, target) => {
    if (isAbsolute(target)) return target;
    const near = origin ? join(dirname(origin), target) : resolve(target);
    if (existsSync(near) || dirs.length === 0) return near;
    for (const dir of dirs) if (existsSync(join(dir, target))) return join(dir, target);
    return near;
  };
  for (const file of list) {
    if (!existsSync(file)) throw new ConfigError(`cannot read ${file}: no such .proto file`);
  }
  try {
    root.loadSync(list, { keepCase: options.keepCase ?? false, alternateCommentMode: true });
    root.resolveAll();
  } catch (err) {
    const message = (err as Error).message;
    const hint = /ENOENT/.test(message) ? ': an imported file is missing; give the directories of imported files with -I (includeDirs)' : '';
    throw new ConfigError(`cannot load ${list.join(', ')}: ${message}${hint}`, { cause: err });
  }
  return root;
}

/** Every service a Root defines. */
export function servicesOf(root: Root): Service[] {
  const pb = protobufjs();
  const out: Service[] = [];
  const walk = (ns: NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof pb.Service) out.push(nested);
      else if (nested instanceof pb.Namespace) walk(nested);
    }
  };
  walk(root);
  return out;
}

/** Finds a service by full name ('game.GameService') or, when unique, by its own name ('GameService'). */
export function findService(root: Root, name: string, where = 'the schema'): Service {
  const all = servicesOf(root);
  const wanted = name.replace(/^\./, '');
  const found = all.find((s) => typeName(s) === wanted) ?? (all.filter((s) => s.name === wanted).length === 1 ? all.find((s) => s.name === wanted) : undefined);
  if (found) return found;
  const names = all.map((s) => typeName(s));
  throw new ConfigError(`no service '${name}' in ${where}: ${names.length > 0 ? `it defines ${names.join(', ')}` : 'it defines no service'}`);
}

const protobufVersion = 'protobufjs 8';

/** A protobufjs Root, also one made by another copy of protobufjs than celeriac's. */
const isRoot = (v: Root | ProtoDescriptor): v is Root => typeof (v as Partial<Root>).lookupService === 'function';

/**
 * A service of a .proto file, a protobufjs Root or a JSON descriptor:
 * `loadProtoService('game.proto', 'game.GameService')`.
 */
export function loadProtoService(source: string | Root | ProtoDescriptor, name: string, options: LoadProtoOptions = {}): ProtoService {
  let root: Root;
  let where: string;
  if (typeof source === 'string') {
    root = loadProtoRoot(source, options);
    where = source;
  } else if (isRoot(source)) {
    if (!(source instanceof protobufjs().Root)) {
      throw new ConfigError(`the Root comes from another copy of protobufjs than celeriac's (${protobufVersion}): load it with the same copy, or pass the .proto path`);
    }
    root = source;
    where = 'the given Root';
    try {
      root.resolveAll();
    } catch (err) {
      throw new ConfigError(`the given protobufjs Root does not resolve: ${(err as Error).message}`, { cause: err });
    }
  } else {
    try {
      root = protobufjs().Root.fromJSON(source as INamespace);
      root.resolveAll();
    } catch (err) {
      throw new ConfigError(`the protobuf descriptor does not load: ${(err as Error).message}`, { cause: err });
    }
    where = 'the descriptor';
  }
  return new ProtoService(findService(root, name, where), options);
}
