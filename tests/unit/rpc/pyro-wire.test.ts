// Pyro4 wire codec and serializers against golden messages captured from the real Pyro4 4.82
// (tests/fixtures/python/pyro4_capture.py -> tests/fixtures/pyro/golden.json): headers, annotations, HMAC,
// json and msgpack bodies with Pyro's class dicts, a recorded proxy<->daemon conversation, and hostile headers.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameError, NoSuchMethodError, RemoteError, RpcAuthError } from '../../../src/errors.js';
import { decompressed } from '../../../src/rpc/objects/connection.js';
import { ExceptionWrapper, exceptionToDict, PythonException } from '../../../src/rpc/objects/exceptions.js';
import { bindArguments, expose, membersOf, oneway, parameterNames } from '../../../src/rpc/objects/members.js';
import { marshalString, refusalException, refusalText } from '../../../src/rpc/objects/refusal.js';
import { jsonSerializer, msgpackSerializer, type WireHooks } from '../../../src/rpc/objects/serializers.js';
import { PyroURI } from '../../../src/rpc/objects/uri.js';
import { decodeHeader, decodeMessage, encodeMessage, FLAG, MSG, type PyroMessage } from '../../../src/rpc/objects/wire.js';

interface Golden {
  name: string;
  hex: string;
  type: number;
  flags: number;
  seq: number;
  serializer_id: number;
  annotations: Record<string, string>;
  data_hex: string;
  expect?: unknown;
  hmac_key?: string;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/pyro/golden.json', import.meta.url), 'utf8')) as {
  protocol_version: number;
  messages: Golden[];
  conversation: { hmac_key: string; client_to_server_hex: string; server_to_client_hex: string; results: unknown[] };
};
const golden = (name: string): Golden => {
  const g = fixture.messages.find((m) => m.name === name);
  if (!g) throw new Error(`no golden message ${name}`);
  return g;
};
const BIG = { maxMessageSize: 1 << 20 };
const HEADER_ANN_LEN_OFFSET = 24 + 4; // the first annotation chunk's own length field
const decodeGolden = (name: string, hmacKey?: Buffer): PyroMessage => {
  const d = decodeMessage(Buffer.from(golden(name).hex, 'hex'), { ...BIG, hmacKey });
  if (!d) throw new Error('incomplete');
  if (d.authError) throw d.authError;
  return d.message;
};

