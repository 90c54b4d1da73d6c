// The XML-RPC codec (pure): every type both ways, Python's own output (golden captures), what is refused when
// written, hostile and malformed XML refused with the right fault code, and the gateway's XML-RPC front end.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readMethodCall, readMethodResponse, writeFault, writeMethodCall, writeMethodResponse } from '../../../src/rpc/http/xmlrpc.js';
import { parseDateTime, XmlRpcValueError } from '../../../src/rpc/http/xmlrpc-values.js';
import { createInvoker } from '../../../src/rpc/http/methods.js';
import { serveXmlRpc } from '../../../src/rpc/http/serve.js';
import { fromXmlRpcFault, toXmlRpcFault } from '../../../src/rpc/http/faults.js';
import type { RpcHandler } from '../../../src/rpc/types.js';

const golden = (name: string): string => readFileSync(new URL(`../../fixtures/http-rpc/${name}`, import.meta.url), 'utf8');

/** Writes a value as a call's one parameter and reads it back. */
function roundTrip(value: unknown): unknown {
  const read = readMethodCall(writeMethodCall('echo', [value]));
  if (!read.ok) throw new Error(read.message);
  return read.params[0];
}

const call = (inner: string): string => `<?xml version="1.0"?><methodCall><methodName>m</methodName><params><param><value>${inner}</value></param></params></methodCall>`;
function readOne(inner: string): unknown {
  const read = readMethodCall(call(inner));
  if (!read.ok) throw new Error(`${read.code} ${read.message}`);
  return read.params[0];
}
function codeOf(text: string): number | undefined {
  const read = readMethodCall(text);
  return read.ok ? undefined : read.code;
}

