/**
 * Protobuf services: plain objects ↔ protobuf bytes for every field kind, the checks that refuse bad messages,
 * the body codec (frame codec id 3: envelope, replies, google.rpc.Status errors), schema loading, and the stub
 * generator's output (field kinds to TypeScript, names, the committed stubs kept up to date).
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, FrameError, RpcError } from '../../../src/errors.js';
import { CodecId } from '../../../src/rpc/framing.js';
import { DECODED, protobufCodec, wasDecoded } from '../../../src/rpc/protobuf/codec.js';
import { generateStubs } from '../../../src/rpc/protobuf/generate.js';
import { MessageCodec } from '../../../src/rpc/protobuf/messages.js';
import { loadProtoRoot, loadProtoService, lowerCamel, ProtoService } from '../../../src/rpc/protobuf/schema.js';
import { BodyCodecs, toRequest } from '../../../src/rpc/tcp/body.js';
import { DESCRIBE_METHOD } from '../../../src/rpc/types.js';

const FIXTURES = 'tests/fixtures/proto';
const kitchenRoot = loadProtoRoot(`${FIXTURES}/kitchen.proto`);
const Everything = kitchenRoot.lookupType('kitchen.v1.Everything');
const codec = new MessageCodec();
const game = loadProtoService(`${FIXTURES}/game.proto`, 'game.GameService');

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);

/** Everything with no field set, as decoding fills it: scalars at their defaults, lists and maps empty, messages absent. */
const EMPTY_EVERYTHING = {
  fDouble: 0, fFloat: 0, fInt32: 0, fInt64: '0', fUint32: 0, fUint64: '0', fSint32: 0, fSint64: '0', fFixed32: 0, fFixed64: '0',
  fSfixed32: 0, fSfixed64: '0', fBool: false, fString: '', fBytes: b(), color: 'COLOR_UNSPECIFIED',
  rInt32: [], rInt64: [], rString: [], rBytes: [], rColor: [], rInner: [], mStringInt64: {}, mInt32String: {}, mInt64Inner: {}, mBoolColor: {},
};

