// The HTTP gateway on a real socket, poked with raw HTTP requests (node:http, as curl would send them):
// malformed and hostile bodies, oversized bodies (413 without keeping them), wrong methods, paths, encodings
// and credentials, and the gateway serving on; then the JSON-RPC and XML-RPC drivers against it (results,
// typed errors, casts, timeouts, refused connections, auth, size caps, listen(), TLS).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameError, RpcAuthError, RpcConnectionError, RpcError, RpcTimeoutError } from '../../src/errors.js';
import { createGateway, createJsonRpcDriver, createXmlRpcDriver, type Gateway } from '../../src/rpc/http/index.js';
import type { RpcDriver, RpcHandler, RpcRequest } from '../../src/rpc/types.js';
import { tempDir } from '../helpers/temp.js';

interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request on a fresh connection, like `curl -X POST -d ...`. */
function raw(base: string, options: { method?: string; path?: string; headers?: Record<string, string | number>; body?: string | Buffer } = {}): Promise<RawReply> {
  const url = new URL(options.path ?? '', base);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'POST', agent: false, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (base: string, body: unknown, headers: Record<string, string> = {}): Promise<RawReply> =>
  raw(base, { headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const xml = (base: string, body: string, headers: Record<string, string> = {}): Promise<RawReply> => raw(base, { headers: { 'content-type': 'text/xml', ...headers }, body });
const call = (method: string, params: string): string => `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;

/** A plain handler: what the tests call, and what they wait for. */
function makeHandler() {
  const seen: RpcRequest[] = [];
  const waiters = new Map<string, (r: RpcRequest) => void>();
  let release: () => void = () => {};
  let gate = new Promise<void>((r) => (release = r));
  const handler: RpcHandler = async (req) => {
    seen.push(req);
    waiters.get(req.method)?.(req);
    const a = Array.isArray(req.args) ? req.args : [req.args];
    switch (req.method) {
      case 'celeriac.describe': return { ok: true, result: [{ name: 'add', doc: 'Adds two numbers.' }, { name: 'echo' }] };
      case 'add': return { ok: true, result: (a[0] as number) + (a[1] as number) };
      case 'echo': return { ok: true, result: a[0] ?? null };
      case 'where': return { ok: true, result: { method: req.method, namespace: req.namespace ?? null } };
      case 'fail': return { ok: false, error: { type: 'ValueError', message: 'bad value', module: 'builtins', stack: 'ValueError: bad value\n    at fail' } };
      case 'wait': await gate; return { ok: true, result: 'released' };
      case 'note': return { ok: true, result: null };
      default: return { ok: false, error: { type: 'NoSuchMethod', message: `no method ${req.method}`, module: 'oslo_messaging.rpc.dispatcher' } };
    }
  };
  return {
    handler,
    seen,
    next: (method: string) => new Promise<RpcRequest>((resolve) => waiters.set(method, resolve)),
    release: () => {
      release();
      gate = new Promise<void>((r) => (release = r));
    },
  };
}

const ADDRESS = { topic: 'ignored-over-http' };

describe('the gateway, with raw HTTP requests', () => {
  const h = makeHandler();
  let gw: Gateway;
  beforeAll(async () => {
    gw = await createGateway({ handler: h.handler, maxBodySize: 64 * 1024 });
  });
  afterAll(async () => {
    h.release();
    await gw.close();
  });

  it('answers JSON-RPC and XML-RPC on / and /RPC2, chosen by Content-Type', async () => {
    expect(gw.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const j = await json(gw.address, { jsonrpc: '2.0', method: 'add', params: [2, 40], id: 1 });
    expect(j.status).toBe(200);
    expect(j.headers['content-type']).toBe('application/json');
    expect(JSON.parse(j.body)).toEqual({ jsonrpc: '2.0', result: 42, id: 1 });
    const x = await xml(new URL('/RPC2', gw.address).href, call('add', '<param><value><int>2</int></value></param><param><value><int>40</int></value></param>'));
    expect(x.headers['content-type']).toMatch(/^text\/xml/);
    expect(x.body).toContain('<int>42</int>');
    const rpc = await raw(gw.address, { headers: { 'content-type': 'application/json-rpc' }, body: '{"jsonrpc":"2.0","method":"add","params":[1,1],"id":2}' });
    expect(JSON.parse(rpc.body).result).toBe(2);
  });

  it('sniffs the body when the Content-Type says nothing useful (curl -d sends form encoding)', async () => {
    const form = await raw(gw.address, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '{"jsonrpc":"2.0","method":"add","params":[3,4],"id":1}' });
    expect(JSON.parse(form.body).result).toBe(7);
    const spaced = await raw(gw.address, { headers: { 'content-type': 'text/plain' }, body: ' \n {"jsonrpc":"2.0","method":"add","params":[1,4],"id":1}' });
    expect(JSON.parse(spaced.body).result).toBe(5);
    const none = await raw(gw.address, { body: `${call('add', '<param><value><int>3</int></value></param><param><value><int>4</int></value></param>')}` });
    expect(none.body).toContain('<int>7</int>');
  });

  it('answers malformed bodies with the protocol parse error, and keeps serving', async () => {
    const bad = await json(gw.address, '{"jsonrpc": "2.0", "method": "add", "params": [1,');
    expect(bad.status).toBe(200);
    expect(JSON.parse(bad.body)).toMatchObject({ id: null, error: { code: -32700 } });
    const badXml = await xml(gw.address, '<methodCall><methodName>add</methodName><params>');
    expect(badXml.body).toMatch(/<name>faultCode<\/name><value><int>-32700<\/int>/);
    const notUtf8 = await json(gw.address, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1'));
    expect(JSON.parse(notUtf8.body).error.code).toBe(-32700);
    const binary = await raw(gw.address, { headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
    expect(JSON.parse(binary.body)).toMatchObject({ error: { code: -32700, message: expect.stringContaining('UTF-8') } });
    const empty = await raw(gw.address, { headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(empty.body).error.code).toBe(-32700);
    const emptyBatch = await json(gw.address, '[]');
    expect(JSON.parse(emptyBatch.body).error.code).toBe(-32600);
    expect(JSON.parse((await json(gw.address, { jsonrpc: '2.0', method: 'add', params: [1, 2], id: 9 })).body).result).toBe(3);
  });

  it('refuses hostile XML cheaply and keeps serving', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>${call('echo', '<param><value>&c;</value></param>')}`;
    const xxe = `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>${call('echo', '<param><value>&x;</value></param>')}`;
    const deep = call('echo', `<param><value>${'<array><data><value>'.repeat(1_400)}1${'</value></data></array>'.repeat(1_400)}</value></param>`);
    for (const body of [laughs, xxe, deep]) {
      const r = await xml(gw.address, body);
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/<name>faultCode<\/name><value><int>-32700<\/int>/);
      expect(r.body).not.toContain('root:');
    }
    expect((await xml(gw.address, call('echo', '<param><value>still here</value></param>'))).body).toContain('still here');
  });

  it('answers 413 for a body over maxBodySize, from Content-Length, without reading it', async () => {
    const big = Buffer.alloc(200 * 1024, 0x20);
    const r = await raw(gw.address, { headers: { 'content-type': 'application/json' }, body: big });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(r.body).toMatch(/maxBodySize/);
  });

  it('answers 413 to a chunked body once it passes the limit, and to Expect: 100-continue before the body is sent', async () => {
    const chunked = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0;
      const req = request(gw.address, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, sent }));
      });
      req.on('error', (err) => (sent > 64 * 1024 ? undefined : reject(err)));
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = (): void => {
        while (sent < 4 << 20 && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(chunked.status).toBe(413);
    expect(chunked.sent).toBeLessThan(4 << 20);

    const expecting = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = request(gw.address, { method: 'POST', agent: false, headers: { 'content-type': 'text/xml', 'content-length': 10 << 20, expect: '100-continue' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
      });
      req.on('continue', () => (continued = true));
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(expecting).toEqual({ status: 413, continued: false });
    const small = await new Promise<string>((resolve, reject) => {
      const body = '{"jsonrpc":"2.0","method":"add","params":[5,5],"id":1}';
      const req = request(gw.address, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': body.length, expect: '100-continue' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('continue', () => req.end(body));
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(JSON.parse(small).result).toBe(10);
  });

  it('answers 405 to other methods, 404 to other paths, 415 to compressed bodies', async () => {
    const get = await raw(gw.address, { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await json(new URL('/elsewhere', gw.address).href, {})).status).toBe(404);
    const gz = await json(gw.address, '{}', { 'content-encoding': 'gzip' });
    expect(gz.status).toBe(415);
  });

  it('sends an empty 200 for notifications and runs them', async () => {
    const ran = h.next('note');
    const r = await json(gw.address, { jsonrpc: '2.0', method: 'note', params: ['x'] });
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
    expect((await ran).args).toEqual(['x']);
    const ranInBatch = h.next('note');
    const batch = await json(gw.address, [{ jsonrpc: '2.0', method: 'note', params: ['y'] }, { jsonrpc: '2.0', method: 'note', params: ['z'] }]);
    expect(batch.body).toBe('');
    await ranInBatch;
  });

  it('serves callers in parallel: a slow call does not hold the others', async () => {
    const slow = json(gw.address, { jsonrpc: '2.0', method: 'wait', id: 1 });
    await h.next('wait');
    expect(JSON.parse((await json(gw.address, { jsonrpc: '2.0', method: 'add', params: [1, 2], id: 2 })).body).result).toBe(3);
    h.release();
    expect(JSON.parse((await slow).body).result).toBe('released');
  });
});

describe('gateway authentication', () => {
  const h = makeHandler();
  const gateways: Gateway[] = [];
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
  });
  const body = { jsonrpc: '2.0', method: 'add', params: [1, 2], id: 1 };

  it('asks for HTTP basic credentials and checks them', async () => {
    const gw = await createGateway({ handler: h.handler, auth: { username: 'ada', password: 's3cret' } });
    gateways.push(gw);
    const none = await json(gw.address, body);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    expect((await json(gw.address, body, { authorization: `Basic ${Buffer.from('ada:wrong').toString('base64')}` })).status).toBe(401);
    expect((await json(gw.address, body, { authorization: `Basic ${Buffer.from('ada:s3cret').toString('base64')}` })).status).toBe(200);

    const url = gw.address.replace('http://', 'http://ada:s3cret@');
    expect(await createJsonRpcDriver(url, {}).call(ADDRESS, { method: 'add', args: [1, 2] }, { timeout: 5000 })).toEqual({ ok: true, result: 3 });
    const wrong = createXmlRpcDriver(`xmlrpc+${gw.address.replace('http://', 'http://ada:nope@')}`, {});
    await expect(wrong.call(ADDRESS, { method: 'add', args: [1, 2] }, { timeout: 5000 })).rejects.toThrow(RpcAuthError);
    await wrong.close();
  });

  it('checks a bearer token (the driver sends its secret), or a function of your own', async () => {
    const gw = await createGateway({ handler: h.handler, auth: { token: 'tok' } });
    const custom = await createGateway({ handler: h.handler, auth: (req) => req.headers['x-key'] === 'k' });
    gateways.push(gw, custom);
    expect((await json(gw.address, body, { authorization: 'Bearer tok' })).status).toBe(200);
    expect((await json(gw.address, body, { authorization: 'Bearer other' })).status).toBe(401);
    const driver = createJsonRpcDriver(gw.address, { secret: 'tok' });
    expect(await driver.call(ADDRESS, { method: 'add', args: [2, 2] }, { timeout: 5000 })).toEqual({ ok: true, result: 4 });
    await driver.close();
    expect((await json(custom.address, body, { 'x-key': 'k' })).status).toBe(200);
    expect((await json(custom.address, body)).status).toBe(401);
  });
});

