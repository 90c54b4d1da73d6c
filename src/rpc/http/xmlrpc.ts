/**
 * XML-RPC messages (xmlrpc.com, as Python's xmlrpc.client and xmlrpc.server speak it), pure: building calls,
 * responses and faults, and reading them with fast-xml-parser configured to refuse hostile XML cheaply.
 *
 *   call:      <?xml version="1.0"?>
 *              <methodCall><methodName>add</methodName>
 *                <params><param><value><int>2</int></value></param>...</params></methodCall>
 *   response:  <methodResponse><params><param><value>...</value></param></params></methodResponse>
 *   fault:     <methodResponse><fault><value><struct>
 *                <member><name>faultCode</name><value><int>1</int></value></member>
 *                <member><name>faultString</name><value><string>...</string></value></member>
 *              </struct></value></fault></methodResponse>
 *
 * Values: see xmlrpc-values.ts. Refused before any parsing: a DOCTYPE or ENTITY declaration (no entity
 * expansion, no external entities: billion laughs and XXE never start). Only the five XML entities and
 * character references are decoded; any other entity is an error. Nesting is capped (`maxNestedTags`);
 * the body size is capped by the HTTP layer before the text reaches here.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { childrenOf, elementsOf, escapeXml, MAX_VALUE_DEPTH, onlyChild, readValue, tagOf, textOf, writeValue, XmlRpcValueError, type XmlNode } from './xmlrpc-values.js';
import { INVALID_REQUEST, PARSE_ERROR, type XmlRpcFault } from './faults.js';

export { XmlRpcValueError } from './xmlrpc-values.js';

/** A failure to read an XML-RPC message, with the fault code to answer it with (-32700 or -32600). */
export interface XmlRpcReadError {
  ok: false;
  code: number;
  message: string;
}

export type MethodCallRead = { ok: true; method: string; params: unknown[] } | XmlRpcReadError;
export type MethodResponseRead = { ok: true; fault: false; value: unknown } | { ok: true; fault: true; faultCode: number; faultString: string } | XmlRpcReadError;

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** Decodes the five XML entities and character references; anything else is refused (no DOCTYPE entities). */
const entityDecoder = {
  setExternalEntities(): void {},
  addInputEntities(): void {
    throw new XmlRpcValueError('DOCTYPE entity declarations are not allowed');
  },
  reset(): void {},
  setXmlVersion(): void {},
  decode(text: string): string {
    if (!text.includes('&')) return text;
    return text.replace(/&([^;&\s]{0,16});?/g, (whole, name: string) => {
      if (!whole.endsWith(';')) throw new XmlRpcValueError(`a bare '&' in text: write it as &amp;`);
      const named = NAMED[name];
      if (named !== undefined) return named;
      const m = /^#(x[0-9a-fA-F]{1,6}|[0-9]{1,7})$/.exec(name);
      const code = m ? (name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)) : NaN;
      if (!m || !xmlChar(code)) throw new XmlRpcValueError(`unknown or invalid entity '${whole}': XML-RPC allows only &amp; &lt; &gt; &quot; &apos; and character references`);
      return String.fromCodePoint(code);
    });
  },
};

// Each value nests three tags per level (<value><array><data>), plus the envelope.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  entityDecoder,
  maxNestedTags: MAX_VALUE_DEPTH * 3 + 8,
  jPath: false,
});

const DECLARATIONS = /<!(DOCTYPE|ENTITY)/i;

/** Parses XML text into its one root element, refusing DTDs, unknown entities and malformed XML. */
function parseRoot(text: string, expected: string): XmlNode {
  if (DECLARATIONS.test(text)) throw new NotWellFormed('DOCTYPE and ENTITY declarations are not allowed in XML-RPC');
  let nodes: XmlNode[];
  try {
    nodes = parser.parse(text) as XmlNode[];
  } catch (err) {
    throw new NotWellFormed((err as Error).message);
  }
  // After parsing, which stops early at the nesting cap: the parser accepts mismatched end tags, the validator does not.
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new NotWellFormed(`line ${valid.err.line}: ${valid.err.msg}`);
  let roots: XmlNode[];
  try {
    roots = elementsOf(nodes, 'document');
  } catch {
    throw new NotWellFormed('text outside the root element');
  }
  if (roots.length !== 1) throw new NotWellFormed(`an XML document has one root element; found ${roots.length}`);
  const root = roots[0] as XmlNode;
  if (tagOf(root) !== expected) throw new InvalidMessage(`expected <${expected}>, found <${tagOf(root)}>`);
  return root;
}

