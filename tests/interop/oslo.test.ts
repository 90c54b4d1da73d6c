// Interop with Python oslo.messaging 14 (Debian's python3-oslo.messaging) on RabbitMQ, in a vhost of its own:
// a Python RPCClient calls celeriac servers, and a celeriac client calls Python RPC servers, both ways through
// the same exchanges and queues (declared by either side first): call, cast, fanout cast, one server, remote
// errors typed on each side, and the call monitor's heartbeats of a long call.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, RemoteError } from '../../src/index.js';
import { createBrokerDriver } from '../../src/rpc/broker/index.js';
import type { RpcDriver, RpcHandler, RpcRequest } from '../../src/rpc/types.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import type { Spawned } from '../helpers/processes.js';
import { until } from '../helpers/temp.js';
import { stopProcess } from './helpers.js';
import { castsOf, requireOslo, runOsloClient, startOsloServer } from './oslo-helpers.js';

const T = 10_000;

describe('oslo.messaging interop on RabbitMQ', () => {
  let vhost: Vhost;
  let app: Celeriac;
  const drivers: RpcDriver[] = [];
  const peers: Spawned[] = [];
  const quiet = { debug: () => undefined, warn: () => undefined };

  beforeAll(async () => {
    requireOslo();
    vhost = await createVhost();
    app = new Celeriac('oslo-interop', { broker: vhost.url, backend: 'memory://' });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(peers.splice(0).map((p) => stopProcess(p, 5_000)));
    for (const d of drivers.splice(0)) await d.close();
    await app?.close();
    await vhost?.remove();
  }, 60_000);

  const driver = (): RpcDriver => {
    const d = createBrokerDriver(() => app.connection(), { logger: quiet });
    drivers.push(d);
    return d;
  };

  describe('a Python RPCClient calls celeriac servers', () => {
    const topic = `celeriac-${randomUUID().slice(0, 8)}`;
    const got: { server: string; request: RpcRequest; oneWay: boolean }[] = [];

    beforeAll(async () => {
      for (const server of ['c1', 'c2']) {
        const handler: RpcHandler = async (request, info) => {
          got.push({ server, request, oneWay: info.oneWay });
          const args = request.args as Record<string, number>;
          switch (request.method) {
            case 'add':
              return { ok: true, result: Number(args['x']) + Number(args['y']) };
            case 'echo':
              return { ok: true, result: { server, args: request.args, context: request.context ?? null } };
            case 'fail':
              return { ok: false, error: { type: 'ValueError', module: 'builtins', message: `bad x: ${String(args['x'])}`, stack: 'Error: bad x\n    at fail (calc.ts:3:9)' } };
            case 'odd':
              return { ok: false, error: { type: 'OddError', module: 'celeriac', message: 'odd numbers only', stack: 'OddError: odd numbers only\n    at odd (calc.ts:9:1)' } };
            case 'slow':
              await new Promise((r) => setTimeout(r, 3_000));
              return { ok: true, result: 'slept' };
            default:
              return { ok: true, result: null };
          }
        };
        await driver().listen({ topic, server }, handler);
      }
    }, 30_000);

    it('call (to the topic and to one server), cast and fanout cast arrive as sent; results go back', async () => {
      const results = await runOsloClient(vhost.url, [
        { op: 'call', topic, method: 'add', kwargs: { x: 2, y: 40 } },
        { op: 'call', topic, server: 'c2', method: 'echo', kwargs: { word: 'hi', list: [1, 2] }, context: { user: 'alice', request_id: 'req-7' } },
        { op: 'cast', topic, method: 'record', kwargs: { n: 1 } },
        { op: 'cast', topic, fanout: true, method: 'record', kwargs: { n: 2 } },
      ]);
      expect(results[0]).toEqual({ ok: true, result: 42 });
      expect(results[1]).toEqual({ ok: true, result: { server: 'c2', args: { word: 'hi', list: [1, 2] }, context: { user: 'alice', request_id: 'req-7' } } });
      await until(() => got.filter((g) => g.request.method === 'record').length === 3, T);
      const records = got.filter((g) => g.request.method === 'record');
      expect(records.every((r) => r.oneWay)).toBe(true);
      expect(records.filter((r) => (r.request.args as { n: number }).n === 1)).toHaveLength(1);
      expect(records.filter((r) => (r.request.args as { n: number }).n === 2).map((r) => r.server).sort()).toEqual(['c1', 'c2']);
    }, 60_000);

    it('a failure on the celeriac side arrives typed in Python: a builtin type as itself, others as RemoteError', async () => {
      const [builtin, custom] = await runOsloClient(vhost.url, [
        { op: 'call', topic, method: 'fail', kwargs: { x: 7 } },
        { op: 'call', topic, method: 'odd', kwargs: {} },
      ]);
      expect(builtin).toMatchObject({ ok: false, exc_class: 'ValueError', exc_module: 'builtins' });
      expect(builtin?.str).toContain('bad x: 7');
      expect(builtin?.str).toContain('at fail (calc.ts:3:9)');
      expect(custom).toMatchObject({ ok: false, exc_class: 'RemoteError', exc_module: 'oslo_messaging.rpc.client', exc_type: 'OddError', message: 'odd numbers only' });
      expect(custom?.traceback?.join('')).toContain('at odd (calc.ts:9:1)');
    }, 60_000);

    it("a long call outlives Python's call-monitor timeout: the celeriac server heartbeats it", async () => {
      const [slow] = await runOsloClient(vhost.url, [{ op: 'call', topic, method: 'slow', kwargs: {}, timeout: 30, call_monitor_timeout: 2 }]);
      expect(slow).toEqual({ ok: true, result: 'slept' });
    }, 60_000);

    it("a Python server joins the celeriac servers' topic: the shared queues, declared by celeriac first, fit it", async () => {
      const p3 = await startOsloServer(vhost.url, topic, 'p3');
      peers.push(p3);
      expect(await driver().call({ topic, server: 'p3' }, { method: 'whoami', args: {} }, { timeout: T })).toEqual({ ok: true, result: 'p3' });
      await stopProcess(p3, 5_000);
    }, 60_000);
  });

  describe('a celeriac client calls Python RPC servers', () => {
    const topic = `oslo-${randomUUID().slice(0, 8)}`;
    let p1: Spawned;
    let p2: Spawned;
    let client: RpcDriver;

    beforeAll(async () => {
      [p1, p2] = await Promise.all([startOsloServer(vhost.url, topic, 'p1'), startOsloServer(vhost.url, topic, 'p2')]);
      peers.push(p1, p2);
      client = driver();
    }, 90_000);

    it('call (to the topic and to one server) with context; cast and fanout cast reach the Python servers', async () => {
      expect(await client.call({ topic }, { method: 'add', args: { x: 2, y: 40 } }, { timeout: T })).toEqual({ ok: true, result: 42 });
      for (const server of ['p1', 'p2']) expect(await client.call({ topic, server }, { method: 'whoami', args: {} }, { timeout: T })).toEqual({ ok: true, result: server });
      const echo = await client.call({ topic, server: 'p2' }, { method: 'echo', args: { a: [1, { b: null }] }, context: { user: 'bob', request_id: 'req-1' } }, { timeout: T });
      expect(echo).toMatchObject({ ok: true, result: { server: 'p2', args: { a: [1, { b: null }] }, context: { user: 'bob', request_id: 'req-1' } } });
      await client.cast({ topic }, { method: 'record', args: { n: 1 }, context: { user: 'bob' } });
      await until(() => castsOf(p1).length + castsOf(p2).length === 1, T);
      expect([...castsOf(p1), ...castsOf(p2)][0]).toMatchObject({ args: { n: 1 }, context: { user: 'bob' } });
      await client.cast({ topic, fanout: true }, { method: 'record', args: { n: 2 } });
      await until(() => [p1, p2].every((p) => castsOf(p).some((c) => c.args['n'] === 2)), T);
    }, 60_000);

    it('a Python exception arrives typed, with its remote traceback', async () => {
      const fail = await client.call({ topic }, { method: 'fail', args: { x: 7 } }, { timeout: T });
      expect(fail).toMatchObject({ ok: false, error: { type: 'ValueError', module: 'builtins', message: 'bad x: 7' } });
      if (fail.ok) return;
      expect(fail.error.stack).toMatch(/^Traceback \(most recent call last\):\n/);
      expect(fail.error.stack).toContain("raise ValueError('bad x: %s' % (x,))");
      const rebuilt = new RemoteError(fail.error);
      expect(rebuilt.remoteType).toBe('ValueError');
      expect(rebuilt.toString()).toContain('--- remote stack (builtins) ---');
      expect(await client.call({ topic }, { method: 'custom_fail', args: {} }, { timeout: T })).toMatchObject({ ok: false, error: { type: 'BrokenThing', module: '__main__', message: 'the thing broke' } });
      expect(await client.call({ topic }, { method: 'no_such', args: {} }, { timeout: T })).toMatchObject({
        ok: false,
        error: { type: 'NoSuchMethod', module: 'oslo_messaging.rpc.dispatcher', message: expect.stringContaining('no_such') as unknown },
      });
    }, 60_000);

    it("a celeriac server joins the Python servers' topic (their queues and fanout exchange fit it); a Python fanout reaches all three", async () => {
      const got: RpcRequest[] = [];
      await driver().listen({ topic, server: 'c3' }, async (request) => {
        got.push(request);
        return { ok: true, result: request.method === 'whoami' ? 'c3' : null };
      });
      const [who] = await runOsloClient(vhost.url, [
        { op: 'call', topic, server: 'c3', method: 'whoami' },
        { op: 'cast', topic, fanout: true, method: 'record', kwargs: { n: 3 } },
      ]);
      expect(who).toEqual({ ok: true, result: 'c3' });
      await until(() => [p1, p2].every((p) => castsOf(p).some((c) => c.args['n'] === 3)) && got.some((r) => r.method === 'record'), T);
      expect(got.find((r) => r.method === 'record')?.args).toEqual({ n: 3 });
    }, 60_000);

    it('a long call outlives its timeout: the Python server heartbeats the celeriac caller', async () => {
      // _timeout 2 s: oslo heartbeats every 1 s; the method takes 3.5 s.
      expect(await client.call({ topic, server: 'p1' }, { method: 'slow', args: { seconds: 3.5 } }, { timeout: 2_000 })).toEqual({ ok: true, result: 'slept 3.5' });
    }, 60_000);
  });
});
