// Pyro-style remote objects end to end, celeriac on both sides over real sockets: calls, oneway, attributes,
// instance modes, autoproxy, callbacks, remote iterators, batches, reconnects, metadata, HMAC, TLS, msgpack,
// PYRONAME through a name server object, and hostile input while another client keeps being served.
import net from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NamingError, NoSuchMethodError, PyroProtocolError, RemoteError, RpcAuthError, RpcConnectionError, RpcError, RpcTimeoutError } from '../../src/errors.js';
import {
  behavior,
  callback,
  coreOf,
  Daemon,
  expose,
  locateNS,
  NAMESERVER_NAME,
  oneway,
  proxy,
  PyroURI,
  type DaemonOptions,
  type Remote,
  type Untyped,
} from '../../src/rpc/objects/index.js';
import { jsonSerializer } from '../../src/rpc/objects/serializers.js';
import { decodeMessage, encodeMessage, MSG } from '../../src/rpc/objects/wire.js';
import { tempDir, until } from '../helpers/temp.js';
import { makeTestPki } from '../helpers/tls-certs.js';

const daemons: Daemon[] = [];
const proxies: { _pyroRelease(): void }[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) p._pyroRelease();
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});
const tmp = tempDir('celeriac-pyro-');
afterAll(() => tmp.remove());

function daemon(options: DaemonOptions = {}): Daemon {
  const d = new Daemon({ host: '127.0.0.1', ...options });
  daemons.push(d);
  return d;
}
function px<T = Untyped>(uri: string, options: Parameters<typeof proxy>[1] = {}): Remote<T> {
  const p = proxy<T>(uri, options);
  proxies.push(p);
  return p;
}

@expose
class GreetingMaker {
  pokes = 0;
  private secretValue = 42;
  private label = 'greeter';
  getFortune(name: string): string {
    return `Hello, ${name}. Here is your fortune message:\nTomorrow's lucky number is 12345678.`;
  }
  add(x: number, y = 10): number {
    return x + y;
  }
  async slow(ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return 'late';
  }
  @oneway
  poke(): void {
    this.pokes++;
  }
  get name(): string {
    return this.label;
  }
  set name(v: string) {
    this.label = v;
  }
  get answer(): number {
    return this.secretValue;
  }
  fail(): never {
    throw new TypeError('wrong type of fortune');
  }
  *numbers(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }
  _private(): string {
    return 'never';
  }
}

