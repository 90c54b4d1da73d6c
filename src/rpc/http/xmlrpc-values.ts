/**
 * XML-RPC values, pure: JavaScript values to `<value>` text and parsed `<value>` nodes back, with the types of
 * the spec (xmlrpc.com) and the extensions Python's xmlrpc.client reads and writes:
 *
 *   XML-RPC                         JavaScript                     notes
 *   <int>, <i4> (also i1 i2 i8      number (bigint past 2^53)      numbers that are integers are written
 *     biginteger, Python reads)                                    <int> in int32 range, <i8> past it
 *   <boolean>0|1</boolean>          boolean
 *   <string>, bare <value>text      string                         XML 1.0 forbids most control characters:
 *                                                                  send those as a Buffer (base64)
 *   <double> (also <float>)         number                         'inf', '-inf', 'nan' as Python writes them
 *   <dateTime.iso8601>              Date                           written 20240102T03:04:05 (UTC, no zone,
 *                                                                  as Python); a time without zone is UTC
 *   <base64>                        Buffer (written: any Uint8Array)
 *   <struct><member><name>..        plain object                   members with undefined values are left out
 *   <array><data><value>..          array                          undefined in an array is written <nil/>
 *   <nil/> (Python's allow_none)    null (written: also undefined)
 *
 * Tag names are read without namespace prefixes (`<ex:nil/>`, `<ex:i8>`), as Python does.
 */

/** A parsed XML node as fast-xml-parser gives it with `preserveOrder`: `{ tag: children }` or `{ '#text': text }`. */
export type XmlNode = Record<string, unknown>;

/** The deepest nesting of arrays and structs read or written. */
export const MAX_VALUE_DEPTH = 64;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Thrown for a value that XML-RPC cannot carry, or a `<value>` that is not one. */
export class XmlRpcValueError extends Error {
  override name = 'XmlRpcValueError';
}

// ---- writing -------------------------------------------------------------------------------------------

/** Characters XML 1.0 does not allow, even as references, and lone surrogates. */
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Escapes text for an element; '\r' as a reference so that XML parsers (expat) do not turn it into '\n'. */
export function escapeXml(text: string): string {
  if (NOT_XML.test(text)) {
    throw new XmlRpcValueError(`a string holds a character XML 1.0 cannot carry (control character or lone surrogate): send such data as a Buffer (base64)`);
  }
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Python's form: 20240102T03:04:05, in UTC. */
export function formatDateTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new XmlRpcValueError('an invalid Date cannot be sent over XML-RPC');
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}

/** Appends `<value>...</value>` for a JavaScript value to `out`; throws XmlRpcValueError for what XML-RPC cannot carry. */
export function writeValue(value: unknown, out: string[], seen: Set<object> = new Set()): void {
  out.push('<value>');
  writeInner(value, out, seen);
  out.push('</value>');
}

function writeInner(value: unknown, out: string[], seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      out.push('<string>', escapeXml(value), '</string>');
      return;
    case 'boolean':
      out.push('<boolean>', value ? '1' : '0', '</boolean>');
      return;
    case 'number':
      if (Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) out.push('<int>', String(value === 0 ? 0 : value), '</int>');
      else if (Number.isSafeInteger(value)) out.push('<i8>', String(value), '</i8>');
      else out.push('<double>', formatDouble(value), '</double>');
      return;
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) throw new XmlRpcValueError(`the integer ${value} does not fit XML-RPC's 64-bit <i8>: send it as a string`);
      out.push(value >= INT32_MIN && value <= INT32_MAX ? '<int>' : '<i8>', String(value), value >= INT32_MIN && value <= INT32_MAX ? '</int>' : '</i8>');
      return;
    case 'undefined':
      out.push('<nil/>');
      return;
    case 'object':
      break;
    default:
      throw new XmlRpcValueError(`a ${typeof value} cannot be sent over XML-RPC: send data (numbers, strings, booleans, dates, buffers, arrays, objects)`);
  }
  if (value === null) {
    out.push('<nil/>');
    return;
  }
  if (value instanceof Date) {
    out.push('<dateTime.iso8601>', formatDateTime(value), '</dateTime.iso8601>');
    return;
  }
  if (value instanceof Uint8Array) {
    out.push('<base64>', Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'), '</base64>');
    return;
  }
  if (seen.has(value)) throw new XmlRpcValueError('a circular structure cannot be sent over XML-RPC');
  if (seen.size >= MAX_VALUE_DEPTH) throw new XmlRpcValueError(`arrays and structs nest deeper than ${MAX_VALUE_DEPTH} levels`);
  seen.add(value);
  if (Array.isArray(value)) {
    out.push('<array><data>');
    for (const item of value) writeValue(item, out, seen);
    out.push('</data></array>');
  } else {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      seen.delete(value);
      writeInner(toJSON.call(value), out, seen);
      return;
    }
    const entries = value instanceof Map ? [...(value as Map<unknown, unknown>).entries()] : Object.entries(value);
    out.push('<struct>');
    for (const [k, v] of entries) {
      if (typeof k !== 'string') throw new XmlRpcValueError('struct member names must be strings');
      if (v === undefined) continue;
      out.push('<member><name>', escapeXml(k), '</name>');
      writeValue(v, out, seen);
      out.push('</member>');
    }
    out.push('</struct>');
  }
  seen.delete(value);
}

// ---- reading -------------------------------------------------------------------------------------------

const TEXT = '#text';

/** The one tag name of a node, or '#text'. */
export function tagOf(node: XmlNode): string {
  for (const k of Object.keys(node)) if (k !== ':@') return k;
  return '';
}

