// The JSON-RPC 2.0 codec (pure): requests single and batched, every error code, the client's reading of
// responses, errors both ways (a celeriac gateway's data, jsonrpclib's texts), and the gateway's JSON-RPC
// front end over a plain RpcHandler (notifications, batches, introspection, namespaces and versions).
import { describe, expect, it } from 'vitest';
import { FrameError } from '../../../src/errors.js';
import { fromJsonRpcError, toJsonRpcError } from '../../../src/rpc/http/faults.js';
import { readBatchResponse, readRequests, readResponse, writeRequest } from '../../../src/rpc/http/jsonrpc.js';
import { createInvoker } from '../../../src/rpc/http/methods.js';
import { serveJsonRpc } from '../../../src/rpc/http/serve.js';
import type { RpcHandler, RpcRequest } from '../../../src/rpc/types.js';

describe('reading JSON-RPC requests', () => {
  it('reads calls by position and by name, and notifications', () => {
    expect(readRequests('{"jsonrpc":"2.0","method":"add","params":[2,40],"id":1}')).toEqual({ kind: 'single', entry: { kind: 'call', id: 1, method: 'add', args: [2, 40] } });
    expect(readRequests('{"jsonrpc":"2.0","method":"greet","params":{"name":"Ada"},"id":"a"}')).toEqual({ kind: 'single', entry: { kind: 'call', id: 'a', method: 'greet', args: { name: 'Ada' } } });
    expect(readRequests('{"jsonrpc":"2.0","method":"ping","id":null}')).toEqual({ kind: 'single', entry: { kind: 'call', id: null, method: 'ping', args: [] } });
    const note = readRequests('{"jsonrpc":"2.0","method":"log","params":["x"]}');
    expect(note).toEqual({ kind: 'single', entry: { kind: 'call', method: 'log', args: ['x'] } });
    expect('id' in (note as { entry: object }).entry).toBe(false);
  });

  it('answers what is not a request with -32700 or -32600, keeping the id when it can be read', () => {
    expect(readRequests('{"jsonrpc":"2.0","method":')).toMatchObject({ kind: 'error', error: { code: -32700 } });
    expect(readRequests('')).toMatchObject({ kind: 'error', error: { code: -32700 } });
    expect(readRequests('[]')).toMatchObject({ kind: 'error', error: { code: -32600, message: expect.stringContaining('empty batch') } });
    expect(readRequests('[1,2,3]', 2)).toMatchObject({ kind: 'error', error: { code: -32600, message: expect.stringContaining('at most 2') } });
    const cases: Array<[string, unknown]> = [
      ['1', null],
      ['"text"', null],
      ['{"method":"m","id":7}', 7],
      ['{"jsonrpc":"1.0","method":"m","id":7}', 7],
      ['{"jsonrpc":2,"method":"m","id":7}', 7],
      ['{"jsonrpc":"2.0","id":7}', 7],
      ['{"jsonrpc":"2.0","method":"","id":7}', 7],
      ['{"jsonrpc":"2.0","method":5,"id":7}', 7],
      ['{"jsonrpc":"2.0","method":"m","params":"x","id":7}', 7],
      ['{"jsonrpc":"2.0","method":"m","params":null,"id":7}', 7],
      ['{"jsonrpc":"2.0","method":"m","params":3,"id":7}', 7],
      ['{"jsonrpc":"2.0","method":"m","id":{"x":1}}', null],
      ['{"jsonrpc":"2.0","method":"m","id":[1]}', null],
      ['{"jsonrpc":"2.0","method":"m","id":true}', null],
    ];
    for (const [text, id] of cases) {
      expect(readRequests(text), text).toMatchObject({ kind: 'single', entry: { kind: 'invalid', id, error: { code: -32600 } } });
    }
  });

  it('reads a batch entry by entry', () => {
    const read = readRequests('[{"jsonrpc":"2.0","method":"a","id":1}, 1, {"jsonrpc":"2.0","method":"b"}]');
    expect(read).toMatchObject({ kind: 'batch', entries: [{ kind: 'call', id: 1 }, { kind: 'invalid', id: null }, { kind: 'call', method: 'b' }] });
  });
});

