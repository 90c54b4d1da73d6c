// app.rpc end to end: the typed client and the server with real endpoints, over every broker (memory, SQLite,
// Redis, RabbitMQ) and over direct connections (tcp://, tls-less shared secret, http:// JSON-RPC, xmlrpc+http://).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, NoSuchMethodError, RemoteError, RpcTimeoutError, UnsupportedVersionError, type RpcCallContext } from '../../src/index.js';
import { createVhost, type Vhost } from '../helpers/amqp.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

class Compute {
  readonly target = { version: '1.3' };
  readonly seen: string[] = [];
  constructor(private readonly name: string) {}
  add({ x, y }: { x: number; y: number }): { sum: number; server: string } {
    return { sum: x + y, server: this.name };
  }
  whoami(_args: Record<string, never>, ctx?: RpcCallContext): unknown {
    return ctx?.context['user'] ?? null;
  }
  async slow({ ms }: { ms: number }): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return `${this.name} done`;
  }
  note({ text }: { text: string }): void {
    this.seen.push(text);
  }
  divide({ x, y }: { x: number; y: number }): number {
    if (y === 0) throw new RangeError('division by zero');
    return x / y;
  }
}

interface ComputeApi {
  add(args: { x: number; y: number }): { sum: number; server: string };
  whoami(args: Record<string, never>): unknown;
  slow(args: { ms: number }): Promise<string>;
  note(args: { text: string }): void;
  divide(args: { x: number; y: number }): number;
}

for (const kind of ['memory', 'sqlite', 'redis', 'amqp'] as const) {
  describe(`app.rpc over ${kind}://`, () => {
    let dir: TempDir;
    let vhost: Vhost | undefined;
    const keyPrefix = `celeriac-test-${randomUUID()}:`;
    let serverApp: Celeriac;
    let clientApp: Celeriac;
    const topic = `compute-${randomUUID().slice(0, 8)}`;
    const h1 = new Compute('h1');
    const h2 = new Compute('h2');

    beforeAll(async () => {
      dir = tempDir();
      vhost = kind === 'amqp' ? await createVhost() : undefined;
      const broker = kind === 'memory' ? 'memory://' : kind === 'sqlite' ? `sqlite://${dir.file('rpc.db')}` : vhost ? vhost.url : REDIS_URL;
      const make = (): Celeriac => new Celeriac('rpc-app', { broker, backend: 'memory://', brokerOptions: { keyPrefix } });
      serverApp = make();
      // memory:// lives in one app; elsewhere client and servers connect apart, as separate processes would.
      clientApp = kind === 'memory' ? serverApp : make();
      await serverApp.rpc.serve({ topic, server: 'h1' }, [h1], { heartbeatInterval: 100, concurrency: 1 });
      await serverApp.rpc.serve({ topic, server: 'h2' }, [h2], { heartbeatInterval: 100, concurrency: 1 });
    }, 60_000);

    afterAll(async () => {
      await clientApp.close();
      await serverApp.close();
      dir.remove();
      if (kind === 'redis') await deleteKeys(keyPrefix);
      await vhost?.remove();
    }, 60_000);

    it('calls typed methods through call() and the proxy; concurrent calls are shared by the servers', async () => {
      const compute = clientApp.rpc.client<ComputeApi>({ topic, version: '1.2', timeout: 10_000 });
      expect((await compute.call('add', { x: 1, y: 2 })).sum).toBe(3);
      expect((await compute.proxy.add({ x: 20, y: 22 })).sum).toBe(42);
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => compute.proxy.add({ x: i, y: 0 })));
      expect(answers.map((a) => a.sum)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(new Set(answers.map((a) => a.server))).toEqual(new Set(['h1', 'h2']));
    });

    it('addresses one server, passes the context, refuses other versions and unknown methods with typed errors', async () => {
      const compute = clientApp.rpc.client<ComputeApi>({ topic, timeout: 10_000, context: { user: 'ada' } });
      for (let i = 0; i < 3; i++) expect((await compute.prepare({ server: 'h2' }).call('add', { x: 1, y: 1 })).server).toBe('h2');
      expect(await compute.call('whoami', {})).toBe('ada');
      await expect(compute.prepare({ version: '1.4' }).call('add', { x: 1, y: 1 })).rejects.toBeInstanceOf(UnsupportedVersionError);
      await expect(compute.prepare({ version: '2.0' }).call('add', { x: 1, y: 1 })).rejects.toBeInstanceOf(UnsupportedVersionError);
      await expect(compute.call('nope' as 'add', { x: 1, y: 1 })).rejects.toBeInstanceOf(NoSuchMethodError);
      const err = (await compute.call('divide', { x: 1, y: 0 }).catch((e: unknown) => e)) as RemoteError;
      expect(err).toBeInstanceOf(RemoteError);
      expect(err.remoteType).toBe('RangeError');
      expect(err.message).toContain('division by zero');
      expect(err.remoteStack).toContain('Compute.divide');
    });

    it('casts to one server and fanout-casts to every server', async () => {
      const compute = clientApp.rpc.client<ComputeApi>({ topic });
      const mark = randomUUID();
      await compute.cast('note', { text: `one-${mark}` });
      await compute.prepare({ fanout: true }).cast('note', { text: `all-${mark}` });
      await until(() => h1.seen.includes(`all-${mark}`) && h2.seen.includes(`all-${mark}`) && [...h1.seen, ...h2.seen].includes(`one-${mark}`));
      expect([...h1.seen, ...h2.seen].filter((t) => t === `one-${mark}`)).toHaveLength(1);
    });

    it('keeps a call longer than its timeout alive with heartbeats; a topic nobody serves times out', async () => {
      const compute = clientApp.rpc.client<ComputeApi>({ topic });
      expect(await compute.prepare({ server: 'h1' }).call('slow', { ms: 1200 }, { timeout: 500 })).toBe('h1 done');
      const nobody = clientApp.rpc.client<ComputeApi>({ topic: `${topic}-nobody`, timeout: 300 });
      const err = await nobody.call('add', { x: 1, y: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcTimeoutError);
      expect((err as Error).message).toMatch(/no server answered/);
    });
  });
}

