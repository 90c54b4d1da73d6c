// Interop with Python Pyro4 4.82 (Debian python3-pyro4), json serializer, both directions: a Python Pyro4 client
// calls a celeriac daemon, and a celeriac proxy calls a Python Pyro4 daemon (the seeds' greeting example and a
// Features object): oneway, attributes, iterators, batch, errors with the remote traceback, autoproxy, callbacks,
// HMAC on both sides, the serpent default refused with a clear reason, and PYRONAME through Pyro4's name server.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NamingError, RemoteError, RpcAuthError, RpcError } from '../../src/errors.js';
import { Daemon, expose, oneway, proxy, PyroURI, type Remote } from '../../src/rpc/objects/index.js';
import { spawnProcess, type Spawned } from '../helpers/processes.js';
import { tempDir } from '../helpers/temp.js';
import { makeTestPki } from '../helpers/tls-certs.js';
import { PY_DIR, PYTHON, pythonEnv, runProcess, stopProcess } from './helpers.js';

function requirePyro4(): void {
  const r = spawnSync(PYTHON, ['-c', 'import Pyro4; print(Pyro4.__version__)'], { env: pythonEnv(), encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) {
    throw new Error(`Python Pyro4 is not importable with ${PYTHON}: the Pyro interop tests need it. Install it with:\n  apt-get install -y python3-pyro4\n(${(r.stderr || r.stdout || '').trim().split('\n').slice(-2).join(' ')})`);
  }
}

class CeleriacSaysNo extends Error {
  override name = 'CeleriacSaysNo';
}

@expose
class GreetingMaker {
  get_fortune(name: string): string {
    return `Hello, ${name}. Here is your fortune message:\nTomorrow's lucky number is 12345678.`;
  }
}

@expose
class Thing {
  constructor(private readonly name: string) {}
  describe(): string {
    return `celeriac thing ${this.name}`;
  }
}

function features(d: Daemon) {
  @expose
  class Features {
    private count = 0;
    private text = 'celeriac';
    private waiters: (() => void)[] = [];
    @oneway
    poke(): void {
      this.count++;
      for (const w of this.waiters.splice(0)) w();
    }
    async pokes(): Promise<number> {
      if (this.count === 0) await new Promise<void>((r) => this.waiters.push(r));
      return this.count;
    }
    get label(): string {
      return this.text;
    }
    set label(v: string) {
      this.text = v;
    }
    *numbers(n: number): Generator<number> {
      for (let i = 0; i < n; i++) yield i * i;
    }
    divide(a: number, b: number): number {
      return a / b;
    }
    numbers_total(n: number): number {
      return [...this.numbers(n)].reduce((x, y) => x + y, 0);
    }
    fail(): never {
      throw new CeleriacSaysNo('celeriac says no');
    }
    kwargs(a: number, b = 2, c = 3): number[] {
      return [a, b, c];
    }
    async make_thing(name: string): Promise<Thing> {
      const t = new Thing(name);
      await d.register(t);
      return t;
    }
    async call_back(listener: Remote<{ progress(i: number): number }>, n: number): Promise<number> {
      let total = 0;
      for (let i = 0; i < n; i++) total += await listener.progress(i);
      return total;
    }
    hidden_helper(): void {}
  }
  return new Features();
}

type Step = { step: string; ok?: unknown; error?: string; module?: string; remote?: string };
async function pythonClient(greeting: string, feats: string, key?: string, env: Record<string, string> = {}): Promise<Map<string, Step>> {
  const r = await runProcess(PYTHON, [`${PY_DIR}/pyro4_client.py`, greeting, feats, ...(key ? [key] : [])], pythonEnv(env), PY_DIR);
  const steps = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Step);
  if (steps.length === 0) throw new Error(`the Python client printed nothing (exit ${String(r.code)}):\n${r.stderr}`);
  return new Map(steps.map((s) => [s.step, s]));
}

