// The broker RPC driver (oslo.messaging's rabbit wire format) end to end on memory://, sqlite://, redis:// and
// amqp:// (a vhost of its own), with plain RpcHandlers: call, cast, fanout, one server, competing servers,
// no server, the call monitor's heartbeats, remote errors, malformed requests and replies, cleanup on close.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, RpcError, RpcTimeoutError } from '../../src/index.js';
import { createBrokerDriver, type BrokerDriverOptions } from '../../src/rpc/broker/index.js';
import { decodeReply, encodeRequest } from '../../src/rpc/broker/wire.js';
import type { IncomingInfo, RpcDriver, RpcHandler, RpcOutcome, RpcRequest } from '../../src/rpc/types.js';
import type { RawMessage } from '../../src/protocol/message.js';
import type { Delivery, Transport } from '../../src/transport/types.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const T = 5_000;

/** A handler that records what it got and answers with `answer`. */
function recorder(answer: (r: RpcRequest, info: IncomingInfo) => Promise<RpcOutcome> | RpcOutcome = (r) => ({ ok: true, result: r.args })) {
  const seen: { request: RpcRequest; info: IncomingInfo }[] = [];
  const handler: RpcHandler = async (request, info) => {
    seen.push({ request, info });
    return answer(request, info);
  };
  return { seen, handler };
}

const rawJson = (text: string): RawMessage => ({ body: Buffer.from(text), contentType: 'application/json', contentEncoding: 'utf-8', headers: {}, properties: {} });