describe('messages: plain objects and protobuf bytes', () => {
  it('round-trips every field kind (64-bit integers as exact decimal strings)', () => {
    const value = {
      fDouble: 1.5, fFloat: 0.25, fInt32: -7, fInt64: '-9223372036854775808', fUint32: 4294967295, fUint64: '18446744073709551615',
      fSint32: -2147483648, fSint64: '9223372036854775807', fFixed32: 123, fFixed64: '9007199254740993', fSfixed32: -1, fSfixed64: '-9007199254740993',
      fBool: true, fString: 'héllo ✓', fBytes: Uint8Array.from([0, 1, 254, 255]), color: 'GREEN',
      inner: { name: 'in', children: [{ name: 'c1', children: [] }], deep: { level: 3 } },
      rInt32: [1, -2, 3], rInt64: ['1', '-2', '9007199254740993'], rString: ['a', ''], rBytes: [Uint8Array.from([1]), new Uint8Array(0)],
      rColor: ['RED', 'GREEN'], rInner: [{ name: 'x', children: [] }],
      mStringInt64: { a: '1', b: '-5' }, mInt32String: { 1: 'one', '-2': 'minus two' }, mInt64Inner: { '123456789012345678': { name: 'big', children: [] } },
      mBoolColor: { true: 'RED', false: 'GREEN' }, cNumber: '42', maybe: 0, at: { seconds: '1700000000', nanos: 5 },
      child: { fString: 'kid' }, shared: { level: 'HIGH' },
    };
    const decoded = codec.decode(Everything, codec.encode(Everything, value));
    expect(decoded).toEqual({
      ...value,
      fBytes: b(0, 1, 254, 255),
      rBytes: [b(1), b()],
      inner: { name: 'in', children: [{ name: 'c1', children: [] }], deep: { level: 3 } },
      child: { ...EMPTY_EVERYTHING, fString: 'kid' },
    });
    expect(decoded['fBytes']).toBeInstanceOf(Uint8Array);
  });

  it('fills defaults and leaves absent messages out (never null)', () => {
    expect(codec.decode(Everything, new Uint8Array(0))).toEqual(EMPTY_EVERYTHING);
    const decoded = codec.decode(Everything, codec.encode(Everything, { rInner: [{ name: 'a' }], mInt64Inner: { 5: {} }, cInner: {} }));
    expect(decoded['rInner']).toEqual([{ name: 'a', children: [] }]);
    expect(decoded['mInt64Inner']).toEqual({ 5: { name: '', children: [] } });
    expect(decoded['cInner']).toEqual({ name: '', children: [] });
    expect(Object.keys(decoded)).not.toContain('inner');
    // proto3 optional keeps presence: set to 0 it arrives, unset it does not
    expect(codec.decode(Everything, codec.encode(Everything, { maybe: 0 }))['maybe']).toBe(0);
    expect(codec.decode(Everything, codec.encode(Everything, {}))).not.toHaveProperty('maybe');
  });

  it('takes enum numbers, 64-bit numbers and bigints, base64 bytes; unknown enum numbers arrive as numbers', () => {
    const decoded = codec.decode(Everything, codec.encode(Everything, { color: 1, fInt64: 42, fUint64: 18446744073709551615n, fBytes: 'AAH/' }));
    expect(decoded).toMatchObject({ color: 'RED', fInt64: '42', fUint64: '18446744073709551615', fBytes: b(0, 1, 255) });
    expect(codec.decode(Everything, codec.encode(Everything, { color: 7 }))['color']).toBe(7);
  });

  it('carries NaN and infinities in doubles; floats lose what 32 bits cannot hold', () => {
    const decoded = codec.decode(Everything, codec.encode(Everything, { fDouble: Number.NaN, fFloat: 0.1, rInt32: [], child: { fDouble: -Infinity } }));
    expect(decoded['fDouble']).toBeNaN();
    expect(decoded['fFloat']).toBe(Math.fround(0.1));
    expect((decoded['child'] as Record<string, unknown>)['fDouble']).toBe(-Infinity);
  });

  it("decodes 64-bit integers as numbers with longs: 'number'", () => {
    const numbers = new MessageCodec('number');
    const decoded = numbers.decode(Everything, numbers.encode(Everything, { fInt64: -5, fUint64: '9007199254740991', rInt64: [1, '2'], mStringInt64: { a: 3 } }));
    expect(decoded).toMatchObject({ fInt64: -5, fUint64: 9007199254740991, rInt64: [1, 2], mStringInt64: { a: 3 } });
  });

  it('proto2: required fields must be given, optional ones are optional in the stubs', () => {
    const root = protobuf.parse('syntax="proto2"; package old; message A { required int32 a = 1; optional string b = 2; optional int32 c = 3 [default = 7]; }').root;
    const A = root.lookupType('old.A');
    expect(() => codec.encode(A, { b: 'x' })).toThrow('old.A: a: integer expected');
    expect(codec.decode(A, codec.encode(A, { a: 1 }))).toEqual({ a: 1, b: '', c: 7 });
    expect(() => codec.decode(A, new Uint8Array(0))).toThrow(/missing required 'a'/);
    const stubs = generateStubs(root);
    expect(stubs).toContain('export interface A {\n  a: number;\n  b?: string | undefined;\n  c?: number | undefined;\n}');
  });

  it.each([
    [{ fInt32: '5' }, 'kitchen.v1.Everything: fInt32: integer expected'],
    [{ fInt32: 1.5 }, 'fInt32: integer expected'],
    [{ fString: 5 }, 'fString: string expected'],
    [{ fBool: 'yes' }, 'fBool: boolean expected'],
    [{ nope: 1 }, "kitchen.v1.Everything: unknown field 'nope' (the fields of kitchen.v1.Everything are fDouble, fFloat,"],
    [{ f_string: 'x' }, "unknown field 'f_string': did you mean 'fString'?"],
    [{ color: 'BLUE' }, 'kitchen.v1.Everything.color: "BLUE" is not a value of kitchen.v1.Everything.Color (COLOR_UNSPECIFIED, RED, GREEN)'],
    [{ rColor: ['RED', 'PURPLE'] }, 'kitchen.v1.Everything.rColor[1]: "PURPLE" is not a value'],
    [{ fInt64: '12a' }, 'kitchen.v1.Everything.fInt64: "12a" is not an integer: 64-bit integers are decimal strings'],
    [{ fInt64: '9223372036854775808' }, 'fInt64: 9223372036854775808 does not fit a signed 64-bit integer'],
    [{ fUint64: '-1' }, 'fUint64: -1 does not fit an unsigned 64-bit integer'],
    [{ fUint64: -1 }, 'fUint64: -1 is negative, but the field is unsigned'],
    [{ fInt64: 2 ** 60 }, 'is beyond 2^53 and has lost digits as a number: pass 64-bit integers as decimal strings'],
    [{ fInt64: true }, 'fInt64: integer|Long expected'],
    [{ cText: 'a', cNumber: '1' }, 'choice: multiple values'],
    [{ rInt32: 5 }, 'rInt32: array expected'],
    [{ rInt32: [1, 'x'] }, 'rInt32: integer[] expected'],
    [{ mInt32String: { abc: 'x' } }, 'mInt32String: integer key{k:int32} expected'],
    [{ inner: { deep: { level: 'x' } } }, 'inner.deep.level: integer expected'],
    [{ inner: [] }, 'kitchen.v1.Everything.inner: a kitchen.v1.Everything.Inner message is an object of fields, not an array'],
    [{ inner: 'x' }, 'inner.object expected'],
    [{ rInner: [{ name: 1 }] }, 'rInner.name: string expected'],
    [{ mInt64Inner: { 1: { bogus: 1 } } }, "kitchen.v1.Everything.mInt64Inner[1]: unknown field 'bogus'"],
    [5, 'kitchen.v1.Everything: object expected'],
  ])('refuses %j with a message that says where and why', (value, message) => {
    const err = (() => {
      try {
        codec.encode(Everything, value);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(RpcError);
    expect((err as Error).message).toContain(message);
  });

  it('throws on bytes that are not the message', () => {
    expect(() => codec.decode(Everything, b(0x0a, 0xff, 0xff, 0xff, 0x0f))).toThrow(/index out of range/);
    expect(() => codec.decode(Everything, Buffer.from('{"fString": "json is not protobuf"}'))).toThrow(/invalid wire type|index out of range/);
  });
});

describe('the protobuf body codec', () => {
  const body = protobufCodec(game);
  const asBuffer = (x: Buffer | string): Buffer => (typeof x === 'string' ? Buffer.from(x) : x);
  const request = { method: 'connect_server', args: { playerName: 'ada', clientVersion: '1.4.2', region: 'EU' }, namespace: 'game.GameService', version: '1.1', context: { user: 'u', n: [1] } };

  it('round-trips a request in its envelope; decoded arguments are complete and marked', () => {
    const decoded = toRequest(body.decode(asBuffer(body.encode(request, 'request')), 'request'));
    expect(decoded).toEqual({ ...request, args: { ...request.args } });
    expect(wasDecoded(decoded.args)).toBe(true);
    expect(wasDecoded(request.args)).toBe(false);
    expect(Object.keys(decoded.args)).not.toContain(DECODED);
    // lowerCamelCase names, a missing namespace and [message] are accepted; the wire carries the .proto name and the service
    const sent = toRequest(body.decode(asBuffer(body.encode({ method: 'listServers', args: [{ region: 'ASIA' }] }, 'request')), 'request'));
    expect(sent).toEqual({ method: 'list_servers', args: { region: 'ASIA' }, namespace: 'game.GameService' });
  });

  it('round-trips replies of each method, and celeriac.describe', () => {
    const reply = { serverAddress: 'eu-1:7777', sessionToken: 't', motd: 'hi', expiresAtMs: '1700000000000' };
    expect(body.decode(asBuffer(body.encode(reply, 'reply', 'connect_server')), 'reply', 'connect_server')).toEqual(reply);
    const servers = { servers: [{ id: 'a', address: 'x:1', region: 'US', players: 1, capacity: 2, tags: { k: 'v' } }] };
    expect(body.decode(asBuffer(body.encode(servers, 'reply', 'list_servers')), 'reply', 'list_servers')).toEqual(servers);
    expect(body.decode(asBuffer(body.encode(null, 'reply', 'ping')), 'reply', 'ping')).toEqual({ payload: b(), serverTimeMs: '0' });
    const methods = [{ name: 'ping', doc: 'Round trip.', namespace: 'game.GameService', version: '1.0' }, { name: 'x' }];
    expect(body.decode(asBuffer(body.encode(methods, 'reply', DESCRIBE_METHOD)), 'reply', DESCRIBE_METHOD)).toEqual(methods);
    const describe = toRequest(body.decode(asBuffer(body.encode({ method: DESCRIBE_METHOD, args: {} }, 'request')), 'request'));
    expect(describe).toEqual({ method: DESCRIBE_METHOD, args: {} });
  });

  it('sends errors as google.rpc.Status with a RemoteErrorInfo detail', () => {
    const info = { type: 'OutdatedClientError', message: 'too old', module: 'game', stack: 'at x', data: { oldest: '1.2.0' } };
    expect(body.decode(asBuffer(body.encode(info, 'error')), 'error')).toEqual(info);
    expect(body.decode(asBuffer(body.encode({ type: 'E', message: 'm', module: null, data: { n: 1n } }, 'error')), 'error')).toEqual({ type: 'E', message: 'm' });
    // Read by a schema written apart from celeriac's: google.rpc.Status as googleapis defines it
    const status = protobuf.parse('syntax="proto3"; package google.rpc; message Status { int32 code = 1; string message = 2; repeated Any details = 3; } message Any { string type_url = 1; bytes value = 2; }', { keepCase: true }).root;
    const Status = status.lookupType('google.rpc.Status');
    const wire = Status.toObject(Status.decode(asBuffer(body.encode({ type: 'NoSuchMethod', message: 'no ping' }, 'error')))) as { code: number; message: string; details: { type_url: string }[] };
    expect(wire).toMatchObject({ code: 12, message: 'no ping', details: [{ type_url: 'type.googleapis.com/celeriac.rpc.RemoteErrorInfo' }] });
    expect(Status.toObject(Status.decode(asBuffer(body.encode({ type: 'TypeError', message: 'bad' }, 'error'))))).toMatchObject({ code: 3 });
    // A Status from a peer other than celeriac: no detail, the code names the error
    const foreign = Buffer.from(Status.encode({ code: 5, message: 'no such player' }).finish());
    expect(body.decode(foreign, 'error')).toEqual({ type: 'grpc.NOT_FOUND', message: 'no such player', data: { code: 5 } });
  });

  it('refuses to send a method the service lacks, and lets the server answer one it does not know', () => {
    expect(() => body.encode({ method: 'nope', args: {} }, 'request')).toThrow("no protobuf method 'nope': the services here are game.GameService (connect_server, list_servers, ping)");
    expect(() => body.encode({ method: 'ping', args: {}, namespace: 'other.Service' }, 'request')).toThrow(/no protobuf method 'ping' in other.Service/);
    expect(() => body.encode({ method: 'ping', args: [{}, {}] }, 'request')).toThrow(/takes one PingRequest message, not 2 arguments/);
    expect(() => body.encode({ playerName: 'x' }, 'reply', 'nope')).toThrow(/no protobuf type for the reply of 'nope'/);
    // A request for a method this side does not know decodes with empty arguments: the dispatcher answers NoSuchMethod
    const other = protobuf.parse('syntax="proto3"; package game; message Q { string s = 1; } service GameService { rpc leave_server (Q) returns (Q); }').root;
    const stranger = protobufCodec(loadProtoService(other, 'game.GameService'));
    const sent = asBuffer(stranger.encode({ method: 'leave_server', args: { s: 'x' } }, 'request'));
    expect(toRequest(body.decode(sent, 'request'))).toEqual({ method: 'leave_server', args: {}, namespace: 'game.GameService' });
  });

  it('throws on bodies that are not its envelope (BodyCodecs makes that a FrameError)', () => {
    const codecs = new BodyCodecs([body]);
    expect(() => codecs.decode(CodecId.PROTOBUF, Buffer.from('{"method":"ping","args":{}}'), 'request')).toThrow(FrameError);
    expect(() => codecs.decode(CodecId.PROTOBUF, Buffer.from('{"method":"ping","args":{}}'), 'request')).toThrow(/request body is not valid protobuf/);
    const Request = protobuf.parse('syntax="proto3"; message R { string method = 1; bytes args = 2; string namespace = 3; string version = 4; string context = 5; }').root.lookupType('R');
    const badContext = Buffer.from(Request.encode({ method: 'ping', context: '[1, 2]' }).finish());
    expect(() => codecs.decode(CodecId.PROTOBUF, badContext, 'request')).toThrow(/context of a request must be a JSON object/);
    const badArgs = Buffer.from(Request.encode({ method: 'ping', namespace: 'game.GameService', args: b(0x0a, 0xff, 0xff) }).finish());
    expect(() => codecs.decode(CodecId.PROTOBUF, badArgs, 'request')).toThrow(/not valid protobuf \(index out of range/);
  });

  it('refuses services that share a method name (replies name only their method)', () => {
    const other = protobuf.parse('syntax="proto3"; package net; message P {} service Net { rpc ping (P) returns (P); }').root;
    expect(() => protobufCodec([game, loadProtoService(other, 'Net')])).toThrow(/game.GameService and net.Net both have a method 'ping': .*separate ports/);
    expect(() => protobufCodec([])).toThrow(ConfigError);
  });
});

describe('loading services', () => {
  it('knows methods by .proto and lowerCamelCase names, with their docs', () => {
    expect(game.fullName).toBe('game.GameService');
    expect(game.methods.map((m) => [m.name, m.localName, m.requestType.name, m.responseType.name])).toEqual([
      ['connect_server', 'connectServer', 'ConnectServerRequest', 'ConnectServerReply'],
      ['list_servers', 'listServers', 'ListServersRequest', 'ListServersReply'],
      ['ping', 'ping', 'PingRequest', 'PingReply'],
    ]);
    expect(game.method('connectServer')).toBe(game.method('connect_server'));
    expect(game.method('connect_server')?.doc).toBe('Picks a game server for a player and opens a session on it.');
    expect(game.doc).toMatch(/^The lobby of a multiplayer game/);
    expect(['connect_server', 'ListServers', 'ping', 'get_HTTP_url', 'a__b'].map(lowerCamel)).toEqual(['connectServer', 'listServers', 'ping', 'getHTTPUrl', 'aB']);
  });

  it('refuses streaming methods unless told to leave them out', () => {
    expect(() => loadProtoService(`${FIXTURES}/streaming.proto`, 'stream.Clock')).toThrow(
      "stream.Clock.Watch is a server streaming method: celeriac's protobuf stubs carry unary calls (one request, one reply); remove it from the service, or leave it out with skipStreaming",
    );
    expect(loadProtoService(`${FIXTURES}/streaming.proto`, 'Clock', { skipStreaming: true }).methods.map((m) => m.name)).toEqual(['Now']);
  });

  it('finds services by own name, says which exist, keeps .proto case when asked', () => {
    expect(loadProtoService(`${FIXTURES}/game.proto`, 'GameService').fullName).toBe('game.GameService');
    expect(() => loadProtoService(`${FIXTURES}/game.proto`, 'game.Lobby')).toThrow("no service 'game.Lobby' in tests/fixtures/proto/game.proto: it defines game.GameService");
    expect(() => loadProtoService(`${FIXTURES}/nope.proto`, 'x')).toThrow(/cannot read tests\/fixtures\/proto\/nope.proto: no such .proto file/);
    const kept = loadProtoService(`${FIXTURES}/game.proto`, 'game.GameService', { keepCase: true });
    expect(kept.method('connect_server')?.requestType.fieldsArray.map((f) => f.name)).toEqual(['player_name', 'client_version', 'region', 'server_id']);
  });

  it('searches include directories for imports, and says to when an import is missing', () => {
    expect(() => loadProtoRoot(`${FIXTURES}/shop.proto`)).toThrow(/common.proto.*give the directories of imported files with -I \(includeDirs\)/);
    const root = loadProtoRoot(`${FIXTURES}/shop.proto`, { includeDirs: [`${FIXTURES}/lib`] });
    expect(root.lookupType('common.Item').fieldsArray.map((f) => f.name)).toEqual(['sku', 'cents']);
  });

  it('loads from a protobufjs Root and from a JSON descriptor alike', () => {
    const fromJson = loadProtoService(kitchenRoot.toJSON(), 'kitchen.v1.Kitchen');
    const fromRoot = loadProtoService(kitchenRoot, 'kitchen.v1.Kitchen');
    expect(fromJson.methods.map((m) => m.name)).toEqual(['Cook', 'Nothing']);
    expect(fromRoot.methods.map((m) => m.localName)).toEqual(['cook', 'nothing']);
    expect(() => loadProtoService({ nested: { x: { fields: 5 } } }, 'x')).toThrow(ConfigError);
    const clash = protobuf.parse('syntax="proto3"; message M {} service S { rpc get_item (M) returns (M); rpc GetItem (M) returns (M); }').root;
    expect(() => loadProtoService(clash, 'S')).toThrow('S: methods get_item and GetItem are both getItem in TypeScript: rename one');
  });
});

describe('the stub generator', () => {
  const kitchen = generateStubs(kitchenRoot, { files: [`${FIXTURES}/kitchen.proto`] });

  it('maps every field kind to TypeScript', () => {
    for (const line of [
      'fDouble: number;', 'fInt32: number;', 'fInt64: string;', 'fUint64: string;', 'fFixed64: string;', 'fBool: boolean;', 'fString: string;',
      'fBytes: Uint8Array;', 'color: Everything_Color;', 'inner?: Everything_Inner | undefined;', 'rInt32: number[];', 'rInt64: string[];', 'rBytes: Uint8Array[];',
      'rColor: Everything_Color[];', 'rInner: Everything_Inner[];', 'mStringInt64: { [key: string]: string };', 'mInt32String: { [key: number]: string };',
      'mInt64Inner: { [key: string]: Everything_Inner };', 'mBoolColor: { [key: string]: Everything_Color };', 'cText?: string | undefined;', 'cNumber?: string | undefined;',
      'cInner?: Everything_Inner | undefined;', 'maybe?: number | undefined;', 'at?: Timestamp | undefined;', 'child?: Everything | undefined;', 'shared?: Shared | undefined;', 'deep?: Everything_Inner_Deep | undefined;',
      "export type Everything_Color = 'COLOR_UNSPECIFIED' | 'RED' | 'GREEN';", "export type Level = 'LEVEL_UNSPECIFIED' | 'LOW' | 'HIGH';",
      'export interface Timestamp {', 'seconds: string;', 'export type Empty = Record<string, never>;', 'export interface Unused {',
      '/** (oneof choice: at most one of cText, cNumber, cInner) */', '  /** A nested enum. */',
      'cook(request: Everything, options?: celeriac.CallOptions): Promise<Everything>;',
      'abstract nothing(request: Empty, context?: celeriac.RpcCallContext): Promise<Empty> | Empty;',
      "export const KitchenDefinition: celeriac.ProtoService = celeriac.loadProtoService(protoDescriptor(), 'kitchen.v1.Kitchen', { longs: 'string' });",
      'export function createKitchenClient(url: string, options?: celeriac.ProtoClientOptions): celeriac.ProtoClient<KitchenClient> {',
      'export function createKitchenServer(url: string, implementation: Kitchen, options?: celeriac.ProtoServerOptions): celeriac.RpcServer {',
      "import * as celeriac from 'celeriac';",
    ]) {
      expect(kitchen).toContain(line);
    }
    expect(kitchen).not.toContain('Duration'); // not used, not declared in the file
  });

  it("writes 64-bit integers as numbers with longs: 'number', and leaves streaming methods out when told", () => {
    const numbers = generateStubs(kitchenRoot, { longs: 'number', importFrom: '../src/index.js' });
    expect(numbers).toContain('fInt64: number;');
    expect(numbers).toContain("{ longs: 'number' }");
    expect(numbers).toContain("import * as celeriac from '../src/index.js';");
    expect(numbers).not.toContain('export interface Unused'); // no file given: only what the services reach
    const streaming = loadProtoRoot(`${FIXTURES}/streaming.proto`);
    expect(() => generateStubs(streaming)).toThrow(/stream.Clock.Watch is a server streaming method/);
    const skipped = generateStubs(streaming, { skipStreaming: true });
    expect(skipped).toContain("{ longs: 'string', skipStreaming: true }");
    expect(skipped).not.toMatch(/watch\(/);
  });

  it('names types apart: a name in two packages, the name of a global, an empty message; no service means messages only', () => {
    const shop = generateStubs(loadProtoRoot(`${FIXTURES}/shop.proto`, { includeDirs: [`${FIXTURES}/lib`] }), { files: [`${FIXTURES}/shop.proto`] });
    expect(shop).toContain('export interface shop_Item {\n  item?: common_Item | undefined;\n  count: number;\n}');
    expect(shop).toContain('export interface Promise_ {\n  items: shop_Item[];\n}');
    expect(shop).toContain('export type Nothing = Record<string, never>;');
    expect(shop).toContain('order(request: Promise_, options?: celeriac.CallOptions): Promise<Nothing>;');
    const messagesOnly = generateStubs(protobuf.parse('syntax="proto3"; package p; message A { int64 n = 1; }').root, {});
    expect(messagesOnly).not.toContain('protoDescriptor');
    expect(messagesOnly).toContain('export interface A {\n  n: string;\n}');
    const noServiceFile = generateStubs(loadProtoRoot(`${FIXTURES}/lib/common.proto`), { files: [`${FIXTURES}/lib/common.proto`] });
    expect(noServiceFile).toContain('export interface Item {\n  sku: string;\n  cents: string;\n}');
  });

  it('refuses stubs that would declare a name twice', () => {
    const root = protobuf.parse('syntax="proto3"; package g; message GameClient {} service Game { rpc Go (GameClient) returns (GameClient); }').root;
    expect(() => generateStubs(root)).toThrow("the stubs would declare 'GameClient' twice (g.GameClient and service g.Game)");
  });

  it('keeps the committed game stubs up to date (the example and the test fixture)', () => {
    const root = loadProtoRoot(`${FIXTURES}/game.proto`);
    const files = [`${FIXTURES}/game.proto`];
    const example = 'examples/game-service/game-stubs.ts';
    const fixture = `${FIXTURES}/game-stubs.ts`;
    const regenerate = `run: npm run build && node dist/cli/main.js stubs ${files[0]} -o ${example} (and --import-from ../../../src/index.js -o ${fixture})`;
    expect(readFileSync(example, 'utf8'), regenerate).toBe(generateStubs(root, { files, command: `celeriac stubs ${files[0]} -o ${example}` }));
    expect(readFileSync(fixture, 'utf8'), regenerate).toBe(
      generateStubs(root, { files, importFrom: '../../../src/index.js', command: `celeriac stubs ${files[0]} --import-from ../../../src/index.js -o ${fixture}` }),
    );
  });

  it('gives generated services the same methods as loading the .proto', () => {
    const service = new ProtoService(kitchenRoot.lookupService('kitchen.v1.Kitchen'));
    expect(service.methods.map((m) => m.localName)).toEqual(['cook', 'nothing']);
  });
});
