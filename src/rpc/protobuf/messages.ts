/**
 * Protobuf messages as plain TypeScript objects, both ways, with protobufjs doing the bytes. Pure: no I/O.
 *
 *   plain object (what stubs type)            protobufjs message                        wire
 *   { playerName: 'ada', region: 'EU',  ──►   checked field by field (unknown   ──►     Type.encode
 *     expiresAtMs: '1700000000000' }          fields, enum names, 64-bit text),
 *                                             then Type.verify
 *   ◄── Type.toObject (enums as names, 64-bit as decimal strings or numbers, defaults filled, absent messages left out)
 *
 * The plain form (what `celeriac stubs` emits types for):
 *   double float int32 uint32 sint32 fixed32 sfixed32   number
 *   int64 uint64 sint64 fixed64 sfixed64                string (decimal, exact; default) or number (option longs: 'number')
 *                                                       accepted when sent: string, safe-integer number, bigint
 *   bool, string                                        boolean, string
 *   bytes                                               Uint8Array (a Buffer when decoded); a base64 string is accepted
 *   enum                                                the value's name ('EU'); its number is accepted; an unknown
 *                                                       number from a newer peer arrives as the number
 *   message                                             a nested plain object; absent is left out (never null)
 *   repeated / map                                      array / object (keys as strings); always present when decoded
 *   oneof member, proto3 optional                       an optional field, absent unless set
 */
import type { Enum, Field, IConversionOptions, Type } from 'protobufjs';
import { RpcError } from '../../errors.js';
import { protobufjs } from './lib.js';

/** How 64-bit integers look in plain objects: decimal strings (exact) or numbers (exact up to 2^53 only). */
export type LongsAs = 'string' | 'number';

/** The part of the `long` package (protobufjs's 64-bit integers) used here; protobufjs types it as a bare constructor. */
interface LongValue {
  toString(): string;
}

type Kind = 'plain' | 'long' | 'enum' | 'message';

interface FieldPlan {
  field: Field;
  kind: Kind;
  repeated: boolean;
  map: boolean;
  unsigned: boolean;
  message: Type | undefined;
  enumeration: Enum | undefined;
}