describe('Pyro4 header codec (golden messages)', () => {
  it('is protocol 48 and decodes every captured header field and annotation', () => {
    expect(fixture.protocol_version).toBe(48);
    for (const g of fixture.messages) {
      const bytes = Buffer.from(g.hex, 'hex');
      const d = decodeMessage(bytes, { ...BIG, hmacKey: g.hmac_key ? Buffer.from(g.hmac_key) : undefined });
      expect(d, g.name).not.toBeNull();
      expect(d?.authError, g.name).toBeUndefined();
      expect(d?.size).toBe(bytes.length);
      const m = d?.message as PyroMessage;
      expect([m.type, m.flags, m.seq, m.serializerId], g.name).toEqual([g.type, g.flags, g.seq, g.serializer_id]);
      expect(m.data.toString('hex'), g.name).toBe(g.data_hex);
      const ann = Object.fromEntries([...m.annotations].map(([k, v]) => [k, v.toString('hex')]));
      const { HMAC: _hmac, ...rest } = g.annotations;
      expect(ann, g.name).toEqual(rest);
    }
  });

  it('encodes byte for byte what Pyro4 encodes (header, checksum, annotation chunks, HMAC)', () => {
    for (const g of fixture.messages) {
      const key = g.hmac_key ? Buffer.from(g.hmac_key) : undefined;
      const m = decodeGolden(g.name, key);
      expect(encodeMessage(m, key).toString('hex'), g.name).toBe(g.hex);
    }
  });

  it('refuses a wrong magic, another protocol version, a bad checksum, a negative size and a lying annotation size', () => {
    const good = Buffer.from(golden('invoke_json').hex, 'hex');
    expect(() => decodeMessage(Buffer.from('GET / HTTP/1.1\r\n'), BIG)).toThrow(/not a Pyro message.*GET/);
    const v = Buffer.from(good);
    v.writeUInt16BE(502, 4);
    expect(() => decodeHeader(v)).toThrow(/version 502/);
    const c = Buffer.from(good);
    c.writeUInt16BE(c.readUInt16BE(10) + 1, 10);
    expect(() => decodeHeader(c)).toThrow(FrameError);
    expect(() => decodeHeader(c)).toThrow(/checksum/);
    const neg = encodeMessage({ type: MSG.INVOKE, flags: 0, seq: 1, serializerId: 2, annotations: new Map(), data: Buffer.alloc(0) });
    neg.writeInt32BE(-5, 12);
    neg.writeUInt16BE((MSG.INVOKE + 48 - 5 + 0 + 2 + 0 + 1 + 0x34e9) & 0xffff, 22);
    expect(() => decodeHeader(neg)).toThrow(/negative data size/);
    const ann = encodeMessage({ type: MSG.INVOKE, flags: 0, seq: 1, serializerId: 2, annotations: new Map([['CORR', Buffer.alloc(16)]]), data: Buffer.from('{}') });
    ann.writeUInt16BE(30, HEADER_ANN_LEN_OFFSET); // chunk says 30 bytes, header says 22 in total
    expect(() => decodeMessage(ann, BIG)).toThrow(/annotation 'CORR' runs past/);
  });

  it('waits for more bytes, and refuses a header announcing more than maxMessageSize', () => {
    const good = Buffer.from(golden('invoke_json').hex, 'hex');
    expect(decodeMessage(good.subarray(0, 3), BIG)).toBeNull();
    expect(decodeMessage(good.subarray(0, good.length - 1), BIG)).toBeNull();
    expect(() => decodeMessage(good, { maxMessageSize: 10 })).toThrow(/larger than the 10 allowed/);
  });

  it('checks the HMAC: the right key passes, a wrong or missing key is an RpcAuthError', () => {
    const bytes = Buffer.from(golden('invoke_hmac').hex, 'hex');
    expect(decodeMessage(bytes, { ...BIG, hmacKey: Buffer.from('golden-key') })?.authError).toBeUndefined();
    expect(decodeMessage(bytes, { ...BIG, hmacKey: Buffer.from('other') })?.authError).toBeInstanceOf(RpcAuthError);
    expect(decodeMessage(bytes, BIG)?.authError?.message).toMatch(/has none/);
    const plain = Buffer.from(golden('invoke_json').hex, 'hex');
    expect(decodeMessage(plain, { ...BIG, hmacKey: Buffer.from('k') })?.authError?.message).toMatch(/without HMAC/);
  });
});