describe.each([
  ['JSON-RPC', (url: string, o = {}) => createJsonRpcDriver(url, o), ''],
  ['XML-RPC', (url: string, o = {}) => createXmlRpcDriver(url, o), 'xmlrpc+'],
] as const)('the %s driver against the gateway', (name, make, prefix) => {
  const h = makeHandler();
  let gw: Gateway;
  let driver: RpcDriver;
  beforeAll(async () => {
    gw = await createGateway({ handler: h.handler, maxBodySize: 16 * 1024 });
    driver = make(`${prefix}${gw.address}`);
  });
  afterAll(async () => {
    h.release();
    await driver.close();
    await gw.close();
  });

  it('calls, and rebuilds remote errors as typed RemoteErrorInfo', async () => {
    expect(await driver.call(ADDRESS, { method: 'add', args: [2, 40] }, { timeout: 5000 })).toEqual({ ok: true, result: 42 });
    const failed = await driver.call(ADDRESS, { method: 'fail', args: [] }, { timeout: 5000 });
    expect(failed).toMatchObject({ ok: false, error: { type: 'ValueError', module: 'builtins', message: 'bad value' } });
    if (name === 'JSON-RPC') expect(failed).toMatchObject({ error: { stack: 'ValueError: bad value\n    at fail', data: { code: -32000 } } });
    else expect(failed).toMatchObject({ error: { data: { code: 1 } } });
    expect(await driver.call(ADDRESS, { method: 'nope', args: [] }, { timeout: 5000 })).toMatchObject({ ok: false, error: { type: 'NoSuchMethod', data: { code: -32601 } } });
    expect(await driver.call(ADDRESS, { method: 'where', namespace: 'math', args: [] }, { timeout: 5000 })).toEqual({ ok: true, result: { method: 'where', namespace: 'math' } });
    expect(await driver.call(ADDRESS, { method: 'celeriac.describe', args: [] }, { timeout: 5000 })).toEqual({ ok: true, result: [{ name: 'add', doc: 'Adds two numbers.' }, { name: 'echo' }] });
  });

  it('sends an object as params by name (JSON-RPC) or as one struct parameter (XML-RPC)', async () => {
    const received = h.next('echo');
    await driver.call(ADDRESS, { method: 'echo', args: { a: 1 } }, { timeout: 5000 });
    expect((await received).args).toEqual(name === 'JSON-RPC' ? { a: 1 } : [{ a: 1 }]);
  });

  it('casts (a notification, or a call whose answer is dropped)', async () => {
    const ran = h.next('note');
    await driver.cast(ADDRESS, { method: 'note', args: ['cast'] });
    expect((await ran).args).toEqual(['cast']);
    await driver.cast(ADDRESS, { method: 'fail', args: [] }); // the failure is not reported to a cast
  });

  it('times out with RpcTimeoutError, and stops on an abort signal', async () => {
    const started = h.next('wait');
    await expect(driver.call(ADDRESS, { method: 'wait', args: [] }, { timeout: 150 })).rejects.toThrow(RpcTimeoutError);
    await started;
    const controller = new AbortController();
    const aborted = driver.call(ADDRESS, { method: 'wait', args: [] }, { timeout: 5000, signal: controller.signal });
    controller.abort(new RpcError('stop'));
    await expect(aborted).rejects.toThrow('stop');
    h.release();
    expect(await driver.call(ADDRESS, { method: 'add', args: [1, 1] }, { timeout: 5000 })).toEqual({ ok: true, result: 2 });
  });

  it('says what is wrong: a body over the server limit, a reply over ours, a wrong path, what cannot be sent', async () => {
    await expect(driver.call(ADDRESS, { method: 'echo', args: ['x'.repeat(20_000)] }, { timeout: 5000 })).rejects.toThrow(FrameError);
    const small = make(`${prefix}${gw.address}`, { maxMessageSize: 100 });
    await expect(small.call(ADDRESS, { method: 'echo', args: ['y'.repeat(500)] }, { timeout: 5000 })).rejects.toThrow(/maxMessageSize/);
    await small.close();
    const lost = make(`${prefix}${new URL('/nowhere', gw.address).href}`);
    await expect(lost.call(ADDRESS, { method: 'add', args: [1, 2] }, { timeout: 5000 })).rejects.toThrow(/HTTP 404.*path/);
    await expect(lost.call(ADDRESS, { method: 'echo', args: [10n ** 30n] }, { timeout: 5000 })).rejects.toThrow(RpcError);
    await lost.close();
  });

  it('says so when the URL is no RPC endpoint (a web page answering 200)', async () => {
    const page = createServer((_req, res) => res.end('<html><body>hello</body></html>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const d = make(`${prefix}http://127.0.0.1:${(page.address() as AddressInfo).port}/`);
    await expect(d.call(ADDRESS, { method: 'add', args: [1, 2] }, { timeout: 5000 })).rejects.toThrow(FrameError);
    await d.cast(ADDRESS, { method: 'add', args: [1, 2] }); // a cast checks only that the server took it
    await d.close();
    await new Promise((resolve) => page.close(resolve));
  });

  it('fails with RpcConnectionError when nothing listens', async () => {
    const closed = await createGateway({ handler: h.handler });
    const url = closed.address;
    await closed.close();
    const d = make(`${prefix}${url}`);
    await expect(d.call(ADDRESS, { method: 'add', args: [1, 2] }, { timeout: 5000 })).rejects.toThrow(RpcConnectionError);
    await expect(d.cast(ADDRESS, { method: 'note', args: [] })).rejects.toThrow(/cannot reach/);
    await d.close();
  });

  it('listens: driver.listen() starts a gateway on the URL', async () => {
    const server = make(`${prefix}http://127.0.0.1:0/rpc`);
    const listener = await server.listen(ADDRESS, h.handler);
    expect(listener.address).toMatch(new RegExp(`^${prefix.replace('+', '\\+')}http://127\\.0\\.0\\.1:\\d+/rpc$`));
    const client = make(listener.address as string);
    expect(await client.call(ADDRESS, { method: 'add', args: [20, 22] }, { timeout: 5000 })).toEqual({ ok: true, result: 42 });
    await listener.close();
    await expect(client.call(ADDRESS, { method: 'add', args: [1, 1] }, { timeout: 5000 })).rejects.toThrow(RpcConnectionError);
    await client.close();
    await server.close();
  });
});

describe('closing and TLS', () => {
  it('close() lets running calls answer first', async () => {
    const h = makeHandler();
    const gw = await createGateway({ handler: h.handler });
    const driver = createJsonRpcDriver(gw.address, {});
    const started = h.next('wait');
    const running = driver.call(ADDRESS, { method: 'wait', args: [] }, { timeout: 5000 });
    await started;
    let closed = false;
    const closing = gw.close().then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    h.release();
    expect(await running).toEqual({ ok: true, result: 'released' });
    await closing;
    await driver.close();
  });

  it('serves https with a certificate; a client without the CA is refused with a TLS error', async () => {
    const dir = tempDir('celeriac-http-tls-');
    try {
      const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir.path, stdio: 'ignore' });
      writeFileSync(join(dir.path, 'san.ext'), 'subjectAltName = IP:127.0.0.1\n');
      ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=celeriac test CA');
      ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
      ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
      const read = (f: string): Buffer => readFileSync(dir.file(f));
      const h = makeHandler();
      const server = createXmlRpcDriver('xmlrpc+https://127.0.0.1:0/', { tls: { cert: read('server.pem'), key: read('server.key') } });
      const listener = await server.listen(ADDRESS, h.handler);
      expect(listener.address).toMatch(/^xmlrpc\+https:/);
      const trusted = createXmlRpcDriver(listener.address as string, { tls: { ca: read('ca.pem') } });
      expect(await trusted.call(ADDRESS, { method: 'add', args: [1, 2] }, { timeout: 5000 })).toEqual({ ok: true, result: 3 });
      const stranger = createXmlRpcDriver(listener.address as string, {});
      await expect(stranger.call(ADDRESS, { method: 'add', args: [1, 2] }, { timeout: 5000 })).rejects.toThrow(/TLS .*certificate/);
      await Promise.all([trusted.close(), stranger.close()]);
      await server.close();
    } finally {
      dir.remove();
    }
  });
});