interface TypePlan {
  name: string;
  fields: Map<string, FieldPlan>;
  /** Fields holding messages (singular, repeated or map values): where decoding leaves nulls to remove. */
  messageFields: FieldPlan[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

const UNSIGNED = new Set(['uint64', 'fixed64']);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Converts plain objects to protobuf bytes and back for the message types of one schema; plans are made once per type. */
export class MessageCodec {
  private readonly plans = new Map<Type, TypePlan>();
  private readonly toObjectOptions: IConversionOptions;

  constructor(readonly longs: LongsAs = 'string') {
    this.toObjectOptions = { longs: longs === 'string' ? String : Number, enums: String, defaults: true, arrays: true, objects: true };
  }

  /** Checks a plain object against its type (unknown fields, enum names, 64-bit integers, then Type.verify) and encodes it. */
  encode(type: Type, value: unknown): Uint8Array {
    const message = this.toMessage(type, value ?? {}, typeName(type)) as Record<string, unknown>;
    const problem = type.verify(message);
    if (problem !== null) throw new RpcError(`${typeName(type)}: ${problem}`);
    return type.encode(message).finish();
  }

  /** Decodes bytes into the plain form. Throws on bytes that are not this message (protobufjs says where). */
  decode(type: Type, bytes: Uint8Array): Record<string, unknown> {
    const object = type.toObject(type.decode(bytes), this.toObjectOptions);
    this.dropNulls(type, object);
    return object;
  }

  /** The plain object as a peer would receive it (checked, encoded, decoded): defaults filled, enums as names. */
  normalize(type: Type, value: unknown): Record<string, unknown> {
    return this.decode(type, this.encode(type, value));
  }

  private plan(type: Type): TypePlan {
    let plan = this.plans.get(type);
    if (plan) return plan;
    const fields = new Map<string, FieldPlan>();
    const messageFields: FieldPlan[] = [];
    const pb = protobufjs();
    for (const field of type.fieldsArray) {
      field.resolve();
      const resolved = field.resolvedType;
      const message = resolved instanceof pb.Type ? resolved : undefined;
      const enumeration = resolved instanceof pb.Enum ? resolved : undefined;
      const kind: Kind = message ? 'message' : enumeration ? 'enum' : field.long ? 'long' : 'plain';
      const entry: FieldPlan = { field, kind, repeated: field.repeated, map: field.map, unsigned: UNSIGNED.has(field.type), message, enumeration };
      fields.set(field.name, entry);
      if (message) messageFields.push(entry);
    }
    plan = { name: typeName(type), fields, messageFields };
    this.plans.set(type, plan);
    return plan;
  }

  /** A copy of `value` in the form protobufjs verifies and encodes. Leaves wrong kinds of values for Type.verify to name. */
  private toMessage(type: Type, value: unknown, path: string): unknown {
    if (!isPlainObject(value)) {
      if (Array.isArray(value)) throw new RpcError(`${path}: a ${typeName(type)} message is an object of fields, not an array`);
      return value; // verify says "object expected"
    }
    const plan = this.plan(type);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (v === undefined || v === null) continue;
      const f = plan.fields.get(key);
      if (!f) throw new RpcError(`${path}: unknown field '${key}'${hint(plan, key)}`);
      const at = `${path}.${key}`;
      if (f.kind === 'plain') out[key] = v;
      else if (f.map) out[key] = isPlainObject(v) ? mapValues(v, (x, k) => this.value(f, x, `${at}[${k}]`)) : v;
      else if (f.repeated) out[key] = Array.isArray(v) ? v.map((x, i) => this.value(f, x, `${at}[${i}]`)) : v;
      else out[key] = this.value(f, v, at);
    }
    return out;
  }

  private value(f: FieldPlan, v: unknown, path: string): unknown {
    if (f.kind === 'message') return this.toMessage(f.message as Type, v, path);
    if (f.kind === 'enum') return enumValue(f.enumeration as Enum, v, path);
    return longValue(v, f.unsigned, path);
  }

  /** toObject with defaults sets absent message fields to null: the plain form leaves them out. */
  private dropNulls(type: Type, object: Record<string, unknown>): void {
    for (const f of this.plan(type).messageFields) {
      const name = f.field.name;
      const v = object[name];
      const nested = f.message as Type;
      if (v === null) delete object[name];
      else if (f.map && isPlainObject(v)) for (const x of Object.values(v)) this.dropNulls(nested, x as Record<string, unknown>);
      else if (f.repeated && Array.isArray(v)) for (const x of v) this.dropNulls(nested, x as Record<string, unknown>);
      else if (isPlainObject(v)) this.dropNulls(nested, v);
    }
  }
}

/** 'game.ConnectServerRequest' (protobufjs full names start with a dot). */
export function typeName(type: { fullName: string }): string {
  return type.fullName.replace(/^\./, '');
}

function mapValues(object: Record<string, unknown>, f: (v: unknown, key: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) out[key] = f(object[key], key);
  return out;
}

function hint(plan: TypePlan, key: string): string {
  const camel = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  const alike = [...plan.fields.keys()].find((name) => name.toLowerCase() === camel.toLowerCase() || name.replace(/_/g, '').toLowerCase() === key.replace(/_/g, '').toLowerCase());
  if (alike) return `: did you mean '${alike}'?`;
  return ` (the fields of ${plan.name} are ${[...plan.fields.keys()].join(', ') || 'none'})`;
}

function enumValue(enumeration: Enum, v: unknown, path: string): unknown {
  if (typeof v !== 'string') return v; // numbers pass; verify checks the rest
  const n = enumeration.values[v];
  if (n === undefined) {
    throw new RpcError(`${path}: ${JSON.stringify(v)} is not a value of ${typeName(enumeration)} (${Object.keys(enumeration.values).join(', ')})`);
  }
  return n;
}

function longValue(v: unknown, unsigned: boolean, path: string): unknown {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && !Number.isSafeInteger(v)) {
      throw new RpcError(`${path}: ${v} is beyond 2^53 and has lost digits as a number: pass 64-bit integers as decimal strings`);
    }
    if (unsigned && v < 0) throw new RpcError(`${path}: ${v} is negative, but the field is unsigned`);
    return v;
  }
  if (typeof v !== 'string' && typeof v !== 'bigint') return v; // verify says "integer|Long expected"
  const text = String(v);
  if (!/^-?\d+$/.test(text)) throw new RpcError(`${path}: ${describe(v)} is not an integer: 64-bit integers are decimal strings such as '1700000000000'`);
  const Long = protobufjs().util.Long as unknown as { fromString(text: string, unsigned?: boolean): LongValue };
  const long = Long.fromString(text, unsigned);
  if (long.toString() !== text.replace(/^(-?)0+(?=\d)/, '$1').replace(/^-0$/, '0')) {
    throw new RpcError(`${path}: ${text} does not fit a${unsigned ? 'n unsigned' : ' signed'} 64-bit integer`);
  }
  return long;
}
