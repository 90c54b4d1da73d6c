/**
 * `celeriac stubs`' generator: TypeScript from protobufjs reflection, no protoc. Emits the messages' interfaces,
 * enums as unions of names, and per service an interface to implement, a client interface, an abstract base
 * class, the loaded service and factories of typed clients and servers. The plain form is `messages.ts`'s.
 */
import { resolve } from 'node:path';
import type { Enum, Field, MapField, NamespaceBase, ReflectionObject, Root, Service, Type } from 'protobufjs';
import { ConfigError } from '../../errors.js';
import { protobufjs } from './lib.js';
import { typeName, type LongsAs } from './messages.js';
import { ProtoService, servicesOf, findService } from './schema.js';

export interface StubsOptions {
  /** Services to emit (full or own names); default: every service of the schema. */
  services?: readonly string[];
  /** Where the generated file imports celeriac from (default 'celeriac'). */
  importFrom?: string;
  /** 64-bit integers as 'string' (default, exact) or 'number'. */
  longs?: LongsAs;
  /** Leave streaming methods out instead of refusing the service. */
  skipStreaming?: boolean;
  /**
   * The .proto files the schema was loaded from: their messages and enums are emitted even when no method uses them.
   * Without files, only what the services reach (every type of a schema that has no service).
   */
  files?: readonly string[];
  /** The command that made the file, for its header. */
  command?: string;
}

const SCALARS: Record<string, string> = {
  double: 'number', float: 'number', int32: 'number', uint32: 'number', sint32: 'number', fixed32: 'number', sfixed32: 'number',
  bool: 'boolean', string: 'string', bytes: 'Uint8Array',
};
const LONGS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32_KEYS = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
/** Names the generated code uses itself: a message of such a name gets a trailing underscore. */
const RESERVED = new Set(['celeriac', 'protoDescriptor', 'Promise', 'Uint8Array', 'Record', 'Array', 'Object', 'String', 'Number', 'Boolean', 'Symbol', 'Error', 'Date', 'Map', 'Set']);

const isType = (o: unknown): o is Type => o instanceof protobufjs().Type;
const isEnum = (o: unknown): o is Enum => o instanceof protobufjs().Enum;