describe('XML-RPC values', () => {
  it('round-trips every type', () => {
    const date = new Date(Date.UTC(2024, 1, 29, 23, 59, 58));
    const value = {
      int: 42, min: -(2 ** 31), max: 2 ** 31 - 1, past32: 2 ** 40, past53: 2n ** 60n, negative: -7,
      double: 1.5, tiny: 5e-324, big: 1e300, inf: Infinity, minusInf: -Infinity,
      yes: true, no: false,
      text: 'h\u00e9llo <w> & "q" \u{1F600}\ttab\r\nline', empty: '',
      date, bytes: Buffer.from([0, 1, 2, 255]), none: null,
      list: [1, 'a', true, null, [], {}], nested: { a: { b: [{ c: 'd' }] } },
    };
    expect(roundTrip(value)).toEqual(value);
    expect(Number.isNaN(roundTrip(NaN))).toBe(true);
    expect(roundTrip(new Uint8Array([9, 8]))).toEqual(Buffer.from([9, 8]));
    expect(roundTrip([undefined])).toEqual([null]);
    expect(roundTrip({ a: 1, gone: undefined })).toEqual({ a: 1 });
    expect(roundTrip(new Map([['k', 1]]))).toEqual({ k: 1 });
    expect(roundTrip({ toJSON: () => 'custom' })).toBe('custom');
  });

  it('writes integers as <int> in int32 range and <i8> past it, and keeps \\r as a reference', () => {
    expect(writeMethodCall('m', [1, 2 ** 31, 1.25, 'a\rb'])).toContain('<int>1</int>');
    expect(writeMethodCall('m', [2 ** 31])).toContain('<i8>2147483648</i8>');
    expect(writeMethodCall('m', [1.25])).toContain('<double>1.25</double>');
    expect(writeMethodCall('m', ['a\rb'])).toContain('a&#13;b');
    expect(writeMethodCall('m', [new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))])).toContain('<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>');
  });

  it("keeps a struct member named __proto__ as data, never as the object's prototype", () => {
    const read = readOne('<struct><member><name>__proto__</name><value><struct><member><name>polluted</name><value>yes</value></member></struct></value></member></struct>') as Record<string, unknown>;
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(read)).toEqual(['__proto__']);
  });

  it('reads the spellings other peers use', () => {
    expect(readOne('  bare text ')).toBe('  bare text ');
    expect(readOne('')).toBe('');
    expect(readOne('<string/>')).toBe('');
    expect(readOne('<i4>-5</i4>')).toBe(-5);
    expect(readOne('<i8>9007199254740993</i8>')).toBe(9007199254740993n);
    expect(readOne('<ex:i8 xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">7</ex:i8>')).toBe(7);
    expect(readOne('<ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/>')).toBeNull();
    expect(readOne('<float>2.5</float>')).toBe(2.5);
    expect(readOne('<double>1e-07</double>')).toBe(1e-7);
    expect(readOne('<boolean> 1 </boolean>')).toBe(true);
    expect(readOne('<base64>\nAAEC\n/w==\n</base64>')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(readOne('<string>&#x41;&#66;&quot;&apos;</string>')).toBe('AB"\'');
    expect(readOne('<string><![CDATA[a<b]]></string>')).toBe('a<b');
    const noParams = readMethodCall('<methodCall><methodName> system.listMethods </methodName></methodCall>');
    expect(noParams).toEqual({ ok: true, method: 'system.listMethods', params: [] });
  });

  it('reads ISO 8601 date-times with and without separators, fractions and zones (none = UTC)', () => {
    expect(parseDateTime('20240102T03:04:05').toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expect(parseDateTime('2024-01-02T03:04:05').toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expect(parseDateTime('20240102T030405Z').toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expect(parseDateTime('2024-01-02T03:04:05.5+02:00').toISOString()).toBe('2024-01-02T01:04:05.500Z');
    expect(parseDateTime('00010101T00:00:00').getUTCFullYear()).toBe(1);
    expect(() => parseDateTime('20240230T00:00:00')).toThrow(/not a valid date/);
    expect(() => parseDateTime('yesterday')).toThrow(/ISO 8601/);
  });

  it("reads Python's xmlrpc.client output (golden capture)", () => {
    const read = readMethodCall(golden('python-methodcall.xml'));
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.method).toBe('math.check');
    const [i, max, min, t, f, s, empty, d, inf, nan, date, bin, none, struct, list] = read.params;
    expect([i, max, min, t, f, s, empty, d, inf]).toEqual([42, 2 ** 31 - 1, -(2 ** 31), true, false, 'h\u00e9llo <w> & "q" \u{1F600}', '', 1.5, Infinity]);
    expect(Number.isNaN(nan)).toBe(true);
    expect(date).toEqual(new Date(Date.UTC(2024, 1, 29, 23, 59, 58)));
    expect(bin).toEqual(Buffer.from(Array.from({ length: 256 }, (_, k) => k)));
    expect(none).toBeNull();
    expect(struct).toEqual({ a: 1, nested: { b: [1, 'two', 3.5] }, ['__proto__']: 'data' });
    expect(list).toEqual([1, 'a', true, null, [], {}]);
    expect(readMethodResponse(golden('python-fault.xml'))).toEqual({ ok: true, fault: true, faultCode: 1, faultString: "<class 'ValueError'>:bad value" });
    expect(readMethodResponse(golden('python-multicall-response.xml'))).toEqual({
      ok: true, fault: false, value: [[5], { faultCode: 1, faultString: "<class 'ValueError'>:bad value" }, ['x']],
    });
  });

  it('refuses to write what XML-RPC cannot carry, saying what to do', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    let deep: unknown = 1;
    for (let k = 0; k < 100; k++) deep = [deep];
    for (const [bad, why] of [
      [() => 1, /function cannot be sent/],
      [Symbol('s'), /symbol cannot be sent/],
      [circular, /circular/],
      [deep, /nest deeper/],
      [2n ** 64n, /64-bit/],
      [new Date(NaN), /invalid Date/],
      ['nul\u0000', /Buffer \(base64\)/],
      ['\uD800 lone', /lone surrogate/],
      [new Map([[1, 'x']]), /names must be strings/],
    ] as const) {
      expect(() => writeMethodCall('m', [bad]), String(why)).toThrow(XmlRpcValueError);
      expect(() => writeMethodResponse(bad)).toThrow(why);
    }
  });

  it('writes faults that survive any text', () => {
    const text = writeFault({ faultCode: 4, faultString: 'bad \u0000 <thing>' });
    expect(readMethodResponse(text)).toEqual({ ok: true, fault: true, faultCode: 4, faultString: 'bad \uFFFD <thing>' });
  });
});