/** A node's child nodes (empty for text). */
export function childrenOf(node: XmlNode): XmlNode[] {
  const c = node[tagOf(node)];
  return Array.isArray(c) ? (c as XmlNode[]) : [];
}

/** The element children; text between them must be whitespace. */
export function elementsOf(nodes: XmlNode[], where: string): XmlNode[] {
  const out: XmlNode[] = [];
  for (const n of nodes) {
    if (tagOf(n) === TEXT) {
      if (String(n[TEXT]).trim() !== '') throw new XmlRpcValueError(`unexpected text in <${where}>`);
    } else out.push(n);
  }
  return out;
}

/** The text content of an element that must hold only text. */
export function textOf(nodes: XmlNode[], where: string): string {
  let text = '';
  for (const n of nodes) {
    if (tagOf(n) !== TEXT) throw new XmlRpcValueError(`<${where}> must hold text, not <${tagOf(n)}>`);
    text += String(n[TEXT]);
  }
  return text;
}

/** The single element child named `tag`. */
export function onlyChild(nodes: XmlNode[], where: string, tag: string): XmlNode {
  const els = elementsOf(nodes, where);
  if (els.length !== 1 || tagOf(els[0] as XmlNode) !== tag) throw new XmlRpcValueError(`<${where}> must hold exactly one <${tag}>`);
  return els[0] as XmlNode;
}

function readInt(text: string): number | bigint {
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new XmlRpcValueError(`'${t.slice(0, 40)}' is not an integer`);
  if (t.length > 40) throw new XmlRpcValueError(`an integer of ${t.length} digits is past what XML-RPC carries (64 bits)`);
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

function readDouble(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'inf' || t === '+inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan') return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) throw new XmlRpcValueError(`'${t.slice(0, 40)}' is not a double`);
  return Number(t);
}

/** 20240102T03:04:05, 2024-01-02T03:04:05, with optional fraction and zone (none = UTC). */
export function parseDateTime(text: string): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) throw new XmlRpcValueError(`'${text.trim().slice(0, 40)}' is not an ISO 8601 date-time (expected e.g. 20240102T03:04:05)`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const frac = m[7];
  const zone = m[8];
  // setUTCFullYear: Date.UTC reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  if (mo < 1 || mo > 12 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw new XmlRpcValueError(`'${text.trim()}' is not a valid date-time`);
  let t = date.setUTCHours(h, mi, s, frac ? Math.round(Number(`0${frac}`) * 1000) : 0);
  if (zone && zone !== 'Z') {
    const z = zone.replace(':', '');
    t -= (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5))) * (z[0] === '-' ? -1 : 1) * 60_000;
  }
  return new Date(t);
}

function readBase64(text: string): Buffer {
  const t = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) throw new XmlRpcValueError('<base64> holds characters that are not base64');
  return Buffer.from(t, 'base64');
}

/** The JavaScript value of a `<value>` node's children. */
export function readValue(nodes: XmlNode[], depth = 0): unknown {
  if (depth > MAX_VALUE_DEPTH) throw new XmlRpcValueError(`arrays and structs nest deeper than ${MAX_VALUE_DEPTH} levels`);
  if (nodes.every((n) => tagOf(n) === TEXT)) return textOf(nodes, 'value'); // <value>text</value> is a string
  const els = elementsOf(nodes, 'value');
  if (els.length > 1) throw new XmlRpcValueError('<value> must hold one typed element');
  const el = els[0] as XmlNode;
  const tag = tagOf(el);
  const kids = childrenOf(el);
  switch (tag) {
    case 'int': case 'i4': case 'i8': case 'i1': case 'i2': case 'biginteger':
      return readInt(textOf(kids, tag));
    case 'boolean': {
      const t = textOf(kids, tag).trim();
      if (t !== '0' && t !== '1') throw new XmlRpcValueError(`<boolean> must be 0 or 1, not '${t.slice(0, 20)}'`);
      return t === '1';
    }
    case 'string':
      return textOf(kids, tag);
    case 'double': case 'float': case 'bigdecimal':
      return readDouble(textOf(kids, tag));
    case 'dateTime.iso8601':
      return parseDateTime(textOf(kids, tag));
    case 'base64':
      return readBase64(textOf(kids, tag));
    case 'nil':
      if (elementsOf(kids, tag).length || textOf(kids, tag).trim()) throw new XmlRpcValueError('<nil/> must be empty');
      return null;
    case 'array': {
      const data = onlyChild(kids, 'array', 'data');
      return elementsOf(childrenOf(data), 'data').map((v) => {
        if (tagOf(v) !== 'value') throw new XmlRpcValueError(`<data> holds <${tagOf(v)}>, expected <value>`);
        return readValue(childrenOf(v), depth + 1);
      });
    }
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const member of elementsOf(kids, 'struct')) {
        if (tagOf(member) !== 'member') throw new XmlRpcValueError(`<struct> holds <${tagOf(member)}>, expected <member>`);
        const parts = elementsOf(childrenOf(member), 'member');
        const name = parts.find((p) => tagOf(p) === 'name');
        const value = parts.find((p) => tagOf(p) === 'value');
        if (parts.length !== 2 || !name || !value) throw new XmlRpcValueError('<member> must hold one <name> and one <value>');
        // defineProperty: a member named __proto__ is data, never the object's prototype.
        Object.defineProperty(out, textOf(childrenOf(name), 'name'), { value: readValue(childrenOf(value), depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    default:
      throw new XmlRpcValueError(`<${tag}> is no XML-RPC type`);
  }
}