describe('the client side of JSON-RPC', () => {
  it('writes requests and notifications', () => {
    expect(JSON.parse(writeRequest('add', [1, 2], 3))).toEqual({ jsonrpc: '2.0', method: 'add', params: [1, 2], id: 3 });
    expect(JSON.parse(writeRequest('greet', { name: 'x' }))).toEqual({ jsonrpc: '2.0', method: 'greet', params: { name: 'x' } });
  });

  it('reads responses to its own id, and refuses what is no response', () => {
    expect(readResponse('{"jsonrpc":"2.0","result":42,"id":3}', 3)).toEqual({ ok: true, result: 42 });
    expect(readResponse('{"jsonrpc":"2.0","result":null,"id":3}', 3)).toEqual({ ok: true, result: null });
    expect(readResponse('{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":3}', 3)).toEqual({ ok: false, error: { code: -32601, message: 'x' } });
    expect(readResponse('{"jsonrpc":"2.0","error":{"code":-32700,"message":"x"},"id":null}', 3)).toMatchObject({ ok: false });
    expect(readResponse('{"result":1,"error":null,"id":3}', 3)).toEqual({ ok: true, result: 1 });
    for (const bad of ['<html>', '[]', '"x"', '{"jsonrpc":"2.0","id":3}', '{"jsonrpc":"2.0","result":1,"id":4}']) {
      expect(() => readResponse(bad, 3), bad).toThrow(FrameError);
    }
  });

  it('reads batch responses by id', () => {
    const replies = readBatchResponse('[{"jsonrpc":"2.0","result":"b","id":2},{"jsonrpc":"2.0","error":{"code":1,"message":"x"},"id":1}]');
    expect(replies.get(2)).toEqual({ ok: true, result: 'b' });
    expect(replies.get(1)).toMatchObject({ ok: false });
  });
});

describe('JSON-RPC errors both ways', () => {
  it('gives remote errors the reserved codes, and the RemoteErrorInfo in data', () => {
    expect(toJsonRpcError({ type: 'NoSuchMethod', message: 'no x', module: 'oslo_messaging.rpc.dispatcher', data: { method: 'x' } })).toEqual({
      code: -32601, message: 'no x', data: { type: 'NoSuchMethod', module: 'oslo_messaging.rpc.dispatcher', stack: null, data: { method: 'x' } },
    });
    expect(toJsonRpcError({ type: 'InvalidParams', message: 'p' }).code).toBe(-32602);
    expect(toJsonRpcError({ type: 'InternalError', message: 'i' }).code).toBe(-32603);
    expect(toJsonRpcError({ type: 'ValueError', message: 'bad', module: 'builtins', stack: 'at f' })).toEqual({
      code: -32000, message: 'ValueError: bad', data: { type: 'ValueError', module: 'builtins', stack: 'at f' },
    });
    expect(toJsonRpcError({ type: 'ValueError', message: 'bad', stack: 'at f' }, false).data).toMatchObject({ stack: null });
  });

  it("reads a celeriac gateway's errors back exactly", () => {
    const info = { type: 'ValueError', message: 'bad', module: 'builtins', stack: 'at f' };
    expect(fromJsonRpcError(toJsonRpcError(info))).toEqual({ ...info, data: { code: -32000 } });
    const missing = { type: 'NoSuchMethod', message: 'no x', module: 'oslo_messaging.rpc.dispatcher', stack: null, data: { method: 'x' } };
    expect(fromJsonRpcError(toJsonRpcError(missing))).toEqual({ ...missing, data: { code: -32601, data: { method: 'x' } } });
  });

  it("reads other servers' errors: reserved codes by name, jsonrpclib's texts for the Python exception", () => {
    expect(fromJsonRpcError({ code: -32601, message: 'Method nope not supported.' })).toEqual({ type: 'NoSuchMethod', message: 'Method nope not supported.', module: null, stack: null, data: { code: -32601 } });
    expect(fromJsonRpcError({ code: -32602, message: 'Invalid parameters: x' })).toMatchObject({ type: 'InvalidParams' });
    expect(fromJsonRpcError({ code: -32700, message: 'x' })).toMatchObject({ type: 'ParseError' });
    expect(fromJsonRpcError({ code: -32600, message: 'x' })).toMatchObject({ type: 'InvalidRequest' });
    expect(fromJsonRpcError({ code: -32603, message: 'Server error: File "s.py", line 3, in fail | ValueError: bad value\n' })).toEqual({
      type: 'ValueError', module: 'builtins', message: 'bad value', stack: 'File "s.py", line 3, in fail', data: { code: -32603 },
    });
    expect(fromJsonRpcError({ code: -32603, message: 'Server error: File "s.py", line 3, in f | app.errors.Oops: no' })).toMatchObject({ type: 'Oops', module: 'app.errors', message: 'no' });
    expect(fromJsonRpcError({ code: -32603, message: 'TypeError:unsupported operand' })).toMatchObject({ type: 'TypeError', message: 'unsupported operand' });
    expect(fromJsonRpcError({ code: -32603, message: 'something odd' })).toMatchObject({ type: 'InternalError', message: 'something odd' });
    expect(fromJsonRpcError({ code: -32050, message: 'busy' })).toMatchObject({ type: 'ServerError', message: 'busy' });
    expect(fromJsonRpcError({ code: 7, message: 'app', data: [1] })).toEqual({ type: 'JsonRpcError', message: 'app', module: null, stack: null, data: { code: 7, data: [1] } });
    expect(fromJsonRpcError('just text')).toMatchObject({ type: 'JsonRpcError', message: '"just text"' });
  });
});