/** Text that is not XML, or XML this parser refuses (DTDs, unknown entities, too deep): answered with -32700. */
class NotWellFormed extends Error {}

/** Well-formed XML that is not the XML-RPC message expected: answered with -32600. */
class InvalidMessage extends Error {}

function readParams(nodes: XmlNode[]): unknown[] {
  return elementsOf(nodes, 'params').map((param) => {
    if (tagOf(param) !== 'param') throw new InvalidMessage(`<params> holds <${tagOf(param)}>, expected <param>`);
    return readValue(childrenOf(onlyChild(childrenOf(param), 'param', 'value')));
  });
}

function readError(err: unknown): XmlRpcReadError {
  if (err instanceof NotWellFormed) return { ok: false, code: PARSE_ERROR, message: `parse error: not well-formed XML: ${err.message}` };
  if (err instanceof InvalidMessage || err instanceof XmlRpcValueError) return { ok: false, code: INVALID_REQUEST, message: `invalid XML-RPC message: ${err.message}` };
  throw err;
}

/** Reads a `<methodCall>`: the method name and its parameters. */
export function readMethodCall(text: string): MethodCallRead {
  try {
    const root = parseRoot(text, 'methodCall');
    const parts = elementsOf(childrenOf(root), 'methodCall');
    const name = parts.find((p) => tagOf(p) === 'methodName');
    const params = parts.find((p) => tagOf(p) === 'params');
    if (!name || parts.length > (params ? 2 : 1)) throw new InvalidMessage('<methodCall> must hold <methodName> and at most one <params>');
    const method = textOf(childrenOf(name), 'methodName').trim();
    if (!method) throw new InvalidMessage('<methodName> is empty');
    return { ok: true, method, params: params ? readParams(childrenOf(params)) : [] };
  } catch (err) {
    return readError(err);
  }
}

/** Reads a `<methodResponse>`: its one value, or its fault. */
export function readMethodResponse(text: string): MethodResponseRead {
  try {
    const root = parseRoot(text, 'methodResponse');
    const parts = elementsOf(childrenOf(root), 'methodResponse');
    const only = parts[0];
    if (parts.length !== 1 || !only) throw new InvalidMessage('<methodResponse> must hold one <params> or one <fault>');
    if (tagOf(only) === 'fault') {
      const fault = readValue(childrenOf(onlyChild(childrenOf(only), 'fault', 'value')));
      const f = fault as Partial<XmlRpcFault> | null;
      if (typeof f !== 'object' || f === null || typeof f.faultCode !== 'number' || typeof f.faultString !== 'string') {
        throw new InvalidMessage('a <fault> must be a struct of faultCode (int) and faultString (string)');
      }
      return { ok: true, fault: true, faultCode: f.faultCode, faultString: f.faultString };
    }
    if (tagOf(only) !== 'params') throw new InvalidMessage(`<methodResponse> holds <${tagOf(only)}>`);
    const values = readParams(childrenOf(only));
    if (values.length !== 1) throw new InvalidMessage(`a response carries exactly one value; found ${values.length}`);
    return { ok: true, fault: false, value: values[0] };
  } catch (err) {
    return readError(err);
  }
}

const HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A `<methodCall>`; throws XmlRpcValueError for a parameter XML-RPC cannot carry. */
export function writeMethodCall(method: string, params: readonly unknown[]): string {
  const out = [HEADER, '<methodCall><methodName>', escapeXml(method), '</methodName><params>'];
  for (const p of params) {
    out.push('<param>');
    writeValue(p, out);
    out.push('</param>');
  }
  out.push('</params></methodCall>\n');
  return out.join('');
}

/** A `<methodResponse>` with one value; throws XmlRpcValueError for a value XML-RPC cannot carry. */
export function writeMethodResponse(value: unknown): string {
  const out = [HEADER, '<methodResponse><params><param>'];
  writeValue(value, out);
  out.push('</param></params></methodResponse>\n');
  return out.join('');
}

/** A fault response. */
export function writeFault(fault: XmlRpcFault): string {
  const out = [HEADER, '<methodResponse><fault>'];
  writeValue({ faultCode: fault.faultCode, faultString: safeText(fault.faultString) }, out);
  out.push('</fault></methodResponse>\n');
  return out.join('');
}

/** Fault texts come from anywhere: drop what XML cannot carry rather than fail the fault itself. */
function safeText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
