// The RPC core without any wire: dispatcher (public methods, namespaces, versions, errors), the typed client
// and the server, joined by a loopback driver that hands requests straight to the listening handler.
import { describe, expect, it } from 'vitest';
import { Dispatcher, publicMethods, versionCompatible, RpcClient, RpcServer, docsFromSource, type RpcCallContext, type RpcDriver, type RpcHandler, type RpcAddress, type RpcRequest } from '../../../src/rpc/index.js';
import { NoSuchMethodError, RemoteError, RpcError, RpcTimeoutError, UnsupportedVersionError } from '../../../src/errors.js';

/** Requests go straight to the handler of the topic (or topic.server) that listens; casts are not awaited. */
function loopback(): RpcDriver & { requests: RpcRequest[] } {
  const handlers = new Map<string, RpcHandler[]>();
  const requests: RpcRequest[] = [];
  const pick = (a: RpcAddress): RpcHandler[] => handlers.get(a.server ? `${a.topic}.${a.server}` : a.topic) ?? [];
  let turn = 0;
  return {
    requests,
    async call(address, request, { timeout }) {
      requests.push(request);
      const hs = pick(address);
      const h = hs[turn++ % Math.max(1, hs.length)];
      if (!h) {
        await new Promise((r) => setTimeout(r, timeout));
        throw new RpcTimeoutError(`no server answered on topic '${address.topic}'`);
      }
      return h(JSON.parse(JSON.stringify(request)) as RpcRequest, { oneWay: false });
    },
    async cast(address, request) {
      requests.push(request);
      const hs = address.fanout ? pick({ topic: address.topic }) : pick(address).slice(0, 1);
      for (const h of hs) void h(request, { oneWay: true });
    },
    async listen(address, handler) {
      for (const key of [address.topic, `${address.topic}.${address.server ?? ''}`]) handlers.set(key, [...(handlers.get(key) ?? []), handler]);
      return { close: async () => { for (const [k, hs] of handlers) handlers.set(k, hs.filter((x) => x !== handler)); } };
    },
    async close() {},
  };
}

class Compute {
  calls = 0;
  /** Adds x and y. */
  add({ x, y }: { x: number; y: number }): number {
    this.calls++;
    return x + y;
  }
  async whoami(_args: Record<string, never>, ctx?: RpcCallContext): Promise<unknown> {
    return ctx?.context['user'] ?? null;
  }
  fail({ message }: { message: string }): never {
    throw new RangeError(message);
  }
  sum(...numbers: number[]): number {
    return numbers.reduce((a, b) => a + b, 0);
  }
  _secret(): string {
    return 'hidden';
  }
  get value(): number {
    throw new Error('a getter is not a method and must not run');
  }
}

interface ComputeApi {
  add(args: { x: number; y: number }): number;
  whoami(args: Record<string, never>, ctx?: RpcCallContext): Promise<unknown>;
  fail(args: { message: string }): never;
  sum(...numbers: number[]): number;
}

describe('Dispatcher', () => {
  it('exposes public methods only: no _names, constructor, getters or Object.prototype members', () => {
    expect([...publicMethods(new Compute()).keys()].sort()).toEqual(['add', 'fail', 'sum', 'whoami']);
    expect([...publicMethods({ ping: () => 'pong', _x: () => 1, n: 3 }).keys()]).toEqual(['ping']);
  });

  it('answers no such method for private, inherited Object and unknown names', async () => {
    const d = new Dispatcher([new Compute()]);
    for (const method of ['_secret', 'toString', 'hasOwnProperty', 'constructor', '__proto__', 'nope', 'value']) {
      const out = await d.handle({ method, args: {} }, { oneWay: false });
      expect(out).toMatchObject({ ok: false, error: { type: 'NoSuchMethod', module: 'oslo_messaging.rpc.dispatcher' } });
    }
  });

  it('picks the endpoint by namespace and a compatible version', async () => {
    const v1 = { target: { version: '1.3' }, which: () => 'v1.3' };
    const v2 = { target: { version: '2.0' }, which: () => 'v2.0' };
    const ns = { target: { namespace: 'admin', version: '1.0' }, which: () => 'admin' };
    const d = new Dispatcher([v1, v2, ns]);
    const which = async (version?: string, namespace?: string) => d.handle({ method: 'which', args: {}, ...(version ? { version } : {}), ...(namespace ? { namespace } : {}) }, { oneWay: false });
    expect(await which('1.2')).toEqual({ ok: true, result: 'v1.3' });
    expect(await which()).toEqual({ ok: true, result: 'v1.3' });
    expect(await which('2.0')).toEqual({ ok: true, result: 'v2.0' });
    expect(await which('1.0', 'admin')).toEqual({ ok: true, result: 'admin' });
    expect(await which('1.4')).toMatchObject({ ok: false, error: { type: 'UnsupportedVersion' } });
    expect(await which('3.0')).toMatchObject({ ok: false, error: { type: 'UnsupportedVersion' } });
    expect(await which('1.0', 'other')).toMatchObject({ ok: false, error: { type: 'UnsupportedVersion' } });
    expect(await which('one')).toMatchObject({ ok: false, error: { type: 'UnsupportedVersion', message: expect.stringContaining("'one' is not a version") } });
  });

  it('compares versions as oslo does', () => {
    expect(versionCompatible('1.3', '1.2')).toBe(true);
    expect(versionCompatible('1.3', '1.3')).toBe(true);
    expect(versionCompatible('1.3', '1.4')).toBe(false);
    expect(versionCompatible('2.0', '1.0')).toBe(false);
    expect(versionCompatible('1.3.1', '1.3.2')).toBe(false);
    expect(versionCompatible('1.4', '1.3.9')).toBe(true);
  });

  it('describes its methods with doc lines, namespaces and versions', () => {
    const d = new Dispatcher([new Compute(), { target: { namespace: 'admin', version: '2.1' }, stop: () => 1 }], { docs: docsFromSource(COMPUTE_SOURCE) });
    expect(d.describe()).toContainEqual({ name: 'add', doc: 'Adds x and y.', version: '1.0' });
    expect(d.describe()).toContainEqual({ name: 'stop', namespace: 'admin', version: '2.1' });
  });

  it('refuses a bad endpoint or version at construction', () => {
    expect(() => new Dispatcher([])).toThrow(/at least one endpoint/);
    expect(() => new Dispatcher([{ target: { version: 'x' } }])).toThrow(/not a version/);
  });
});