describe('the gateway as JSON-RPC (serveJsonRpc)', () => {
  const seen: RpcRequest[] = [];
  let notified: (value: unknown) => void = () => {};
  const handler: RpcHandler = async (req) => {
    seen.push(req);
    const a = req.args as unknown[];
    switch (req.method) {
      case 'celeriac.describe':
        return { ok: true, result: [{ name: 'add', doc: 'Adds two numbers.', version: '1.0' }, { name: 'mul', namespace: 'math', version: '2.3' }, { name: 'mul', namespace: 'math', version: '2.1' }] };
      case 'add': return { ok: true, result: (a[0] as number) + (a[1] as number) };
      case 'mul': return { ok: true, result: { product: (a[0] as number) * (a[1] as number), ns: req.namespace, version: req.version } };
      case 'greet': return { ok: true, result: `hi ${(req.args as { name: string }).name}` };
      case 'log': notified(a[0]); return { ok: true, result: null };
      case 'fail': return { ok: false, error: { type: 'ValueError', message: 'bad', module: 'builtins', stack: 'Error: bad\n  at fail' } };
      case 'params': return { ok: false, error: { type: 'InvalidParams', message: 'needs two numbers' } };
      case 'big': return { ok: true, result: 10n };
      case 'explode': throw new Error('boom');
      default: return { ok: false, error: { type: 'NoSuchMethod', message: `no ${req.method}`, module: 'oslo_messaging.rpc.dispatcher' } };
    }
  };
  const background: Array<Promise<unknown>> = [];
  const options = { maxBatch: 10, stacks: true, peer: '127.0.0.1:1', background: (p: Promise<unknown>) => void background.push(p) };
  const invoke = createInvoker({ handler }, 'jsonrpc');
  const serve = async (body: unknown): Promise<unknown> => {
    const out = await serveJsonRpc(typeof body === 'string' ? body : JSON.stringify(body), invoke, options);
    return out === null ? null : JSON.parse(out);
  };
  const req = (method: string, params: unknown, id?: number): Record<string, unknown> => ({ jsonrpc: '2.0', method, params, ...(id !== undefined ? { id } : {}) });

  it('answers calls, by position and by name', async () => {
    expect(await serve(req('add', [2, 40], 1))).toEqual({ jsonrpc: '2.0', result: 42, id: 1 });
    expect(await serve(req('greet', { name: 'Ada' }, 2))).toEqual({ jsonrpc: '2.0', result: 'hi Ada', id: 2 });
    expect(seen.at(-1)).toMatchObject({ method: 'greet', args: { name: 'Ada' } });
  });

  it('answers every error code', async () => {
    expect(await serve('{oops')).toMatchObject({ id: null, error: { code: -32700 } });
    expect(await serve({ method: 'add', id: 3 })).toMatchObject({ id: 3, error: { code: -32600 } });
    expect(await serve(req('nope', [], 4))).toMatchObject({ id: 4, error: { code: -32601, message: 'no nope', data: { type: 'NoSuchMethod' } } });
    expect(await serve(req('params', [], 5))).toMatchObject({ id: 5, error: { code: -32602, message: 'needs two numbers' } });
    expect(await serve(req('system.methodHelp', [1, 2], 6))).toMatchObject({ id: 6, error: { code: -32602 } });
    expect(await serve(req('explode', [], 7))).toMatchObject({ id: 7, error: { code: -32603, message: expect.stringContaining('boom') } });
    expect(await serve(req('big', [], 8))).toMatchObject({ id: 8, error: { code: -32603, message: expect.stringContaining('cannot be sent as JSON') } });
    expect(await serve(req('fail', [], 9))).toEqual({
      jsonrpc: '2.0', id: 9, error: { code: -32000, message: 'ValueError: bad', data: { type: 'ValueError', module: 'builtins', stack: 'Error: bad\n  at fail' } },
    });
    expect(await serve(req('rpc.other', [], 10))).toMatchObject({ error: { code: -32601, message: expect.stringContaining('reserved') } });
    expect(await serve(req('system.multicall', [], 11))).toMatchObject({ error: { code: -32601, message: expect.stringContaining('batch') } });
  });

  it('leaves stacks out when told to', async () => {
    const out = await serveJsonRpc(JSON.stringify(req('fail', [], 1)), invoke, { ...options, stacks: false });
    expect(JSON.parse(out as string).error.data.stack).toBeNull();
  });

  it('sends nothing for notifications and runs them after the reply', async () => {
    const logged = new Promise((resolve) => (notified = resolve));
    expect(await serve(req('log', ['one']))).toBeNull();
    expect(await logged).toBe('one');
    expect(await serve([req('log', ['a']), req('log', ['b'])])).toBeNull();
    await Promise.all(background);
    expect(seen.filter((r) => r.method === 'log').map((r) => (r.args as unknown[])[0])).toEqual(['one', 'a', 'b']);
  });

  it('answers a batch in order, without the notifications, with errors in place', async () => {
    const out = await serve([req('add', [1, 2], 1), req('log', ['x']), 5, req('fail', [], 2), req('nope', [], 3)]);
    expect(out).toEqual([
      { jsonrpc: '2.0', result: 3, id: 1 },
      { jsonrpc: '2.0', error: expect.objectContaining({ code: -32600 }), id: null },
      { jsonrpc: '2.0', error: expect.objectContaining({ code: -32000 }), id: 2 },
      { jsonrpc: '2.0', error: expect.objectContaining({ code: -32601 }), id: 3 },
    ]);
  });

  it('introspects from celeriac.describe: system.listMethods, methodHelp, methodSignature, rpc.discover', async () => {
    expect(await serve(req('system.listMethods', [], 1))).toMatchObject({
      result: ['add', 'math.mul', 'rpc.discover', 'system.listMethods', 'system.methodHelp', 'system.methodSignature'],
    });
    expect(await serve(req('system.methodHelp', ['add'], 2))).toMatchObject({ result: 'Adds two numbers.' });
    expect(await serve(req('system.methodHelp', { method_name: 'add' }, 3))).toMatchObject({ result: 'Adds two numbers.' });
    expect(await serve(req('system.methodSignature', ['add'], 4))).toMatchObject({ result: 'signatures not supported' });
    const discover = (await serve(req('rpc.discover', [], 5))) as { result: { openrpc: string; methods: Array<{ name: string; summary?: string }> } };
    expect(discover.result.openrpc).toBe('1.2.6');
    expect(discover.result.methods.map((m) => m.name)).toEqual(['add', 'math.mul', 'math.mul']);
    expect(discover.result.methods[0]?.summary).toBe('Adds two numbers.');
    expect(await serve(req('celeriac.describe', [], 6))).toMatchObject({ result: [{ name: 'add' }, { name: 'mul' }, { name: 'mul' }] });
  });

  it("routes 'namespace.method' to the described namespace at its newest version; other dotted names split at the last dot", async () => {
    expect(await serve(req('math.mul', [6, 7], 1))).toMatchObject({ result: { product: 42, ns: 'math', version: '2.3' } });
    await serve(req('a.b.c', [], 2));
    expect(seen.at(-1)).toMatchObject({ method: 'c', namespace: 'a.b' });
    const flat = createInvoker({ handler, dottedNamespaces: false, version: '9.9' }, 'jsonrpc');
    await serveJsonRpc(JSON.stringify(req('a.b.c', [], 3)), flat, options);
    expect(seen.at(-1)).toMatchObject({ method: 'a.b.c', version: '9.9' });
    expect(seen.at(-1)?.namespace).toBeUndefined();
  });

  it('treats a handler that does not describe itself as having no listed methods', async () => {
    const plain: RpcHandler = async (r) => (r.method === 'celeriac.describe' ? { ok: false, error: { type: 'NoSuchMethod', message: 'x' } } : { ok: true, result: r.method });
    const out = await serveJsonRpc(JSON.stringify(req('system.listMethods', [], 1)), createInvoker({ handler: plain }, 'jsonrpc'), options);
    expect(JSON.parse(out as string).result).toEqual(['rpc.discover', 'system.listMethods', 'system.methodHelp', 'system.methodSignature']);
    const echo = await serveJsonRpc(JSON.stringify(req('hello', [], 2)), createInvoker({ handler: plain }, 'jsonrpc'), options);
    expect(JSON.parse(echo as string).result).toBe('hello');
  });
});