describe('Pyro daemon and proxy (celeriac both sides)', () => {
  it('calls exposed methods with typed results, keyword arguments, metadata and ping', async () => {
    const d = daemon();
    const uri = await d.register(new GreetingMaker(), 'example.greeting');
    expect(uri).toMatch(/^PYRO:example\.greeting@127\.0\.0\.1:\d+$/);
    const p = px<GreetingMaker>(uri);
    const fortune: string = await p.getFortune('Ruvika');
    expect(fortune).toBe("Hello, Ruvika. Here is your fortune message:\nTomorrow's lucky number is 12345678.");
    expect(await p.add(1, 2)).toBe(3);
    expect(await p._pyroCall('add', [], { x: 5 })).toBe(15);
    const meta = await p._pyroMetadata();
    expect([...meta.methods].sort()).toEqual(['add', 'fail', 'getFortune', 'numbers', 'poke', 'slow']);
    expect(meta.oneway).toEqual(['poke']);
    expect([...meta.attrs].sort()).toEqual(['answer', 'name']);
    await p._pyroPing();
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => p.add(i, i)));
    expect(all[49]).toBe(98);
    const untyped = px(uri);
    expect(await untyped['add']?.(2, 2)).toBe(4);
  });

  it('refuses private, unexposed and unknown names; remote errors arrive typed with the remote stack apart', async () => {
    const d = daemon();
    const uri = await d.register(new GreetingMaker(), 'g');
    const p = px<GreetingMaker & { nope(): void }>(uri);
    await expect(p.nope()).rejects.toBeInstanceOf(NoSuchMethodError);
    const bare = px<{ _private(): string; pokes: number }>(uri, { metadata: false });
    await expect(bare._pyroCall('_private')).rejects.toThrow(/attempt to access private attribute '_private'/);
    await expect(bare._pyroCall('toString')).rejects.toBeInstanceOf(NoSuchMethodError);
    await expect(bare._pyroGetAttr('pokes')).rejects.toThrow(/unexposed or unknown remote attribute 'pokes'/);
    const err = (await p.fail().catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect([err.remoteType, err.remoteModule, err.message]).toEqual(['TypeError', 'builtins', 'TypeError: wrong type of fortune']);
    expect(err.remoteStack).toContain('GreetingMaker.fail');
    expect(err.stack).not.toContain('GreetingMaker.fail');
    expect(String(err)).toContain('--- remote stack (builtins) ---');
  });

  it('oneway calls return at once and run on the daemon; properties are read and written', async () => {
    const d = daemon();
    const g = new GreetingMaker();
    const p = px<GreetingMaker>(await d.register(g, 'g'));
    expect(await p.poke()).toBeUndefined();
    await until(() => g.pokes === 1);
    expect(await p.name).toBe('greeter');
    await p._pyroSetAttr('name', 'renamed');
    expect(await p.name).toBe('renamed');
    expect(g.name).toBe('renamed');
    await expect(p._pyroSetAttr('answer', 1)).rejects.toThrow(/unexposed or unknown remote attribute 'answer'/);
    expect(() => {
      (p as unknown as Record<string, unknown>)['name'] = 'x';
    }).toThrow(RpcError);
  });

  it('times a slow call out, then goes on serving on the same proxy', async () => {
    const d = daemon();
    const p = px<GreetingMaker>(await d.register(new GreetingMaker(), 'g'), { timeout: 200 });
    await expect(p.slow(1_000)).rejects.toBeInstanceOf(RpcTimeoutError);
    expect(await p.add(1, 1)).toBe(2);
  });

  it('instance modes: single, session (per connection), percall', async () => {
    const counter = (mode: 'single' | 'session' | 'percall') => {
      @behavior({ instanceMode: mode })
      @expose
      class Counter {
        n = 0;
        incr(): number {
          return ++this.n;
        }
      }
      return Counter;
    };
    const d = daemon();
    const uris = { single: await d.register(counter('single'), 'single'), session: await d.register(counter('session'), 'session'), percall: await d.register(counter('percall'), 'percall') };
    const twice = async (uri: string): Promise<number[]> => {
      const a = px<{ incr(): number }>(uri);
      const b = px<{ incr(): number }>(uri);
      return [await a.incr(), await a.incr(), await b.incr()];
    };
    expect(await twice(uris.single)).toEqual([1, 2, 3]);
    expect(await twice(uris.session)).toEqual([1, 2, 1]);
    expect(await twice(uris.percall)).toEqual([1, 1, 1]);
  });

  it('autoproxy: a registered object returned by a call travels as a proxy', async () => {
    @expose
    class Thing {
      constructor(readonly id: number) {}
      describe(): string {
        return `thing ${this.id}`;
      }
    }
    const d = daemon();
    @expose
    class Factory {
      async make(id: number): Promise<Thing> {
        const t = new Thing(id);
        await d.register(t);
        return t;
      }
      plain(): { id: number } {
        return { id: 7 };
      }
    }
    const f = px<Factory>(await d.register(new Factory(), 'factory'));
    const thing = (await f.make(3)) as unknown as Remote<Thing>;
    expect(await thing.describe()).toBe('thing 3');
    expect(thing._pyroUri).toMatch(/^PYRO:obj_[0-9a-f]{32}@127\.0\.0\.1:\d+$/);
    expect(await f.plain()).toEqual({ id: 7 });
  });

  it('callbacks: the server calls an object on the client’s own daemon', async () => {
    const server = daemon();
    @expose
    class Worker {
      async work(items: number[], listener: Remote<{ progress(n: number): void; done(total: number): string }>): Promise<string> {
        for (const i of items) await listener.progress(i);
        return listener.done(items.reduce((a, b) => a + b, 0));
      }
    }
    const uri = await server.register(new Worker(), 'worker');
    const client = daemon();
    const seen: number[] = [];
    @expose
    class Listener {
      progress(n: number): void {
        seen.push(n);
      }
      @callback
      done(total: number): string {
        return `total ${total}`;
      }
    }
    const listener = new Listener();
    await client.register(listener);
    const w = px<{ work(items: number[], l: Listener): string }>(uri);
    expect(await w.work([1, 2, 3], listener)).toBe('total 6');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('remote iterators: for await over generators and async generators; break closes the stream', async () => {
    let closed = false;
    @expose
    class Source {
      *numbers(n: number): Generator<number> {
        for (let i = 0; i < n; i++) yield i;
      }
      async *ticks(): AsyncGenerator<string> {
        try {
          for (let i = 0; ; i++) yield `tick ${i}`;
        } finally {
          closed = true;
        }
      }
      *broken(): Generator<number> {
        yield 1;
        throw new RangeError('stream broke');
      }
      list(): number[] {
        return [1, 2];
      }
    }
    const d = daemon();
    const p = px<Source>(await d.register(new Source(), 'source'));
    const got: number[] = [];
    for await (const x of p.numbers(5)) got.push(x);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    const ticks: string[] = [];
    for await (const t of p.ticks()) {
      ticks.push(t);
      if (ticks.length === 3) break;
    }
    expect(ticks).toEqual(['tick 0', 'tick 1', 'tick 2']);
    await until(() => closed);
    const it2 = await p.numbers(1);
    expect(await it2.next()).toEqual({ done: false, value: 0 });
    expect((await it2.next()).done).toBe(true);
    const partial: number[] = [];
    await expect(
      (async () => {
        for await (const x of p.broken()) partial.push(x);
      })(),
    ).rejects.toThrow(/stream broke/);
    expect(partial).toEqual([1]);
    expect(await p.list()).toEqual([1, 2]);
  });

  it('batch: many calls in one round trip with typed results; an error stops the batch; oneway batches', async () => {
    const d = daemon();
    const g = new GreetingMaker();
    const p = px<GreetingMaker>(await d.register(g, 'g'));
    const [sum, fortune, again] = await p._pyroBatch((b) => [b.add(1, 2), b.getFortune('b'), b.add(40, 2)] as const);
    const typed: [number, string, number] = [sum, fortune, again];
    expect(typed).toEqual([3, expect.stringContaining('Hello, b.'), 42]);
    await expect(p._pyroBatch((b) => [b.add(1), b.fail(), b.add(2)])).rejects.toThrow(/wrong type of fortune/);
    await p._pyroBatch((b) => [b.poke(), b.poke()], { oneway: true });
    await until(() => g.pokes === 2);
  });

  it('reconnects after the daemon restarts on the same port', async () => {
    const d1 = new Daemon({ host: '127.0.0.1' });
    const uri = await d1.register(new GreetingMaker(), 'g');
    const port = new PyroURI(uri).port ?? 0;
    const p = px<GreetingMaker>(uri);
    expect(await p.add(1, 1)).toBe(2);
    await d1.close();
    await expect(p.add(1, 1)).rejects.toBeInstanceOf(RpcConnectionError);
    const reconnecting = p._pyroReconnect(100, 50);
    const d2 = daemon({ port });
    await d2.register(new GreetingMaker(), 'g');
    await reconnecting;
    expect(await p.add(2, 2)).toBe(4);
    const retrying = px<GreetingMaker>(uri, { maxRetries: 1 });
    expect(await retrying.add(0, 0)).toBe(0);
    await d2.close();
    const d3 = daemon({ port });
    await d3.register(new GreetingMaker(), 'g');
    await until(() => !coreOf(p)?.connected);
    expect(await p.add(3, 3)).toBe(6); // lazy: the call after a lost connection connects again
    expect(await retrying.add(4, 4)).toBe(8); // maxRetries: sent again if the old connection turns out dead
  });

  it('the daemon object, handshake validation, oneway errors reported, streams that outlive a reconnect', async () => {
    const errors: { err: Error; method?: string }[] = [];
    const d = daemon({
      validateHandshake: (data) => {
        if (data !== 'let me in') throw new Error('handshake refused: wrong password');
        return 'welcome';
      },
      onError: (err, info) => errors.push({ err, ...(info.method ? { method: info.method } : {}) }),
    });
    @expose
    class Noisy {
      @oneway
      explode(): void {
        throw new Error('oneway went wrong');
      }
      *count(): Generator<number> {
        for (let i = 0; ; i++) yield i;
      }
    }
    const uri = await d.register(new Noisy(), 'noisy');
    const refused = await px<Noisy>(uri).explode().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PyroProtocolError);
    expect((refused as Error).message).toMatch(/rejected: handshake refused: wrong password/);
    const p = px<Noisy>(uri, { handshake: 'let me in' });
    await p.explode();
    await until(() => errors.some((e) => e.method === 'explode'));
    expect(errors.find((e) => e.method === 'explode')?.err.message).toBe('oneway went wrong');
    const it = await p.count();
    expect((await it.next()).value).toBe(0);
    p._pyroRelease();
    expect((await it.next()).value).toBe(1); // the proxy connects again; the stream lingered on the daemon
    const own = px<{ registered(): string[]; info(): string }>(`PYRO:Pyro.Daemon@${new PyroURI(uri).location ?? ''}`, { handshake: 'let me in' });
    expect(await own.registered()).toEqual(['Pyro.Daemon', 'noisy']);
    expect(await own.info()).toMatch(/^Pyro\.Daemon bound on 127\.0\.0\.1:\d+, 2 objects registered/);
  });

  it('HMAC: same key works both ways; a wrong or missing key is refused with RpcAuthError', async () => {
    const d = daemon({ secret: 'k1' });
    const uri = await d.register(new GreetingMaker(), 'g');
    expect(await px<GreetingMaker>(uri, { secret: 'k1' }).add(1, 2)).toBe(3);
    await expect(px<GreetingMaker>(uri, { secret: 'other' }).add(1, 2)).rejects.toBeInstanceOf(RpcAuthError);
    await expect(px<GreetingMaker>(uri).add(1, 2)).rejects.toBeInstanceOf(RpcAuthError);
    const open = daemon();
    const openUri = await open.register(new GreetingMaker(), 'g');
    await expect(px<GreetingMaker>(openUri, { secret: 'k1' }).add(1, 2)).rejects.toThrow(/HMAC|hmac/);
  });

  it('TLS with a client certificate required; a client without one is refused', async () => {
    const pki = makeTestPki(tmp.path);
    const d = daemon({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true } });
    const uri = await d.register(new GreetingMaker(), 'g');
    const p = px<GreetingMaker>(uri, { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    expect(await p.getFortune('tls')).toContain('Hello, tls.');
    await expect(px<GreetingMaker>(uri, { tls: { ca: pki.ca } }).add(1, 1)).rejects.toBeInstanceOf(RpcConnectionError);
    await expect(px<GreetingMaker>(uri, { tls: { ca: pki.ca, cert: pki.rogueCert, key: pki.rogueKey } }).add(1, 1)).rejects.toBeInstanceOf(RpcConnectionError);
    await expect(px<GreetingMaker>(uri, { tls: {} }).add(1, 1)).rejects.toThrow(/certificate/);
    expect(await p.add(1, 1)).toBe(2);
  });

  it('msgpack proxies; a daemon that accepts only json refuses them with a clear reason', async () => {
    const d = daemon();
    const uri = await d.register(new GreetingMaker(), 'g');
    const p = px<GreetingMaker>(uri, { serializer: 'msgpack', compression: true });
    expect(await p.add(20, 22)).toBe(42);
    expect(await p.getFortune('x'.repeat(500))).toContain('x'.repeat(500));
    const jsonOnly = daemon({ serializers: ['json'] });
    const u2 = await jsonOnly.register(new GreetingMaker(), 'g');
    const err = await px<GreetingMaker>(u2, { serializer: 'msgpack' }).add(1, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyroProtocolError);
    expect((err as Error).message).toMatch(/serializer that is not accepted: msgpack \(6\).*accepts json/);
  });

  it('PYRONAME URIs are looked up in a name server object registered as Pyro.NameServer; unix sockets work', async () => {
    const nsDaemon = daemon();
    const names = new Map<string, string>();
    @expose
    class TinyNameServer {
      lookup(name: string): PyroURI {
        const uri = names.get(name);
        if (!uri) throw Object.assign(new Error(`unknown name: ${name}`), { name: 'KeyError' });
        return new PyroURI(uri);
      }
      register(name: string, uri: string | PyroURI): void {
        names.set(name, String(uri));
      }
    }
    const nsUri = new PyroURI(await nsDaemon.register(new TinyNameServer(), NAMESERVER_NAME));
    const sock = tmp.file('pyro.sock');
    const objects = daemon({ unixSocket: sock });
    const uri = await objects.register(new GreetingMaker(), 'g');
    expect(uri).toBe(`PYRO:g@./u:${sock}`);
    const ns = locateNS({ host: '127.0.0.1', port: nsUri.port ?? 0 });
    proxies.push(ns);
    await ns.register('example.greeting', uri);
    const p = px<GreetingMaker>(`PYRONAME:example.greeting@127.0.0.1:${nsUri.port ?? 0}`);
    expect(await p.add(1, 2)).toBe(3);
    await expect(px<GreetingMaker>(`PYRONAME:missing@127.0.0.1:${nsUri.port ?? 0}`).add(1, 1)).rejects.toThrow(/unknown name: missing/);
    const nowhere = await px<GreetingMaker>('PYRONAME:x@127.0.0.1:1').add(1, 1).catch((e: unknown) => e);
    expect(nowhere).toBeInstanceOf(NamingError);
    expect((nowhere as Error).message).toMatch(/failed to locate the name server at 127\.0\.0\.1:1 to resolve PYRONAME:x@127\.0\.0\.1:1/);
  });
});

describe('hostile input', () => {
  const raw = async (port: number, bytes: Buffer): Promise<{ reply: Buffer; closed: boolean }> =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => undefined);
      s.on('close', () => resolve({ reply: Buffer.concat(chunks), closed: true }));
      setTimeout(() => {
        s.destroy();
        resolve({ reply: Buffer.concat(chunks), closed: false });
      }, 3_000).unref();
    });

  it('closes on junk, wrong magic, bad checksum, lying sizes; answers refused serializers; keeps serving a busy client', async () => {
    const errors: Error[] = [];
    const d = daemon({ maxMessageSize: 4096, handshakeTimeout: 300, onError: (e) => errors.push(e) });
    const uri = await d.register(new GreetingMaker(), 'g');
    const port = new PyroURI(uri).port ?? 0;
    const good = px<GreetingMaker>(uri);
    let served = 0;
    let stop = false;
    const busy = (async () => {
      while (!stop) {
        expect(await good.add(served, 1)).toBe(served + 1);
        served++;
      }
    })();
    const connect = (serializerId: number, data: Buffer): Buffer => encodeMessage({ type: MSG.CONNECT, flags: 0, seq: 0, serializerId, annotations: new Map(), data });

    expect((await raw(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).closed).toBe(true);
    expect((await raw(port, Buffer.from('PY'))).closed).toBe(true); // silent after 2 bytes: closed at handshakeTimeout
    const bad = connect(2, jsonSerializer.dumps({ handshake: 'hello' }));
    bad.writeUInt16BE(bad.readUInt16BE(22) ^ 0xff, 22);
    expect(await raw(port, bad)).toEqual({ reply: Buffer.alloc(0), closed: true });
    const huge = connect(2, Buffer.alloc(0));
    huge.writeInt32BE(1 << 30, 12);
    huge.writeUInt16BE(((1 << 30) + MSG.CONNECT + 48 + 2 + 0x34e9) & 0xffff, 22);
    expect((await raw(port, huge)).closed).toBe(true);
    const unknownSer = await raw(port, connect(99, Buffer.from('x')));
    const fail = decodeMessage(unknownSer.reply, { maxMessageSize: 1 << 20 })?.message;
    expect(fail?.type).toBe(MSG.CONNECTFAIL);
    expect(String(jsonSerializer.loads(fail?.data as Buffer))).toMatch(/unknown id 99/);
    const serpent = await raw(port, connect(1, Buffer.from("# serpent utf-8 python3.2\n{'handshake':'hello'}")));
    const sfail = decodeMessage(serpent.reply, { maxMessageSize: 1 << 20 })?.message;
    expect([sfail?.type, sfail?.serializerId, serpent.closed]).toEqual([MSG.CONNECTFAIL, 1, true]);
    expect(sfail?.data.toString()).toMatch(/^# serpent utf-8 python3.2\n'message used serializer that is not accepted: serpent \(1\)/);
    const pickle = await raw(port, connect(4, Buffer.from([0x80, 0x04, 0x2e])));
    expect(decodeMessage(pickle.reply, { maxMessageSize: 1 << 20 })?.message.serializerId).toBe(4);
    const invokeFirst = await raw(port, encodeMessage({ type: MSG.INVOKE, flags: 0, seq: 1, serializerId: 2, annotations: new Map(), data: Buffer.from('{}') }));
    expect(String(jsonSerializer.loads(decodeMessage(invokeFirst.reply, { maxMessageSize: 1 << 20 })?.message.data as Buffer))).toMatch(/invalid msg type 4/);
    const hello = connect(2, jsonSerializer.dumps({ handshake: 'hello' }));
    const garbageCall = encodeMessage({ type: MSG.INVOKE, flags: 0, seq: 1, serializerId: 2, annotations: new Map(), data: Buffer.from('{"object": 5') });
    const afterHello = await raw(port, Buffer.concat([hello, garbageCall]));
    const second = decodeMessage(afterHello.reply, { maxMessageSize: 1 << 20 }, decodeMessage(afterHello.reply, { maxMessageSize: 1 << 20 })?.size ?? 0)?.message;
    const serr = jsonSerializer.loads(second?.data as Buffer) as RemoteError;
    expect([serr.remoteType, serr.remoteModule, afterHello.closed]).toEqual(['SerializeError', 'Pyro4.errors', true]);
    stop = true;
    await busy;
    expect(served).toBeGreaterThan(0);
    expect(await good.add(1, 1)).toBe(2);
    expect(errors.length).toBeGreaterThanOrEqual(5);
    expect(d.connections).toBe(1);
  });
});