describe('Pyro4 json and msgpack bodies (golden messages)', () => {
  it('reads calls: positional, keyword, oneway, batch', () => {
    for (const name of ['invoke_json', 'invoke_json_kwargs', 'invoke_json_oneway', 'batch_invoke_json']) {
      const g = golden(name);
      const call = jsonSerializer.loadsCall(decodeGolden(name).data);
      const e = g.expect as { object: string; method: string; params: unknown[]; kwargs: Record<string, unknown> | null };
      expect({ object: call.objectId, method: call.method, params: call.params, kwargs: call.kwargs }, name).toEqual({ ...e, kwargs: e.kwargs ?? {} });
    }
    expect(decodeGolden('invoke_json_oneway').flags & FLAG.ONEWAY).toBeTruthy();
  });

  it('writes calls that read back the same (what Pyro4 json.loads would see)', () => {
    const call = { objectId: 'Pyro.NameServer', method: 'list', params: [], kwargs: { prefix: 'x.', return_metadata: true } };
    const ours = JSON.parse(jsonSerializer.dumpsCall(call).toString()) as unknown;
    expect(ours).toEqual(JSON.parse(decodeGolden('invoke_json_kwargs').data.toString()));
  });

  it('reads values: strings, sets and tuples as lists, unicode, URI, Proxy dicts through the hooks', () => {
    expect(jsonSerializer.loads(decodeGolden('result_json').data)).toBe(golden('result_json').expect);
    expect(jsonSerializer.loads(decodeGolden('result_json_values').data)).toEqual(golden('result_json_values').expect);
    const uri = jsonSerializer.loads(decodeGolden('uri_json').data);
    expect(uri).toBeInstanceOf(PyroURI);
    expect(String(uri)).toBe('PYRO:example.greeting@localhost:51234');
    const seen: Record<string, unknown>[] = [];
    const hooks: WireHooks = { decodeClass: (d) => (seen.push(d), 'a proxy') };
    expect(jsonSerializer.loads(decodeGolden('proxy_json').data, hooks)).toBe('a proxy');
    const state = seen[0]?.['state'] as unknown[];
    const e = golden('proxy_json').expect as { uri: string; methods: string[]; oneway: string[]; attrs: string[] };
    expect(state[0]).toBe(e.uri);
    expect([...(state[2] as string[])].sort()).toEqual(e.methods);
    expect(state[1]).toEqual(e.oneway);
    expect(state[3]).toEqual(e.attrs);
  });

  it('rebuilds Python exceptions typed, with the remote traceback apart from the local stack', () => {
    const err = jsonSerializer.loads(decodeGolden('exception_json').data) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect([err.remoteType, err.remoteModule, err.message]).toEqual(['ValueError', 'builtins', 'ValueError: boom']);
    expect(err.remoteStack).toContain('File "server.py", line 9, in fail');
    expect(err.stack).not.toContain('server.py');
    expect(String(err)).toMatch(/--- remote stack \(builtins\) ---\nTraceback/);
    const pyro = jsonSerializer.loads(decodeGolden('exception_pyro_json').data) as RemoteError;
    expect([pyro.remoteType, pyro.remoteModule]).toEqual(['DaemonError', 'Pyro4.errors']);
  });

  it('reads a batch result with an _ExceptionWrapper, and a stream result with its STRM id', () => {
    const [first, wrapped] = jsonSerializer.loads(decodeGolden('batch_result_json').data) as [number, ExceptionWrapper];
    expect(first).toBe(3);
    expect(wrapped).toBeInstanceOf(ExceptionWrapper);
    expect((wrapped.exception as RemoteError).remoteType).toBe('ZeroDivisionError');
    const s = decodeGolden('stream_result_json');
    expect(s.flags).toBe(FLAG.EXCEPTION | FLAG.ITEMSTREAMRESULT);
    expect(s.annotations.get('STRM')?.toString()).toBe((golden('stream_result_json').expect as { stream: string }).stream);
  });

  it('reads msgpack calls and values (bin as bytes, 2**40 as a number)', () => {
    const call = msgpackSerializer.loadsCall(decodeGolden('invoke_msgpack').data);
    const arg = call.params[0] as { a: number[]; b: Uint8Array };
    expect([call.objectId, call.method, arg.a, Buffer.from(arg.b).toString('hex'), call.kwargs]).toEqual(['example.greeting', 'echo', [1, 2], '0001', { k: 'v' }]);
    expect(msgpackSerializer.loads(decodeGolden('result_msgpack').data)).toEqual(golden('result_msgpack').expect);
    const back = msgpackSerializer.loadsCall(msgpackSerializer.dumpsCall({ objectId: 'o', method: 'm', params: [new Set([1]), new Date(0), undefined], kwargs: {} }));
    expect(back.params).toEqual([[1], '1970-01-01T00:00:00.000Z', null]);
  });

  it('inflates compressed data; reads the marshal reason of a Pyro4 connectfail', () => {
    const m = decodeGolden('result_compressed');
    expect(m.flags & FLAG.COMPRESSED).toBeTruthy();
    expect(jsonSerializer.loads(decompressed(m, 1 << 20))).toBe(golden('result_compressed').expect);
    expect(marshalString(decodeGolden('connectfail_marshal').data)).toBe('hmac key config not symmetric');
  });

  it('writes values as Pyro4 reads them: exceptions, URIs, sets, bytes; Python NaN is read', () => {
    const v = JSON.parse(jsonSerializer.dumps({ e: new TypeError('bad'), u: new PyroURI('PYRO:x@h:1'), s: new Set(['a']), b: Buffer.from([1]) }).toString()) as Record<string, Record<string, unknown>>;
    expect(v['e']).toMatchObject({ __class__: 'builtins.TypeError', __exception__: true, args: ['bad'] });
    expect(v['u']).toEqual({ __class__: 'Pyro4.core.URI', state: ['PYRO', 'x', null, 'h', 1] });
    expect(v['s']).toEqual(['a']);
    expect(v['b']).toEqual({ data: 'AQ==', encoding: 'base64' });
    expect(jsonSerializer.loads(Buffer.from('{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN"}'))).toEqual({ a: NaN, b: [Infinity, -Infinity], c: 'NaN' });
    expect(() => jsonSerializer.loadsCall(Buffer.from('{"object": 1}'))).toThrow(FrameError);
    expect(() => jsonSerializer.loads(Buffer.from('{nope'))).toThrow(/invalid json/);
  });

  it('maps errors: JS built-ins to Python built-ins, application classes to Exception keeping their name', () => {
    class InsufficientFunds extends Error {
      override name = 'InsufficientFunds';
    }
    expect(exceptionToDict(new RangeError('r'))).toMatchObject({ __class__: 'builtins.ValueError', attributes: { celeriac_type: 'javascript.RangeError' } });
    expect(exceptionToDict(new InsufficientFunds('x'))).toMatchObject({ __class__: 'builtins.Exception', attributes: { celeriac_type: 'celeriac.app.InsufficientFunds' } });
    expect(exceptionToDict(new PythonException('Pyro4.errors.DaemonError', 'unknown object')).__class__).toBe('Pyro4.errors.DaemonError');
    const back = jsonSerializer.loads(jsonSerializer.dumps(new InsufficientFunds('x'))) as RemoteError;
    expect([back.remoteType, back.remoteModule]).toEqual(['InsufficientFunds', 'celeriac.app']);
    const refused = jsonSerializer.loads(jsonSerializer.dumps(new PythonException('builtins.AttributeError', "attempt to access unexposed attribute 'x'")));
    expect(refused).toBeInstanceOf(NoSuchMethodError);
  });

  it('writes refusals in the refused serializer without reading it (serpent, marshal, pickle)', () => {
    expect(refusalText(1, "it's refused\n")?.toString()).toBe("# serpent utf-8 python3.2\n'it\\'s refused\\n'");
    expect(marshalString(refusalText(3, 'nope') as Buffer)).toBe('nope');
    expect((refusalText(4, 'no') as Buffer).toString('hex')).toBe('800258020000006e6f2e');
    expect(refusalException(1, 'x')?.toString()).toContain("'__class__': 'Pyro4.errors.SerializeError'");
    expect(refusalText(99, 'x')).toBeNull();
    expect(decodeGolden('invoke_serpent').serializerId).toBe(1);
  });
});

