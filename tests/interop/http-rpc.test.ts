// RPC over HTTP with real Python peers (Debian's /usr/bin/python3): Python's xmlrpc.client and jsonrpclib-pelix
// call the celeriac gateway (every XML-RPC type round-trips, faults arrive as xmlrpc.client.Fault, introspection,
// multicall, batches, notifications, every JSON-RPC error code), and celeriac's drivers call Python's
// SimpleXMLRPCServer and jsonrpclib's SimpleJSONRPCServer (results, faults as typed RemoteErrorInfo, listing).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcTimeoutError } from '../../src/errors.js';
import { createGateway, createJsonRpcDriver, createXmlRpcDriver, type Gateway } from '../../src/rpc/http/index.js';
import type { RpcDriver, RpcHandler, RpcRequest } from '../../src/rpc/types.js';
import { spawnProcess, type Spawned } from '../helpers/processes.js';
import { PY_DIR, PYTHON, pythonEnv, runProcess, stopProcess } from './helpers.js';

/** Throws (the suite FAILS, never skips) when jsonrpclib-pelix is not importable. */
function requireJsonrpclib(): void {
  const r = spawnSync(PYTHON, ['-c', 'import jsonrpclib, xmlrpc.client'], { env: pythonEnv(), encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n').slice(-2).join('\n');
    throw new Error(`jsonrpclib is not importable with ${PYTHON}: the HTTP RPC interop tests need it. Install it with:\n  apt-get install -y python3-jsonrpclib-pelix\n(${why})`);
  }
}

const jsType = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof Date ? 'Date' : Buffer.isBuffer(v) ? 'Buffer' : typeof v);

/** The celeriac side: a plain RpcHandler (no dispatcher). */
function makeHandler(): { handler: RpcHandler; recorded: string[]; recordedAll: (n: number) => Promise<void> } {
  const recorded: string[] = [];
  let wake = (): void => {};
  const handler: RpcHandler = async (req: RpcRequest) => {
    const a = Array.isArray(req.args) ? req.args : [req.args];
    switch (req.method) {
      case 'celeriac.describe': return { ok: true, result: [{ name: 'add', doc: 'Adds two numbers.' }, { name: 'echo' }, { name: 'greet' }] };
      case 'echo': return { ok: true, result: a[0] ?? null };
      case 'add': return { ok: true, result: (a[0] as number) + (a[1] as number) };
      case 'types': return { ok: true, result: a.map(jsType) };
      case 'greet': {
        const o = (Array.isArray(req.args) ? req.args[0] : req.args) as { name: string; greeting: string };
        return { ok: true, result: `${o.greeting}, ${o.name}` };
      }
      case 'record': recorded.push(String(a[0])); wake(); return { ok: true, result: null };
      case 'fail': return { ok: false, error: { type: 'ValueError', message: 'bad value', module: 'builtins', stack: 'ValueError: bad value\n    at fail' } };
      case 'bad_params': return { ok: false, error: { type: 'InvalidParams', message: 'bad_params takes no parameters', module: null } };
      case 'explode': throw new Error('boom');
      default: return { ok: false, error: { type: 'NoSuchMethod', message: `no method ${req.method}`, module: 'oslo_messaging.rpc.dispatcher' } };
    }
  };
  const recordedAll = async (n: number): Promise<void> => {
    while (recorded.length < n) await new Promise<void>((r) => (wake = r));
  };
  return { handler, recorded, recordedAll };
}