function jsdoc(lines: (string | null | undefined)[], indent = ''): string {
  const text = lines.filter((l): l is string => typeof l === 'string' && l.trim() !== '').flatMap((l) => l.split('\n')).map((l) => l.replace(/\*\//g, '*\\/').trimEnd());
  if (text.length === 0) return '';
  if (text.length === 1) return `${indent}/** ${text[0]} */\n`;
  return `${indent}/**\n${text.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

/** Messages and enums to emit: declared in the given files, and every type the services reach, in declaration order. */
function typesToEmit(root: Root, services: Service[], files: readonly string[]): (Type | Enum)[] {
  const wanted = new Set<ReflectionObject>();
  const reach = (t: Type | Enum): void => {
    if (wanted.has(t)) return;
    wanted.add(t);
    if (!isType(t)) return;
    for (const f of t.fieldsArray) {
      const r = f.resolve().resolvedType;
      if (isType(r) || isEnum(r)) reach(r);
    }
  };
  for (const s of services) {
    for (const m of s.methodsArray) {
      m.resolve();
      if (m.resolvedRequestType) reach(m.resolvedRequestType);
      if (m.resolvedResponseType) reach(m.resolvedResponseType);
    }
  }
  const all: (Type | Enum)[] = [];
  const walk = (ns: NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (isType(o) || isEnum(o)) all.push(o);
      if (o instanceof protobufjs().Namespace || isType(o)) walk(o);
    }
  };
  walk(root);
  const fileSet = new Set(files.map((f) => resolve(f)));
  const fileOf = (o: ReflectionObject): string | null => {
    for (let p: ReflectionObject | null = o; p; p = p.parent) if (p.filename) return p.filename;
    return null;
  };
  for (const t of all) {
    const file = fileOf(t);
    // No service and no file named: a schema of messages only, emitted whole
    if ((services.length === 0 && fileSet.size === 0) || (file !== null && fileSet.has(resolve(file)))) reach(t);
  }
  return all.filter((t) => wanted.has(t));
}

/** TypeScript names: the path inside the package joined by '_' (Outer_Inner); the full name when two collide. */
function nameTypes(types: (Type | Enum)[]): Map<ReflectionObject, string> {
  const local = (t: ReflectionObject): string => {
    const parts = [t.name];
    for (let p = t.parent; p && isType(p); p = p.parent) parts.unshift(p.name);
    return parts.join('_');
  };
  const counts = new Map<string, number>();
  for (const t of types) counts.set(local(t), (counts.get(local(t)) ?? 0) + 1);
  const names = new Map<ReflectionObject, string>();
  for (const t of types) {
    let name = (counts.get(local(t)) ?? 0) > 1 ? typeName(t).replace(/\./g, '_') : local(t);
    if (RESERVED.has(name)) name = `${name}_`;
    names.set(t, name);
  }
  return names;
}

function fieldType(field: Field, names: Map<ReflectionObject, string>, longs: LongsAs): string {
  const resolved = field.resolvedType;
  const base = resolved ? (names.get(resolved) as string) : LONGS.has(field.type) ? (longs === 'string' ? 'string' : 'number') : (SCALARS[field.type] ?? 'unknown');
  if (field.map) {
    const keyType = (field as unknown as MapField).keyType;
    return `{ [key: ${INT32_KEYS.has(keyType) ? 'number' : 'string'}]: ${base} }`;
  }
  return field.repeated ? `${base}[]` : base;
}

/** Absent allowed: messages, fields with presence (oneof members, proto3 optional, proto2 optional); never repeated or map. */
function isOptional(field: Field): boolean {
  if (field.repeated || field.map) return false;
  if (field.required) return false;
  return isType(field.resolvedType) || field.hasPresence;
}

function emitEnum(e: Enum, name: string): string {
  const values = Object.keys(e.values);
  const notes = values.filter((v) => e.comments[v]).map((v) => `- ${v}: ${e.comments[v] as string}`);
  const union = values.length === 0 ? 'never' : values.map((v) => `'${v}'`).join(' | ');
  return `${jsdoc([e.comment, notes.length > 0 ? notes.join('\n') : undefined, `(${typeName(e)}; a value unknown to this side arrives as its number)`])}export type ${name} = ${union};\n`;
}

function emitMessage(t: Type, name: string, names: Map<ReflectionObject, string>, longs: LongsAs): string {
  const fields = t.fieldsArray.filter((f) => !f.name.startsWith('.'));
  if (fields.length === 0) return `${jsdoc([t.comment, `(${typeName(t)})`])}export type ${name} = Record<string, never>;\n`;
  const lines = fields.map((f) => {
    f.resolve();
    const oneof = f.partOf && !(f.options?.['proto3_optional'] === true) ? `(oneof ${f.partOf.name}: at most one of ${f.partOf.fieldsArray.map((x) => x.name).join(', ')})` : undefined;
    const type = fieldType(f, names, longs);
    // `| undefined` too, so that stubs suit code compiled with exactOptionalPropertyTypes
    return `${jsdoc([f.comment, oneof], '  ')}  ${f.name}${isOptional(f) ? `?: ${type} | undefined` : `: ${type}`};`;
  });
  return `${jsdoc([t.comment, `(${typeName(t)})`])}export interface ${name} {\n${lines.join('\n')}\n}\n`;
}

function emitService(p: ProtoService, names: Map<ReflectionObject, string>, options: StubsOptions): string {
  const s = p.fullName.split('.').pop() as string;
  const req = (m: ProtoService['methods'][number]): string => names.get(m.requestType) as string;
  const res = (m: ProtoService['methods'][number]): string => names.get(m.responseType) as string;
  const doc = (m: ProtoService['methods'][number]): string => jsdoc([m.doc, `(${p.fullName}.${m.name})`], '  ');
  const impl = p.methods.map((m) => `${doc(m)}  ${m.localName}(request: ${req(m)}, context?: celeriac.RpcCallContext): Promise<${res(m)}> | ${res(m)};`);
  const client = p.methods.map((m) => `${doc(m)}  ${m.localName}(request: ${req(m)}, options?: celeriac.CallOptions): Promise<${res(m)}>;`);
  const base = p.methods.map((m) => `${doc(m)}  abstract ${m.localName}(request: ${req(m)}, context?: celeriac.RpcCallContext): Promise<${res(m)}> | ${res(m)};`);
  const loadOptions = [`longs: '${options.longs ?? 'string'}'`, ...(options.skipStreaming ? ['skipStreaming: true'] : [])].join(', ');
  return [
    `${jsdoc([p.doc, `What a server of ${p.fullName} implements (each method may also be async).`])}export interface ${s} {\n${impl.join('\n')}\n}\n`,
    `${jsdoc([`A client of ${p.fullName}: each method is a remote call.`])}export interface ${s}Client {\n${client.join('\n')}\n}\n`,
    `${jsdoc([`The server skeleton of ${p.fullName}: extend it, implement the methods, serve it with create${s}Server.`])}export abstract class ${s}Base implements ${s} {\n${base.join('\n')}\n}\n`,
    `/** ${p.fullName} loaded from the descriptor below (the .proto is not needed at run time). */\nexport const ${s}Definition: celeriac.ProtoService = celeriac.loadProtoService(protoDescriptor(), '${p.fullName}', { ${loadOptions} });\n`,
    `${jsdoc([`A typed client of ${p.fullName} at url (tcp://host:port or tls://host:port); close() it when done (or pass { app }).`])}` +
      `export function create${s}Client(url: string, options?: celeriac.ProtoClientOptions): celeriac.ProtoClient<${s}Client> {\n` +
      `  return celeriac.protoClient<${s}Client>(${s}Definition, url, options);\n}\n`,
    `${jsdoc([`A server of ${p.fullName} at url (tcp://0.0.0.0:4343, port 0 for any), not yet started: await it.start().`])}` +
      `export function create${s}Server(url: string, implementation: ${s}, options?: celeriac.ProtoServerOptions): celeriac.RpcServer {\n` +
      `  return celeriac.protoServer(url, { service: ${s}Definition, implementation }, options);\n}\n`,
  ].join('\n');
}

/** The TypeScript source of stubs for a loaded schema (see `loadProtoRoot`). */
export function generateStubs(root: Root, options: StubsOptions = {}): string {
  const longs = options.longs ?? 'string';
  try {
    root.resolveAll(); // also settles field presence (proto3, editions) before types are written
  } catch (err) {
    throw new ConfigError(`the schema does not resolve: ${(err as Error).message}`, { cause: err });
  }
  const selected = options.services && options.services.length > 0 ? options.services.map((n) => findService(root, n)) : servicesOf(root);
  const services = selected.map((s) => new ProtoService(s, { longs, skipStreaming: options.skipStreaming ?? false }));
  const types = typesToEmit(root, selected, options.files ?? []);
  const names = nameTypes(types);
  const taken = new Map<string, string>();
  const claim = (name: string, what: string): void => {
    const other = taken.get(name);
    if (other) throw new ConfigError(`the stubs would declare '${name}' twice (${other} and ${what}): rename one in the .proto, or generate the services apart (--service)`);
    taken.set(name, what);
  };
  for (const t of types) claim(names.get(t) as string, typeName(t));
  for (const p of services) {
    const s = p.fullName.split('.').pop() as string;
    for (const suffix of ['', 'Client', 'Base', 'Definition']) claim(`${s}${suffix}`, `service ${p.fullName}`);
    for (const f of ['create%Client', 'create%Server']) claim(f.replace('%', s), `service ${p.fullName}`);
  }
  const header = [
    `// Generated by celeriac stubs${options.files && options.files.length > 0 ? ` from ${options.files.join(', ')}` : ''}: do not edit.`,
    `// Run ${options.command ? `\`${options.command}\`` : 'celeriac stubs'} again after changing the .proto.`,
  ];
  const parts = [
    `${header.join('\n')}\nimport * as celeriac from '${options.importFrom ?? 'celeriac'}';\n`,
    ...types.map((t) => (isEnum(t) ? emitEnum(t, names.get(t) as string) : emitMessage(t, names.get(t) as string, names, longs))),
    ...services.map((p) => emitService(p, names, options)),
  ];
  if (services.length > 0) {
    const descriptor = JSON.stringify(root.toJSON({ keepComments: true }), (key, v: unknown) => (key === 'comment' && v === null ? undefined : v), 2).replace(/\n/g, '\n  ');
    parts.push(`/** The schema as protobufjs JSON (root.toJSON(), comments kept for the methods' doc lines). */\nfunction protoDescriptor(): celeriac.ProtoDescriptor {\n  return ${descriptor};\n}\n`);
  }
  return parts.join('\n');
}