describe('a recorded Pyro4 proxy <-> daemon conversation (HMAC key golden-key)', () => {
  const split = (hex: string, key?: Buffer): PyroMessage[] => {
    const buf = Buffer.from(hex, 'hex');
    const out: PyroMessage[] = [];
    for (let at = 0; at < buf.length; ) {
      const d = decodeMessage(buf, { ...BIG, hmacKey: key }, at);
      if (!d) throw new Error('truncated conversation');
      if (d.authError) throw d.authError;
      out.push(d.message);
      at += d.size;
    }
    return out;
  };
  const key = Buffer.from(fixture.conversation.hmac_key);

  it('splits into messages whose types, sequence numbers and bodies follow Pyro4 4.82', () => {
    const sent = split(fixture.conversation.client_to_server_hex, key);
    const got = split(fixture.conversation.server_to_client_hex, key);
    expect(sent.map((m) => m.type)).toEqual([MSG.CONNECT, ...Array<number>(sent.length - 1).fill(MSG.INVOKE)]);
    expect(got.map((m) => m.type)).toEqual([MSG.CONNECTOK, ...Array<number>(got.length - 1).fill(MSG.RESULT)]);
    expect(sent[0]?.flags).toBe(FLAG.META_ON_CONNECT);
    const hello = jsonSerializer.loads(got[0]?.data as Buffer) as { handshake: string; meta: { methods: string[]; oneway: string[]; attrs: string[] } };
    expect(hello.handshake).toBe('hello');
    expect(hello.meta.oneway).toEqual(['poke']);
    expect(hello.meta.attrs).toEqual(['size']);
    expect([...hello.meta.methods].sort()).toEqual(['get_fortune', 'numbers', 'poke']);
    const calls = sent.slice(1).map((m) => ({ ...jsonSerializer.loadsCall(m.data), flags: m.flags, seq: m.seq }));
    expect(calls.map((c) => [c.objectId, c.method])).toEqual([
      ['example.greeting', 'get_fortune'],
      ['example.greeting', '__getattr__'],
      ['example.greeting', 'numbers'],
      ['Pyro.Daemon', 'get_next_stream_item'],
      ['Pyro.Daemon', 'get_next_stream_item'],
      ['Pyro.Daemon', 'get_next_stream_item'],
      ['example.greeting', 'poke'],
      ['example.greeting', '<batch>'],
    ]);
    expect(calls.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(calls[6]?.flags).toBe(FLAG.ONEWAY);
    expect(calls[7]?.flags).toBe(FLAG.BATCH);
    expect(got.slice(1).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 8]);
    expect(got[3]?.flags).toBe(FLAG.EXCEPTION | FLAG.ITEMSTREAMRESULT);
    expect(got[3]?.annotations.get('STRM')?.toString()).toBe(calls[3]?.params[0]);
    const end = jsonSerializer.loads(got[6]?.data as Buffer) as RemoteError;
    expect(end.remoteType).toBe('StopIteration');
    // Pyro4 puts its correlation id on normal replies; its exception replies carry only their own annotations.
    for (const m of got) expect(m.annotations.get('CORR')?.length).toBe(m.flags & FLAG.EXCEPTION ? undefined : 16);
    expect(jsonSerializer.loads(got[7]?.data as Buffer)).toEqual(fixture.conversation.results[3]);
  });

  it('is refused whole with another key', () => {
    expect(() => split(fixture.conversation.client_to_server_hex, Buffer.from('wrong'))).toThrow(RpcAuthError);
  });
});