async function pythonClient(mode: 'xmlrpc' | 'jsonrpc', url: string): Promise<Record<string, unknown>> {
  const r = await runProcess(PYTHON, ['http_rpc_clients.py', mode, url], pythonEnv(), PY_DIR);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`http_rpc_clients.py ${mode} failed (exit ${String(r.code)}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

beforeAll(() => requireJsonrpclib());

describe('Python clients call the celeriac gateway', () => {
  const h = makeHandler();
  let gw: Gateway;
  beforeAll(async () => {
    gw = await createGateway({ handler: h.handler });
  });
  afterAll(() => gw.close());

  it('xmlrpc.client.ServerProxy: every type round-trips, faults are xmlrpc.client.Fault, introspection and multicall', async () => {
    // No path in the URL: ServerProxy posts to /RPC2, which the gateway serves too.
    const report = await pythonClient('xmlrpc', gw.address.replace(/\/$/, ''));
    for (const [name, r] of Object.entries(report['roundtrip'] as Record<string, { same: boolean; got: string }>)) expect(r.same, `${name}: got ${r.got}`).toBe(true);
    expect(report['whole_double']).toBe('2'); // JavaScript has one number type: 2.0 comes back as the integer 2
    expect(report['types']).toEqual(['number', 'number', 'string', 'boolean', 'null', 'Date', 'Buffer', 'object', 'array']);
    expect(report['add']).toBe(42);
    expect(report['greet']).toBe('hi, Ada');
    expect(report['fail']).toEqual({ ok: false, fault: true, code: 1, string: "<class 'ValueError'>:bad value" });
    expect(report['missing']).toEqual({ ok: false, fault: true, code: -32601, string: "<class 'oslo_messaging.rpc.dispatcher.NoSuchMethod'>:no method nope" });
    expect(report['bad_params']).toMatchObject({ fault: true, code: -32602 });
    expect(report['explode']).toMatchObject({ fault: true, code: -32603, string: expect.stringContaining('boom') });
    expect(report['list_methods']).toEqual(['add', 'echo', 'greet', 'system.listMethods', 'system.methodHelp', 'system.methodSignature', 'system.multicall']);
    expect(report['method_help']).toBe('Adds two numbers.');
    expect(report['method_signature']).toBe('signatures not supported');
    expect(report['multicall']).toEqual([
      { ok: true, result: 5 },
      { ok: false, fault: true, code: 1, string: "<class 'ValueError'>:bad value" },
      { ok: true, result: 'x' },
    ]);
  });

  it('jsonrpclib: calls by position and by name, notifications, batches (MultiCall), every error code', async () => {
    const report = await pythonClient('jsonrpc', gw.address);
    for (const [name, r] of Object.entries(report['roundtrip'] as Record<string, { same: boolean; got: string }>)) expect(r.same, `${name}: got ${r.got}`).toBe(true);
    expect(report['add']).toBe(42);
    expect(report['greet']).toBe('hi, Ada');
    expect(report['types']).toEqual(['number', 'number', 'string', 'boolean', 'null', 'object', 'array']);
    expect(report['fail']).toEqual({ ok: false, type: 'ProtocolError', code: -32000, message: 'ValueError: bad value' });
    expect(report['missing']).toEqual({ ok: false, type: 'ProtocolError', code: -32601, message: 'no method nope' });
    expect(report['bad_params']).toMatchObject({ code: -32602 });
    expect(report['explode']).toMatchObject({ code: -32603, message: expect.stringContaining('boom') });
    expect(report['list_methods']).toEqual(['add', 'echo', 'greet', 'rpc.discover', 'system.listMethods', 'system.methodHelp', 'system.methodSignature']);
    expect(report['method_help']).toBe('Adds two numbers.');
    expect(report['discover']).toEqual(['add', 'echo', 'greet']);
    expect(report['batch']).toEqual([
      { ok: true, result: 3 },
      { ok: false, type: 'ProtocolError', code: -32000, message: 'ValueError: bad value' },
      { ok: true, result: 'z' },
    ]);
    await h.recordedAll(2);
    expect(h.recorded).toEqual(['notified', 'batched']);
  });
});

async function pythonServer(mode: 'xmlrpc' | 'jsonrpc'): Promise<{ server: Spawned; port: number }> {
  const server = spawnProcess(PYTHON, ['http_rpc_servers.py', mode], pythonEnv(), PY_DIR);
  try {
    await server.waitFor(/listening \d+/, 15_000);
  } catch (err) {
    await stopProcess(server, 1_000);
    throw err;
  }
  return { server, port: Number(/listening (\d+)/.exec(server.output())?.[1]) };
}

const ADDRESS = { topic: 'ignored-over-http' };
const T = { timeout: 10_000 };

describe("celeriac's XML-RPC driver calls Python's SimpleXMLRPCServer", () => {
  let py: { server: Spawned; port: number };
  let driver: RpcDriver;
  beforeAll(async () => {
    py = await pythonServer('xmlrpc');
    driver = createXmlRpcDriver(`xmlrpc+http://127.0.0.1:${py.port}/RPC2`, {});
  });
  afterAll(async () => {
    await driver?.close();
    await stopProcess(py?.server, 2_000);
  });

  it('gets results, every type there and back', async () => {
    expect(await driver.call(ADDRESS, { method: 'add', args: [2, 40] }, T)).toEqual({ ok: true, result: 42 });
    const value = { n: 1, f: 2.5, s: 'h\u00e9 <&>', b: true, none: null, d: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), bin: Buffer.from([0, 1, 255]), list: [1, 'a', [], {}] };
    expect(await driver.call(ADDRESS, { method: 'echo', args: [value] }, T)).toEqual({ ok: true, result: value });
    expect(await driver.call(ADDRESS, { method: 'types', args: [1, 1.5, 'x', true, null, [1], { a: 1 }, 3_000_000_000, new Date(0), Buffer.from('x')] }, T)).toEqual({
      ok: true, result: ['int', 'float', 'str', 'bool', 'NoneType', 'list', 'dict', 'int', 'datetime', 'bytes'],
    });
    expect(await driver.call(ADDRESS, { method: 'greet', args: ['Ada', 'hi'] }, T)).toEqual({ ok: true, result: 'hi, Ada' });
  });

  it('gets faults as typed RemoteErrorInfo', async () => {
    expect(await driver.call(ADDRESS, { method: 'fail', args: [] }, T)).toEqual({
      ok: false, error: { type: 'ValueError', module: 'builtins', message: 'bad value', stack: null, data: { code: 1, faultString: "<class 'ValueError'>:bad value" } },
    });
    expect(await driver.call(ADDRESS, { method: 'fault', args: [] }, T)).toMatchObject({ ok: false, error: { type: 'Fault', module: 'xmlrpc.client', message: 'custom fault', data: { code: 42 } } });
    expect(await driver.call(ADDRESS, { method: 'nope', args: [] }, T)).toMatchObject({ ok: false, error: { type: 'NoSuchMethod', message: 'method "nope" is not supported' } });
    // Python refuses to send an int past 32 bits: its OverflowError comes back as a fault.
    expect(await driver.call(ADDRESS, { method: 'echo', args: [3_000_000_000] }, T)).toMatchObject({ ok: false, error: { type: 'OverflowError', module: 'builtins' } });
  });

  it('lists methods (celeriac.describe from system.listMethods and system.methodHelp), casts, times out', async () => {
    const described = await driver.call(ADDRESS, { method: 'celeriac.describe', args: [] }, T);
    expect(described).toMatchObject({ ok: true });
    const methods = (described as { result: Array<{ name: string; doc?: string }> }).result;
    expect(methods.map((m) => m.name)).toEqual(['add', 'echo', 'fail', 'fault', 'greet', 'slow', 'types']);
    expect(methods.find((m) => m.name === 'add')?.doc).toBe('Adds two numbers.');
    expect(await driver.call(ADDRESS, { method: 'system.listMethods', args: [] }, T)).toMatchObject({ ok: true, result: expect.arrayContaining(['system.multicall', 'add']) });
    await driver.cast(ADDRESS, { method: 'fail', args: [] });
    await expect(driver.call(ADDRESS, { method: 'slow', args: [2] }, { timeout: 200 })).rejects.toThrow(RpcTimeoutError);
  });
});