describe('hostile and malformed XML', () => {
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
    <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><methodCall><methodName>&lol3;</methodName></methodCall>`;

  it('refuses DTDs (billion laughs, external entities), unknown entities and bad references as parse errors (-32700)', () => {
    expect(codeOf(laughs)).toBe(-32700);
    expect(codeOf('<?xml version="1.0"?><!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>&xxe;</methodName></methodCall>')).toBe(-32700);
    expect(codeOf('<!DOCTYPE methodCall><methodCall><methodName>m</methodName></methodCall>')).toBe(-32700);
    expect(codeOf(call('<string>&nbsp;</string>'))).toBe(-32700);
    expect(codeOf(call('<string>&#0;</string>'))).toBe(-32700);
    expect(codeOf(call('<string>&#x110000;</string>'))).toBe(-32700);
    expect((readMethodCall(laughs) as { message: string }).message).toMatch(/DOCTYPE/);
  });

  it('refuses nesting past the cap without walking it all', () => {
    const depth = 100_000;
    const deep = call(`${'<array><data><value>'.repeat(depth)}1${'</value></data></array>'.repeat(depth)}`);
    const read = readMethodCall(deep);
    expect(read).toMatchObject({ ok: false, code: -32700, message: expect.stringMatching(/nested/i) });
  });

  it('answers text that is not XML, or broken XML, with -32700', () => {
    for (const bad of ['', 'garbage', '{"jsonrpc": "2.0"}', '<methodCall><methodName>m</methodName>', '<methodCall><methodName>m</params></methodCall>',
      '<methodCall/><methodCall/>', 'text<methodCall><methodName>m</methodName></methodCall>', '<methodCall><methodName>a & b</methodName></methodCall>']) {
      expect(codeOf(bad), bad).toBe(-32700);
    }
  });

  it('answers well-formed XML that is no valid call with -32600', () => {
    for (const bad of [
      '<methodResponse><params/></methodResponse>',
      '<methodCall><params/></methodCall>',
      '<methodCall><methodName></methodName></methodCall>',
      '<methodCall><methodName>m</methodName><params><value><int>1</int></value></params></methodCall>',
      call('<int>abc</int>'), call('<int>1.5</int>'), call(`<i8>${'9'.repeat(10_000)}</i8>`), call('<boolean>yes</boolean>'), call('<double>one</double>'),
      call('<base64>!!!</base64>'), call('<dateTime.iso8601>soon</dateTime.iso8601>'), call('<nil>x</nil>'),
      call('<struct><member><value>1</value></member></struct>'), call('<struct><value>1</value></struct>'),
      call('<array><value>1</value></array>'), call('<array><data><int>1</int></data></array>'),
      call('<int>1</int><int>2</int>'), call('<object>1</object>'), call('<string><b>x</b></string>'),
    ]) {
      expect(codeOf(bad), bad).toBe(-32600);
    }
  });

  it('reads a methodResponse strictly', () => {
    expect(readMethodResponse('<methodResponse><params><param><value>1</value></param><param><value>2</value></param></params></methodResponse>')).toMatchObject({ ok: false, code: -32600 });
    expect(readMethodResponse('<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member></struct></value></fault></methodResponse>')).toMatchObject({ ok: false, code: -32600 });
    expect(readMethodResponse('<html>oops</html>')).toMatchObject({ ok: false, code: -32600 });
    expect(readMethodResponse('<methodResponse><params><param><value><nil/></value></param></params></methodResponse>')).toEqual({ ok: true, fault: false, value: null });
  });
});

describe('XML-RPC faults', () => {
  it("writes remote errors as Python's SimpleXMLRPCServer does, and reads any server's back", () => {
    expect(toXmlRpcFault({ type: 'ValueError', message: 'bad', module: 'builtins' })).toEqual({ faultCode: 1, faultString: "<class 'ValueError'>:bad" });
    expect(toXmlRpcFault({ type: 'MyError', message: 'x', module: 'app.errors' })).toEqual({ faultCode: 1, faultString: "<class 'app.errors.MyError'>:x" });
    expect(toXmlRpcFault({ type: 'NoSuchMethod', message: 'x', module: 'oslo_messaging.rpc.dispatcher' }).faultCode).toBe(-32601);
    expect(toXmlRpcFault({ type: 'InvalidParams', message: 'x' }).faultCode).toBe(-32602);
    expect(toXmlRpcFault({ type: 'InternalError', message: 'x' }).faultCode).toBe(-32603);

    expect(fromXmlRpcFault({ faultCode: 1, faultString: "<class 'ValueError'>:bad value" })).toMatchObject({ type: 'ValueError', module: 'builtins', message: 'bad value', data: { code: 1 } });
    expect(fromXmlRpcFault({ faultCode: 1, faultString: "<class 'app.errors.MyError'>:multi\nline" })).toMatchObject({ type: 'MyError', module: 'app.errors', message: 'multi\nline' });
    expect(fromXmlRpcFault({ faultCode: 1, faultString: `<class 'Exception'>:method "nope" is not supported` })).toMatchObject({ type: 'NoSuchMethod', message: 'method "nope" is not supported' });
    expect(fromXmlRpcFault({ faultCode: -32601, faultString: 'no such method' })).toMatchObject({ type: 'NoSuchMethod' });
    expect(fromXmlRpcFault({ faultCode: 42, faultString: 'custom fault' })).toEqual({
      type: 'Fault', module: 'xmlrpc.client', message: 'custom fault', stack: null, data: { code: 42, faultString: 'custom fault' },
    });
    expect(fromXmlRpcFault({ faultCode: -32700, faultString: 'parse error: ...' })).toMatchObject({ type: 'ParseError', module: null });
  });
});

describe('the gateway as XML-RPC (serveXmlRpc)', () => {
  const handler: RpcHandler = async (req) => {
    const a = req.args as unknown[];
    if (req.method === 'celeriac.describe') return { ok: true, result: [{ name: 'add', doc: 'Adds.' }, { name: 'sub', namespace: 'math', version: '2.1' }] };
    if (req.method === 'add') return { ok: true, result: (a[0] as number) + (a[1] as number) };
    if (req.method === 'sub') return { ok: true, result: { ns: req.namespace, version: req.version, value: (a[0] as number) - (a[1] as number) } };
    if (req.method === 'big') return { ok: true, result: 2n ** 70n };
    if (req.method === 'fail') return { ok: false, error: { type: 'ValueError', message: 'bad', module: 'builtins' } };
    if (req.method === 'explode') throw new Error('boom');
    return { ok: false, error: { type: 'NoSuchMethod', message: `no ${req.method}`, module: 'oslo_messaging.rpc.dispatcher' } };
  };
  const invoke = createInvoker({ handler }, 'xmlrpc');
  const serve = async (method: string, params: unknown[]): Promise<unknown> => {
    const read = readMethodResponse(await serveXmlRpc(writeMethodCall(method, params), invoke, { maxBatch: 3, stacks: true, background: () => {} }));
    if (!read.ok) throw new Error(read.message);
    return read.fault ? { faultCode: read.faultCode, faultString: read.faultString } : read.value;
  };

  it('calls, faults and introspects', async () => {
    expect(await serve('add', [2, 40])).toBe(42);
    expect(await serve('math.sub', [5, 3])).toEqual({ ns: 'math', version: '2.1', value: 2 });
    expect(await serve('fail', [])).toEqual({ faultCode: 1, faultString: "<class 'ValueError'>:bad" });
    expect(await serve('nope', [])).toMatchObject({ faultCode: -32601 });
    expect(await serve('explode', [])).toMatchObject({ faultCode: -32603, faultString: expect.stringContaining('boom') });
    expect(await serve('big', [])).toMatchObject({ faultCode: -32603, faultString: expect.stringContaining('cannot be sent as XML-RPC') });
    expect(await serve('system.listMethods', [])).toEqual(['add', 'math.sub', 'system.listMethods', 'system.methodHelp', 'system.methodSignature', 'system.multicall']);
    expect(await serve('system.methodHelp', ['add'])).toBe('Adds.');
    expect(await serve('system.methodHelp', ['math.sub'])).toBe('');
    expect(await serve('system.methodHelp', [])).toMatchObject({ faultCode: -32602 });
    expect(await serve('system.methodSignature', ['add'])).toBe('signatures not supported');
  });

  it("runs system.multicall as Python does: [result] or a fault struct per call, in order", async () => {
    const calls = [
      { methodName: 'add', params: [2, 3] },
      { methodName: 'fail', params: [] },
      { methodName: 'system.multicall', params: [[]] },
    ];
    expect(await serve('system.multicall', [calls])).toEqual([
      [5],
      { faultCode: 1, faultString: "<class 'ValueError'>:bad" },
      { faultCode: -32602, faultString: expect.stringContaining('cannot be nested') },
    ]);
    expect(await serve('system.multicall', [[{ methodName: 'add' }]])).toEqual([{ faultCode: -32602, faultString: expect.stringContaining('{methodName: string, params: array}') }]);
    expect(await serve('system.multicall', [[1, 2, 3, 4]])).toMatchObject({ faultCode: -32602, faultString: expect.stringContaining('at most 3') });
    expect(await serve('system.multicall', ['x'])).toMatchObject({ faultCode: -32602 });
  });

  it('answers unreadable bodies with a fault, never by throwing', async () => {
    for (const body of ['', '<x', '<!DOCTYPE x><x/>', '<methodResponse/>']) {
      const read = readMethodResponse(await serveXmlRpc(body, invoke, { maxBatch: 3, stacks: true, background: () => {} }));
      expect(read).toMatchObject({ ok: true, fault: true, faultCode: expect.any(Number) });
    }
  });
});