describe('exposed members (decorators)', () => {
  @expose
  class Shop {
    private secret = 1;
    price(item: string, qty = 1, { discount } = { discount: 0 }): number {
      return qty * item.length - discount;
    }
    @oneway
    restock(): void {}
    get open(): boolean {
      return this.secret > 0;
    }
    _hidden(): void {}
  }
  class Partial {
    @expose visible(a: number, b: number): number {
      return a + b;
    }
    hidden(): void {}
    @expose get size(): number {
      return 1;
    }
    @expose accessor level = 3;
  }

  it('lists exposed methods, oneway methods and properties as Pyro4 metadata; never _names or fields', () => {
    expect(membersOf(new Shop()).meta).toEqual({ methods: ['price', 'restock'], oneway: ['restock'], attrs: ['open'] });
    expect(membersOf(Partial).meta).toEqual({ methods: ['visible'], oneway: [], attrs: ['level', 'size'] });
    const level = membersOf(Partial).attrs.get('level');
    const obj = new Partial();
    level?.set?.call(obj, 9);
    expect(level?.get?.call(obj)).toBe(9);
    expect(membersOf(expose({ hi: () => 'hi', _no: () => 0 })).meta.methods).toEqual(['hi']);
  });

  it('places keyword arguments by parameter name, refusing unknown and duplicate ones', () => {
    const info = membersOf(Shop).methods.get('price');
    expect(info?.params).toEqual(['item', 'qty', null]);
    if (!info) throw new Error('no price');
    expect(bindArguments('price', info, ['ab'], { qty: 3 })).toEqual(['ab', 3]);
    expect(() => bindArguments('price', info, ['ab'], { nope: 1 })).toThrow("price() got an unexpected keyword argument 'nope'");
    expect(() => bindArguments('price', info, ['ab'], { item: 'x' })).toThrow(/multiple values/);
    expect(parameterNames(async (a: number, /* c, */ b = [1, 2]) => a + b.length)).toEqual(['a', 'b']);
    expect(parameterNames((x: number) => x)).toEqual(['x']);
  });
});