const COMPUTE_SOURCE = `
/** Adds x and y. More text here. */
export function add(a, b) {}
/**
 * Streams the file.
 * @param path where
 */
export async function stream(path) {}
/** Doubles. */
export const double = (n) => n * 2;
class X {
  /** A method. */
  async run() {}
}
`;

describe('docsFromSource', () => {
  it('reads the first sentence of the JSDoc above functions, consts and methods', () => {
    expect(Object.fromEntries(docsFromSource(COMPUTE_SOURCE))).toEqual({ add: 'Adds x and y.', stream: 'Streams the file.', double: 'Doubles.', run: 'A method.' });
  });
});

describe('RpcClient and RpcServer over a loopback driver', () => {
  async function setup() {
    const driver = loopback();
    const compute = new Compute();
    const server = await new RpcServer(async () => driver, { topic: 'compute', server: 'h1' }, [compute]).start();
    const client = new RpcClient<ComputeApi>(async () => driver, { topic: 'compute', timeout: 200 });
    return { driver, compute, server, client };
  }

  it('calls with keyword and positional arguments, through call() and the proxy', async () => {
    const { client } = await setup();
    expect(await client.call('add', { x: 1, y: 2 })).toBe(3);
    expect(await client.proxy.add({ x: 20, y: 22 })).toBe(42);
    expect(await client.call('sum', [1, 2, 3])).toBe(6);
    expect(await client.proxy.sum(4, 5, 6)).toBe(15);
  });

  it('passes the caller context to keyword methods', async () => {
    const { client } = await setup();
    expect(await client.prepare({ context: { user: 'ada' } }).call('whoami', {})).toBe('ada');
    expect(await client.call('whoami', {}, { context: { user: 'bob' } })).toBe('bob');
  });

  it('rethrows remote failures typed, with the remote stack apart from the local one', async () => {
    const { client } = await setup();
    const err = await client.call('fail', { message: 'out of range' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    const remote = err as RemoteError;
    expect(remote.remoteType).toBe('RangeError');
    expect(remote.remoteModule).toBe('builtins');
    expect(remote.message).toBe('RangeError: out of range');
    expect(remote.remoteStack).toContain('Compute.fail');
    expect(remote.stack).not.toContain('Compute.fail');
    expect(String(remote)).toContain('--- remote stack');
    const missing = await client.call('nope' as 'add', { x: 1, y: 1 }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NoSuchMethodError);
    const old = await client.prepare({ version: '1.5' }).call('add', { x: 1, y: 1 }).catch((e: unknown) => e);
    expect(old).toBeInstanceOf(UnsupportedVersionError);
  });

  it('casts, fanout casts to every server, and refuses a fanout call', async () => {
    const { driver, compute, client } = await setup();
    const other = new Compute();
    await new RpcServer(async () => driver, { topic: 'compute', server: 'h2' }, [other]).start();
    await client.cast('add', { x: 1, y: 1 });
    await client.prepare({ fanout: true }).cast('add', { x: 1, y: 1 });
    await new Promise((r) => setImmediate(r));
    expect(compute.calls + other.calls).toBe(3);
    expect(other.calls).toBeGreaterThanOrEqual(1);
    await expect(client.prepare({ fanout: true }).call('add', { x: 1, y: 1 })).rejects.toThrow(/use cast\(\)/);
  });

  it('addresses one server with prepare({ server })', async () => {
    const { driver, client } = await setup();
    const h2 = { add: () => 'from h2' };
    await new RpcServer(async () => driver, { topic: 'compute', server: 'h2' }, [h2]).start();
    for (let i = 0; i < 4; i++) expect(await client.prepare({ server: 'h2' }).call('add', { x: 0, y: 0 })).toBe('from h2');
  });

  it('fails with a timeout naming the method when no server answers', async () => {
    const client = new RpcClient<ComputeApi>(async () => loopback(), { topic: 'nobody', timeout: 20 });
    const err = await client.call('add', { x: 1, y: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcTimeoutError);
    expect((err as Error).message).toMatch(/^add: no server answered on topic 'nobody'/);
  });

  it('describes the server and stops serving on stop()', async () => {
    const { server, client } = await setup();
    expect((await client.describe()).map((m) => m.name).sort()).toEqual(['add', 'fail', 'sum', 'whoami']);
    await server.stop();
    await expect(client.call('add', { x: 1, y: 2 }, { timeout: 10 })).rejects.toBeInstanceOf(RpcTimeoutError);
  });

  it('refuses bad arguments before sending', async () => {
    const { client } = await setup();
    await expect(client.call('add', null as never)).rejects.toBeInstanceOf(RpcError);
    expect(() => new RpcClient(async () => loopback(), { topic: 't', timeout: -1 })).toThrow(/positive/);
  });
});