describe("celeriac's JSON-RPC driver calls jsonrpclib's SimpleJSONRPCServer", () => {
  let py: { server: Spawned; port: number };
  let driver: RpcDriver;
  beforeAll(async () => {
    py = await pythonServer('jsonrpc');
    driver = createJsonRpcDriver(`http://127.0.0.1:${py.port}/`, {});
  });
  afterAll(async () => {
    await driver?.close();
    await stopProcess(py?.server, 2_000);
  });

  it('gets results by position and by name', async () => {
    expect(await driver.call(ADDRESS, { method: 'add', args: [2, 40] }, T)).toEqual({ ok: true, result: 42 });
    expect(await driver.call(ADDRESS, { method: 'greet', args: { name: 'Ada', greeting: 'hi' } }, T)).toEqual({ ok: true, result: 'hi, Ada' });
    expect(await driver.call(ADDRESS, { method: 'greet', args: { name: 'Bob' } }, T)).toEqual({ ok: true, result: 'hello, Bob' });
    const value = { n: 1, f: 2.5, s: 'h\u00e9', b: false, none: null, list: [1, 'a', [], {}] };
    expect(await driver.call(ADDRESS, { method: 'echo', args: [value] }, T)).toEqual({ ok: true, result: value });
  });

  it('gets errors as typed RemoteErrorInfo (the Python exception read from jsonrpclib\'s text)', async () => {
    const failed = await driver.call(ADDRESS, { method: 'fail', args: [] }, T);
    expect(failed).toMatchObject({ ok: false, error: { type: 'ValueError', module: 'builtins', message: 'bad value', stack: expect.stringContaining('in fail'), data: { code: -32603 } } });
    expect(await driver.call(ADDRESS, { method: 'nope', args: [] }, T)).toMatchObject({ ok: false, error: { type: 'NoSuchMethod', message: 'Method nope not supported.', data: { code: -32601 } } });
    expect(await driver.call(ADDRESS, { method: 'add', args: [1] }, T)).toMatchObject({ ok: false, error: { type: 'InvalidParams', data: { code: -32602 } } });
  });

  it('lists methods with their docs (one batch of system.methodHelp), casts as notifications, times out', async () => {
    const described = await driver.call(ADDRESS, { method: 'celeriac.describe', args: [] }, T);
    const methods = (described as { result: Array<{ name: string; doc?: string }> }).result;
    expect(methods.map((m) => m.name)).toEqual(['add', 'echo', 'fail', 'fault', 'greet', 'slow', 'types']);
    expect(methods.find((m) => m.name === 'echo')?.doc).toBe('Returns its argument.');
    await driver.cast(ADDRESS, { method: 'add', args: [1, 2] });
    await expect(driver.call(ADDRESS, { method: 'slow', args: [2] }, { timeout: 200 })).rejects.toThrow(RpcTimeoutError);
  });
});