for (const kind of ['memory', 'sqlite', 'redis', 'amqp'] as const) {
  describe(`broker RPC driver on ${kind}://`, () => {
    let dir: TempDir;
    let vhost: Vhost | undefined;
    const keyPrefix = `celeriac-test-${randomUUID()}:`;
    const apps: Celeriac[] = [];
    let serverApp: Celeriac;
    let clientApp: Celeriac;
    const drivers: RpcDriver[] = [];
    const warnings: string[] = [];

    beforeAll(async () => {
      dir = tempDir();
      vhost = kind === 'amqp' ? await createVhost() : undefined;
      const url = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? `sqlite://${dir.file('broker.db')}` : vhost ? vhost.url : REDIS_URL;
      const make = (): Celeriac => {
        const app = new Celeriac('rpc-tests', { broker: url, backend: 'memory://', brokerOptions: { keyPrefix } });
        apps.push(app);
        return app;
      };
      serverApp = make();
      // memory:// lives inside one app: both ends share it; elsewhere they connect apart, as two processes would.
      clientApp = kind === 'memory' ? serverApp : make();
    }, 60_000);

    afterAll(async () => {
      for (const a of apps.splice(0)) await a.close();
      dir.remove();
      if (kind === 'redis') await deleteKeys(keyPrefix);
      await vhost?.remove();
    }, 60_000);

    afterEach(async () => {
      for (const d of drivers.splice(0)) await d.close();
      warnings.length = 0;
    });

    const driver = (app: Celeriac, options: BrokerDriverOptions = {}): RpcDriver => {
      const d = createBrokerDriver(() => app.connection(), { logger: { debug: () => undefined, warn: (m) => warnings.push(m) }, ...options });
      drivers.push(d);
      return d;
    };
    const topic = (): string => `t-${randomUUID().slice(0, 8)}`;

    it('call: the handler sees method, keyword args, namespace, version and context; the result comes back', async () => {
      const topicName = topic();
      const { seen, handler } = recorder((r) => ({ ok: true, result: { sum: Number((r.args as { x: number }).x) + 40, echo: r.args } }));
      await driver(serverApp).listen({ topic: topicName, server: 's1' }, handler);
      const client = driver(clientApp);
      const request = { method: 'add', args: { x: 2, nested: [1, { a: null }] }, namespace: 'calc', version: '1.3', context: { user: 'alice', request_id: 'req-9' } };
      const outcome = await client.call({ topic: topicName }, request, { timeout: T });
      expect(outcome).toEqual({ ok: true, result: { sum: 42, echo: request.args } });
      expect(seen[0]?.request).toEqual(request);
      expect(seen[0]?.info.oneWay).toBe(false);
      expect(await client.call({ topic: topicName }, { method: 'nothing', args: {} }, { timeout: T })).toMatchObject({ ok: true });
      // A timeout of Infinity waits for ever (no timer, no call monitor, no expiration on the request).
      expect(await client.call({ topic: topicName }, { method: 'forever', args: { k: 1 } }, { timeout: Infinity })).toEqual({ ok: true, result: { sum: null, echo: { k: 1 } } });
    });

    it('cast reaches one server of the topic; a fanout cast reaches every server', async () => {
      const topicName = topic();
      const servers = ['s1', 's2'].map((name) => ({ name, ...recorder() }));
      for (const s of servers) await driver(serverApp).listen({ topic: topicName, server: s.name }, s.handler);
      const client = driver(clientApp);
      await client.cast({ topic: topicName }, { method: 'ping', args: { n: 1 } });
      await until(() => servers.reduce((n, s) => n + s.seen.length, 0) === 1, T);
      expect(servers.flatMap((s) => s.seen)[0]?.info.oneWay).toBe(true);
      await client.cast({ topic: topicName, fanout: true }, { method: 'reload', args: { force: true } });
      await until(() => servers.every((s) => s.seen.some((x) => x.request.method === 'reload')), T);
      await client.cast({ topic: topicName, server: 's2' }, { method: 'only', args: {} });
      await until(() => servers[1]?.seen.some((x) => x.request.method === 'only') === true, T);
      expect(servers[0]?.seen.some((x) => x.request.method === 'only')).toBe(false);
      await expect(client.call({ topic: topicName, fanout: true }, { method: 'x', args: {} }, { timeout: T })).rejects.toThrow(/use cast\(\) for a fanout/);
    });

    it('a call to one server goes to that server; calls to the topic are shared between its servers', async () => {
      const topicName = topic();
      const served: string[] = [];
      for (const name of ['s1', 's2']) {
        // One request at a time per server: the broker hands the next one to whichever server is free.
        await driver(serverApp, { concurrency: 1 }).listen({ topic: topicName, server: name }, async () => {
          served.push(name);
          await new Promise((r) => setTimeout(r, 20));
          return { ok: true, result: name };
        });
      }
      const client = driver(clientApp);
      for (let i = 0; i < 4; i++) expect(await client.call({ topic: topicName, server: 's2' }, { method: 'who', args: {} }, { timeout: T })).toEqual({ ok: true, result: 's2' });
      served.length = 0;
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => client.call({ topic: topicName }, { method: 'who', args: {} }, { timeout: T })));
      expect(outcomes.every((o) => o.ok)).toBe(true);
      expect(served.length).toBe(12);
      expect(new Set(served)).toEqual(new Set(['s1', 's2']));
    });

    it('a call nobody serves rejects with RpcTimeoutError naming the topic, exchange and server', async () => {
      const client = driver(clientApp);
      const topicName = topic();
      const started = Date.now();
      const err = await client.call({ topic: topicName, server: 'ghost', exchange: 'nova' }, { method: 'add', args: {} }, { timeout: 300 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcTimeoutError);
      expect((err as Error).message).toMatch(new RegExp(`no server answered 'add' on topic '${topicName}' \\(exchange 'nova', server 'ghost'\\) within 300 ms`));
      expect((err as Error).message).toMatch(/check that an RPC server listens/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      const aborted = new AbortController();
      const pending = client.call({ topic: topicName }, { method: 'add', args: {} }, { timeout: 60_000, signal: aborted.signal });
      aborted.abort(new RpcError('stop waiting'));
      await expect(pending).rejects.toThrow('stop waiting');
    });

    it('a call that runs past its timeout succeeds while its server heartbeats; without heartbeats it times out', async () => {
      const topicName = topic();
      const slow: RpcHandler = async () => {
        await new Promise((r) => setTimeout(r, 1_000));
        return { ok: true, result: 'done' };
      };
      await driver(serverApp).listen({ topic: topicName, server: 'beats' }, slow);
      await driver(serverApp).listen({ topic: topicName, server: 'silent' }, slow, { heartbeatInterval: 0 });
      const client = driver(clientApp);
      expect(await client.call({ topic: topicName, server: 'beats' }, { method: 'slow', args: {} }, { timeout: 400 })).toEqual({ ok: true, result: 'done' });
      await expect(client.call({ topic: topicName, server: 'silent' }, { method: 'slow', args: {} }, { timeout: 400 })).rejects.toBeInstanceOf(RpcTimeoutError);
    });

    it('a failure arrives as RemoteErrorInfo (type, module, message, stack, data); a handler that throws too', async () => {
      const topicName = topic();
      await driver(serverApp).listen({ topic: topicName, server: 's1' }, async (r) => {
        if (r.method === 'throws') throw new RangeError('out of range');
        return { ok: false, error: { type: 'ValueError', module: 'builtins', message: 'bad x: 7', stack: 'Traceback:\n  line 1\nValueError: bad x: 7', data: { code: 7 } } };
      });
      const client = driver(clientApp);
      expect(await client.call({ topic: topicName }, { method: 'fails', args: {} }, { timeout: T })).toEqual({
        ok: false,
        error: { type: 'ValueError', module: 'builtins', message: 'bad x: 7', stack: 'Traceback:\n  line 1\nValueError: bad x: 7\n', data: { code: 7 } },
      });
      const thrown = await client.call({ topic: topicName }, { method: 'throws', args: {} }, { timeout: T });
      expect(thrown).toMatchObject({ ok: false, error: { type: 'RangeError', message: 'out of range', module: null } });
      expect(!thrown.ok && thrown.error.stack).toMatch(/RangeError: out of range\n\s+at /);
    });

    it('malformed requests are dead-lettered with a logged reason (a waiting caller is told) and the server keeps serving', async () => {
      const topicName = topic();
      await driver(serverApp).listen({ topic: topicName, server: 's1' }, recorder().handler);
      const t: Transport = await clientApp.connection();
      const replies = `reply_${randomUUID().replace(/-/g, '')}`;
      await t.declareQueue({ name: replies, durable: false, autoDelete: false });
      const got: Delivery[] = [];
      const consumer = t.createConsumer({ prefetch: 0, onMessage: (d) => void d.ack().then(() => got.push(d)) });
      await consumer.consume(replies);
      try {
        const bad = [
          rawJson('{not json'),
          rawJson('{"method": "add", "args": {}}'),
          rawJson(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify({ method: 'add', args: 'x' }) })),
          rawJson(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': JSON.stringify({ method: 5, _msg_id: 'm1', _reply_q: replies, _timeout: null }) })),
        ];
        for (const m of bad) await t.publish(m, { exchange: '', routingKey: topicName });
        await until(() => got.length === 1, T);
        const reply = decodeReply((got[0] as Delivery).message);
        expect(reply.ok && reply.value).toMatchObject({ msgId: 'm1', ending: true, outcome: { ok: false, error: { type: 'MalformedRequest', message: expect.stringMatching(/"method" must be a non-empty string/) as unknown } } });
        await until(() => warnings.length === 4, T);
        expect(warnings.join('\n')).toMatch(/not JSON[^]*no oslo envelope[^]*"args" must be an object[^]*"method" must be/);
        if (t.capabilities.deadLetter) {
          const server = await serverApp.connection();
          await until(async () => (await server.deadLetters(50)).filter((d) => d.queue === topicName).length === 4, T);
          expect((await server.deadLetters(50)).find((d) => d.queue === topicName)?.reason).toMatch(/^malformed oslo request: /);
        }
        // A good request after the bad ones is served.
        const ok = encodeRequest({ method: 'add', args: { x: 1 } }, { uniqueId: 'u1', msgId: 'm2', replyQueue: replies, callMonitorTimeout: null });
        await t.publish(ok, { exchange: '', routingKey: topicName });
        await until(() => got.length === 2, T);
        expect(decodeReply((got[1] as Delivery).message)).toMatchObject({ ok: true, value: { msgId: 'm2', outcome: { ok: true, result: { x: 1 } } } });
      } finally {
        await consumer.close();
        await t.deleteQueue(replies);
      }
    });

    it('a malformed or unexpected reply never breaks the caller', async () => {
      const topicName = topic();
      await driver(serverApp).listen({ topic: topicName, server: 's1' }, recorder().handler);
      const replyQueue = `reply_${randomUUID().replace(/-/g, '')}`;
      const client = driver(clientApp, { replyQueue });
      expect(await client.call({ topic: topicName }, { method: 'a', args: { n: 1 } }, { timeout: T })).toEqual({ ok: true, result: { n: 1 } });
      const t = await clientApp.connection();
      await t.publish(rawJson('garbage'), { exchange: '', routingKey: replyQueue });
      await t.publish(rawJson(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{"result": 1, "ending": true}' })), { exchange: '', routingKey: replyQueue });
      await t.publish(rawJson(JSON.stringify({ 'oslo.version': '2.0', 'oslo.message': '{"result": 1, "ending": true, "_msg_id": "nobody"}' })), { exchange: '', routingKey: replyQueue });
      await until(() => warnings.length === 2, T);
      expect(warnings.join('\n')).toMatch(/malformed reply[^]*not JSON[^]*malformed reply[^]*_msg_id/);
      expect(await client.call({ topic: topicName }, { method: 'b', args: { n: 2 } }, { timeout: T })).toEqual({ ok: true, result: { n: 2 } });
    });

    it("close() deletes the driver's reply and fanout queues, keeps the shared queues and the app's transport", async () => {
      const topicName = topic();
      const replyQueue = `reply_${randomUUID().replace(/-/g, '')}`;
      const server = driver(serverApp);
      const listener = await server.listen({ topic: topicName, server: 's1' }, recorder().handler);
      const client = driver(clientApp, { replyQueue });
      await client.call({ topic: topicName }, { method: 'a', args: {} }, { timeout: T });
      const names = async (app: Celeriac): Promise<string[]> => (await (await app.connection()).listQueues()).map((q) => q.name);
      await until(async () => (await names(clientApp)).includes(replyQueue), T);
      expect((await names(serverApp)).filter((n) => n.startsWith(`${topicName}_fanout_`))).toHaveLength(1);
      await client.close();
      await listener.close();
      await until(async () => !(await names(clientApp)).includes(replyQueue) && !(await names(serverApp)).some((n) => n.startsWith(`${topicName}_fanout_`)), 15_000);
      expect(await names(serverApp)).toEqual(expect.arrayContaining([topicName, `${topicName}.s1`]));
      await expect(client.call({ topic: topicName }, { method: 'a', args: {} }, { timeout: T })).rejects.toThrow(/driver is closed/);
      // The app's transport still works: a new driver on it calls a new server.
      await server.listen({ topic: topicName, server: 's1' }, recorder().handler);
      expect(await driver(clientApp).call({ topic: topicName }, { method: 'a', args: { k: 1 } }, { timeout: T })).toEqual({ ok: true, result: { k: 1 } });
    });
  });
}