describe('app.rpc over direct connections', () => {
  const app = new Celeriac('rpc-direct', { broker: 'memory://', backend: 'memory://' });
  afterAll(() => app.close());

  for (const scheme of ['tcp', 'http', 'xmlrpc+http'] as const) {
    it(`serves and calls the same endpoint over ${scheme}://`, async () => {
      const compute = new Compute(scheme);
      const secret = scheme === 'tcp' ? { driver: { secret: 's3cret' } } : {};
      const server = await app.rpc.serve({ url: `${scheme}://127.0.0.1:0/`, ...secret }, [compute], { heartbeatInterval: 100 });
      expect(server.address).toMatch(new RegExp(`^${scheme.replace('+', '\\+')}://127\\.0\\.0\\.1:\\d+`));
      const client = app.rpc.client<ComputeApi>({ url: server.address as string, timeout: 10_000, ...secret });
      expect(await client.call('add', { x: 2, y: 40 })).toEqual({ sum: 42, server: scheme });
      expect((await client.proxy.add({ x: 1, y: 1 })).sum).toBe(2);
      await expect(client.call('nope' as 'add', { x: 1, y: 1 })).rejects.toBeInstanceOf(NoSuchMethodError);
      const err = (await client.call('divide', { x: 1, y: 0 }).catch((e: unknown) => e)) as RemoteError;
      expect(err).toBeInstanceOf(RemoteError);
      expect(err.remoteType).toBe('RangeError');
      expect((await client.describe()).map((m) => m.name).sort()).toEqual(['add', 'divide', 'note', 'slow', 'whoami']);
      await server.stop();
    });
  }

  it('a tcp:// client without the server\'s secret is refused', async () => {
    const server = await app.rpc.serve({ url: 'tcp://127.0.0.1:0', driver: { secret: 'right' } }, [new Compute('s')]);
    const wrong = app.rpc.client<ComputeApi>({ url: server.address as string, timeout: 5_000, driver: { secret: 'wrong' } });
    await expect(wrong.call('add', { x: 1, y: 1 })).rejects.toMatchObject({ code: 'E_RPC_AUTH' });
    await server.stop();
  });

  it('forwards calls from an HTTP gateway to servers on the broker', async () => {
    const topic = `fwd-${randomUUID().slice(0, 8)}`;
    await app.rpc.serve({ topic, server: 'f1' }, [new Compute('f1')]);
    const gateway = await app.rpc.listen('http://127.0.0.1:0/', app.rpc.forward({ topic, timeout: 5_000 }));
    const viaHttp = app.rpc.client<ComputeApi>({ url: gateway.address as string, timeout: 5_000 });
    expect(await viaHttp.call('add', { x: 3, y: 4 })).toEqual({ sum: 7, server: 'f1' });
    await expect(viaHttp.call('nope' as 'add', { x: 1, y: 1 })).rejects.toBeInstanceOf(NoSuchMethodError);
    await gateway.close();
  });

  it('refuses a client or server without a topic or url, and an unknown URL scheme', async () => {
    expect(() => app.rpc.client({})).toThrow(/needs a topic/);
    expect(() => app.rpc.server({}, [{ f: () => 1 }])).toThrow(/needs a topic/);
    await expect(app.rpc.client({ url: 'tpc://127.0.0.1:1' }).call('f', {})).rejects.toThrow(/Did you mean 'tcp:\/\/'/);
  });
});