describe('Pyro4 interop', () => {
  beforeAll(() => requirePyro4());
  const daemons: Daemon[] = [];
  const released: { _pyroRelease(): void }[] = [];
  const pythons: Spawned[] = [];
  afterEach(async () => {
    for (const p of released.splice(0)) p._pyroRelease();
    await Promise.all(daemons.splice(0).map((d) => d.close()));
  });
  const tmp = tempDir('celeriac-pyro4-');
  afterAll(async () => {
    await Promise.all(pythons.map((p) => stopProcess(p, 2_000)));
    tmp.remove();
  });

  async function celeriacDaemon(secret?: string): Promise<{ greeting: string; feats: string }> {
    const d = new Daemon({ host: '127.0.0.1', ...(secret ? { secret } : {}) });
    daemons.push(d);
    return { greeting: await d.register(new GreetingMaker(), 'example.greeting'), feats: await d.register(features(d), 'example.features') };
  }

  async function pythonDaemon(key?: string, env: Record<string, string> = {}): Promise<{ greeting: string; feats: string; process: Spawned }> {
    const p = spawnProcess(PYTHON, [`${PY_DIR}/pyro4_server.py`, '127.0.0.1', '0', ...(key ? [key] : [])], pythonEnv(env), PY_DIR);
    pythons.push(p);
    await p.waitFor(/^URI \S+ \S+$/m, 30_000);
    const m = /^URI (\S+) (\S+)$/m.exec(p.output());
    return { greeting: m?.[1] ?? '', feats: m?.[2] ?? '', process: p };
  }

  it('a Python Pyro4 client uses a celeriac daemon: greeting, metadata, oneway, attributes, iterator, batch, errors, kwargs, autoproxy, callbacks', async () => {
    const { greeting, feats } = await celeriacDaemon();
    const s = await pythonClient(greeting, feats);
    expect(s.get('fortune')?.ok).toBe("Hello, Ruvika. Here is your fortune message:\nTomorrow's lucky number is 12345678.");
    expect(s.get('metadata')?.ok).toEqual(['get_fortune', '|', 'poke', '|', 'label']);
    expect(s.get('oneway')?.ok).toEqual([null, 1]);
    expect(s.get('attributes')?.ok).toEqual(['celeriac', 'set from python']);
    expect(s.get('iterator')?.ok).toEqual([0, 1, 4, 9, 16]);
    expect(s.get('batch')?.ok).toEqual([2, 14]);
    const err = s.get('error');
    expect(err?.error).toBe('Exception: celeriac says no');
    expect(err?.remote).toContain('CeleriacSaysNo: celeriac says no');
    expect(err?.remote).toContain('Features.fail');
    expect(s.get('kwargs')?.ok).toEqual([1, 2, 30]);
    expect(s.get('autoproxy')?.ok).toEqual(['Proxy', 'celeriac thing t1']);
    expect(s.get('callback')?.ok).toEqual([30, [0, 1, 2]]);
    expect(s.get('unexposed')?.error).toMatch(/^AttributeError: remote object .* has no exposed attribute or method 'hidden'/);
  });

  it('HMAC with a Python client: the same key works, another key is refused; the serpent default gets a clear refusal', async () => {
    const { greeting, feats } = await celeriacDaemon('shared-secret');
    const good = await pythonClient(greeting, feats, 'shared-secret');
    expect(good.get('fortune')?.ok).toContain('Hello, Ruvika.');
    expect(good.get('callback')?.ok).toEqual([30, [0, 1, 2]]);
    const bad = await pythonClient(greeting, feats, 'wrong-secret');
    expect(bad.get('fortune')?.error).toMatch(/CommunicationError: .*hmac/i);
    const none = await pythonClient(greeting, feats);
    expect(none.get('fortune')?.error).toMatch(/CommunicationError: .*hmac/i);
    const open = await celeriacDaemon();
    const serpent = await runProcess(PYTHON, ['-c', `import Pyro4\nPyro4.config.SERIALIZER='serpent'\ntry:\n  Pyro4.Proxy('${open.greeting}').get_fortune('x')\nexcept Exception as e:\n  print(type(e).__name__, e)`], pythonEnv(), PY_DIR);
    expect(serpent.stdout).toMatch(/CommunicationError connection to .*rejected: message used serializer that is not accepted: serpent \(1\); this celeriac daemon accepts json, msgpack/);
  });

  it('a celeriac proxy uses a Python Pyro4 daemon: the greeting example, oneway, attributes, iterator, batch, typed errors with the remote traceback, kwargs, autoproxy, callbacks', async () => {
    const py = await pythonDaemon();
    type Greeter = { get_fortune(name: string): string; add(x: number, y: number): number; echo<T>(v: T): T };
    const g = proxy<Greeter>(py.greeting);
    released.push(g);
    expect(await g.get_fortune('Ruvika')).toBe("Hello, Ruvika. Here is your fortune message:\nTomorrow's lucky number is 12345678.");
    expect(await g.echo({ list: [1, 'two', null], nested: { ok: true }, text: 'Grüße' })).toEqual({ list: [1, 'two', null], nested: { ok: true }, text: 'Grüße' });
    type PyFeatures = {
      poke(): void;
      pokes(): number;
      label: string;
      numbers(n: number): Generator<number>;
      divide(a: number, b: number): number;
      fail(): void;
      kwargs(a: number, b?: number, c?: number): number[];
      make_thing(name: string): Remote<{ describe(): string }>;
      call_back(listener: object, n: number): number;
    };
    const f = proxy<PyFeatures>(py.feats);
    released.push(f);
    expect(await f._pyroMetadata()).toMatchObject({ oneway: ['poke'], attrs: ['label'] });
    expect(await f.poke()).toBeUndefined();
    expect(await f.pokes()).toBe(1);
    expect(await f.label).toBe('python');
    await f._pyroSetAttr('label', 'set from celeriac');
    expect(await f.label).toBe('set from celeriac');
    const squares: number[] = [];
    for await (const x of f.numbers(4)) squares.push(x);
    expect(squares).toEqual([0, 1, 4, 9]);
    expect(await f._pyroBatch((b) => [b.divide(9, 3), b.kwargs(1)])).toEqual([3, [1, 2, 3]]);
    await expect(f._pyroBatch((b) => [b.divide(1, 0), b.divide(4, 2)])).rejects.toMatchObject({ remoteType: 'ZeroDivisionError' });
    const err = (await f.fail().catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect([err.remoteType, err.remoteModule, err.message]).toEqual(['ValueError', 'builtins', 'ValueError: python says no']);
    expect(err.remoteStack).toMatch(/Traceback \(most recent call last\):[\s\S]*pyro4_server\.py[\s\S]*in fail[\s\S]*ValueError: python says no/);
    expect(err.stack).not.toContain('pyro4_server.py');
    expect(String(err)).toMatch(/--- remote stack \(builtins\) ---\nTraceback/);
    expect(await f._pyroCall('kwargs', [1], { c: 30 })).toEqual([1, 2, 30]);
    const thing = await f.make_thing('t2');
    expect(await thing.describe()).toBe('python thing t2');
    const mine = new Daemon({ host: '127.0.0.1' });
    daemons.push(mine);
    @expose
    class Listener {
      seen: number[] = [];
      progress(i: number): number {
        this.seen.push(i);
        return i * 10;
      }
    }
    const listener = new Listener();
    await mine.register(listener);
    expect(await f.call_back(listener, 3)).toBe(30);
    expect(listener.seen).toEqual([0, 1, 2]);
  });

  it('HMAC with a Python daemon: the same key works (callbacks too), another or no key is an RpcAuthError', async () => {
    const py = await pythonDaemon('py-secret');
    const g = proxy<{ get_fortune(n: string): string }>(py.greeting, { secret: 'py-secret' });
    released.push(g);
    expect(await g.get_fortune('k')).toContain('Hello, k.');
    const f = proxy<{ call_back(l: object, n: number): number }>(py.feats, { secret: 'py-secret' });
    released.push(f);
    const mine = new Daemon({ host: '127.0.0.1', secret: 'py-secret' });
    daemons.push(mine);
    @expose
    class Listener {
      progress(i: number): number {
        return i + 1;
      }
    }
    const l = new Listener();
    await mine.register(l);
    expect(await f.call_back(l, 3)).toBe(6);
    for (const options of [{ secret: 'wrong' }, {}]) {
      const bad = proxy<{ get_fortune(n: string): string }>(py.greeting, options);
      released.push(bad);
      await expect(bad.get_fortune('x')).rejects.toBeInstanceOf(RpcAuthError);
    }
  });

  it('msgpack both ways, and TLS with client certificates both ways (Pyro4 SSL config)', async () => {
    const { greeting } = await celeriacDaemon();
    const call = `import Pyro4, sys\nPyro4.config.SERIALIZER='msgpack'\nprint(Pyro4.Proxy(sys.argv[1]).get_fortune('packed'))`;
    expect((await runProcess(PYTHON, ['-c', call, greeting], pythonEnv(), PY_DIR)).stdout).toContain('Hello, packed.');
    const py = await pythonDaemon();
    const g = proxy<{ echo(v: unknown): unknown }>(py.greeting, { serializer: 'msgpack' });
    released.push(g);
    expect(await g.echo({ n: 2 ** 40, bytes: Buffer.from([1, 2]), list: [null, true, 1.5] })).toEqual({ n: 2 ** 40, bytes: Buffer.from([1, 2]), list: [null, true, 1.5] });

    const dir = tmp.path;
    const pki = makeTestPki(dir);
    const ssl = { PYRO_SSL: 'true', PYRO_SSL_CACERTS: join(dir, 'ca.crt') };
    const pySsl = await pythonDaemon(undefined, { ...ssl, PYRO_SSL_SERVERCERT: join(dir, 'server.crt'), PYRO_SSL_SERVERKEY: join(dir, 'server.key'), PYRO_SSL_REQUIRECLIENTCERT: 'true' });
    const t = proxy<{ get_fortune(n: string): string }>(pySsl.greeting, { tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    released.push(t);
    expect(await t.get_fortune('tls')).toContain('Hello, tls.');
    const noCert = proxy<{ get_fortune(n: string): string }>(pySsl.greeting, { tls: { ca: pki.ca } });
    released.push(noCert);
    await expect(noCert.get_fortune('x')).rejects.toThrow(RpcError);

    const d = new Daemon({ host: '127.0.0.1', tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true } });
    daemons.push(d);
    const uri = await d.register(new GreetingMaker(), 'example.greeting');
    const pyCall = `import Pyro4, sys\nPyro4.config.SERIALIZER='json'\ntry:\n  print(Pyro4.Proxy(sys.argv[1]).get_fortune('python tls'))\nexcept Exception as e:\n  print(type(e).__name__, e)`;
    const clientEnv = { ...ssl, PYRO_SSL_CLIENTCERT: join(dir, 'client.crt'), PYRO_SSL_CLIENTKEY: join(dir, 'client.key') };
    expect((await runProcess(PYTHON, ['-c', pyCall, uri], pythonEnv(clientEnv), PY_DIR)).stdout).toContain('Hello, python tls.');
    expect((await runProcess(PYTHON, ['-c', pyCall, uri], pythonEnv(ssl), PY_DIR)).stdout).toMatch(/CommunicationError|ConnectionClosedError|SSL/);
  });

  it('PYRONAME through Python Pyro4 name server: a celeriac object registered there is found by both sides', async () => {
    const ns = spawnProcess(PYTHON, ['-m', 'Pyro4.naming', '-n', '127.0.0.1', '-p', '0', '--nobc'], pythonEnv({ PYRO_SERIALIZERS_ACCEPTED: 'json' }), PY_DIR);
    pythons.push(ns);
    await ns.waitFor(/NS running on 127\.0\.0\.1:\d+/, 30_000);
    const nsPort = Number(/NS running on 127\.0\.0\.1:(\d+)/.exec(ns.output())?.[1]);
    const { greeting } = await celeriacDaemon();
    const nsProxy = proxy<{ register(name: string, uri: PyroURI): void }>(`PYRO:Pyro.NameServer@127.0.0.1:${nsPort}`);
    released.push(nsProxy);
    await nsProxy.register('celeriac.greeting', new PyroURI(greeting));
    const p = proxy<{ get_fortune(n: string): string }>(`PYRONAME:celeriac.greeting@127.0.0.1:${nsPort}`);
    released.push(p);
    expect(await p.get_fortune('by name')).toContain('Hello, by name.');
    const missing = proxy<{ get_fortune(n: string): string }>(`PYRONAME:no.such.name@127.0.0.1:${nsPort}`);
    released.push(missing);
    await expect(missing.get_fortune('x')).rejects.toThrow(NamingError);
    await expect(missing.get_fortune('x')).rejects.toThrow(/PYRONAME:no\.such\.name@127\.0\.0\.1:\d+: unknown name: no\.such\.name/);
    const r = await runProcess(PYTHON, ['-c', `import Pyro4\nPyro4.config.SERIALIZER='json'\nprint(Pyro4.Proxy('PYRONAME:celeriac.greeting@127.0.0.1:${nsPort}').get_fortune('python'))`], pythonEnv(), PY_DIR);
    expect(r.stdout).toContain('Hello, python.');
    await stopProcess(ns, 2_000);
  });
});
