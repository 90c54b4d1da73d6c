// `celeriac ns` end to end: a celeriac Daemon registers its object in the name server, a celeriac proxy finds it
// by PYRONAME / PYROMETA; SQLite storage survives a restart; broadcast discovery (loopback); write protection;
// bad arguments. The name server runs as the built CLI in a child process on a free port.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NamingError, RemoteError, RpcAuthError } from '../../src/errors.js';
import { locateNameServer } from '../../src/rpc/naming/locate.js';
import { Daemon, expose, proxy, type NameServerApi, type Remote } from '../../src/rpc/objects/index.js';
import { runCli } from '../helpers/processes.js';
import { closedPort, startCliNs, stopChild, type CliNameServer } from '../helpers/ns.js';

@expose
class GreetingMaker {
  get_fortune(name: string): string {
    return `Hello, ${name}. Here is your fortune message:\nTomorrow's lucky number is 12345678.`;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'celeriac-ns-it-'));
const servers: CliNameServer[] = [];
const daemons: Daemon[] = [];
const proxies: Array<{ _pyroRelease(): void }> = [];

async function ns(args: string[] = [], env: Record<string, string> = {}): Promise<CliNameServer> {
  const s = await startCliNs(args, env);
  servers.push(s);
  return s;
}
function track<T extends { _pyroRelease(): void }>(p: T): T {
  proxies.push(p);
  return p;
}
async function greetingDaemon(): Promise<{ daemon: Daemon; uri: string }> {
  const daemon = new Daemon({ host: '127.0.0.1' });
  daemons.push(daemon);
  return { daemon, uri: await daemon.register(new GreetingMaker()) };
}

afterEach(async () => {
  for (const p of proxies.splice(0)) p._pyroRelease();
  for (const d of daemons.splice(0)) await d.close();
  for (const s of servers.splice(0)) await stopChild(s.proc);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('celeriac ns', () => {
  it('serves registrations to a celeriac daemon and proxy (PYRONAME, PYROMETA, list, remove)', async () => {
    const server = await ns();
    expect(server.uri).toBe(`PYRO:Pyro.NameServer@127.0.0.1:${server.port}`);
    const { uri } = await greetingDaemon();
    const nsp = track(await locateNameServer({ host: '127.0.0.1', port: server.port }));
    await nsp.register('example.greeting', uri, true, ['greeting', 'demo']);
    await expect(nsp.register('example.greeting', uri, true)).rejects.toThrow(/name already registered: example.greeting/);
    expect(String(await nsp.lookup('example.greeting'))).toBe(uri);
    expect(await nsp.count()).toBe(2);
    expect(await nsp.list('example.')).toEqual({ 'example.greeting': uri });
    expect(await nsp._pyroCall('list', [], { metadata_all: ['demo', 'greeting'], return_metadata: true })).toEqual({ 'example.greeting': [uri, ['demo', 'greeting']] });

    const byName = track(proxy<GreetingMaker>(`PYRONAME:example.greeting@127.0.0.1:${server.port}`));
    expect(await byName.get_fortune('Ada')).toMatch(/^Hello, Ada\. Here is your fortune message:/);
    const byMeta = track(proxy<GreetingMaker>(`PYROMETA:greeting@127.0.0.1:${server.port}`));
    expect(await byMeta.get_fortune('Bo')).toMatch(/^Hello, Bo\./);

    const err = await nsp.lookup('no.such').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remoteType).toBe('NamingError');
    expect((err as RemoteError).remoteModule).toBe('Pyro4.errors');
    expect(await nsp.remove('example.greeting')).toBe(1);
    expect(await nsp.remove(null, 'Pyro.')).toBe(0);
    expect(Object.keys(await nsp.list())).toEqual(['Pyro.NameServer']);
  });

  it('keeps registrations in SQLite across a restart', async () => {
    const file = join(dir, 'restart.db');
    const first = await ns(['--storage', `sqlite:${file}`]);
    const a = track(await locateNameServer({ port: first.port }));
    await a.register('kept.name', 'PYRO:obj_1@127.0.0.1:5555', false, ['kept']);
    a._pyroRelease();
    await stopChild(first.proc);
    expect(first.proc.output()).toContain('NS shut down.');

    const second = await ns(['--storage', `sqlite:${file}`]);
    expect(second.proc.output()).toContain('Persistent store contains 1 existing registrations.');
    const b = track(await locateNameServer({ port: second.port }));
    expect(await b.lookup('kept.name', true)).toEqual([expect.objectContaining({ object: 'obj_1', port: 5555 }), ['kept']]);
    // The name server's own entry follows it to its new port.
    expect(String(await b.lookup('Pyro.NameServer'))).toBe(second.uri);
  });

  it('is found by broadcast discovery on loopback (UDP GET_NSURI) when started with --broadcast', async () => {
    const server = await ns(['--broadcast', '--bcport', '0']);
    expect(server.bcPort).toBeGreaterThan(0);
    const nowhere = await closedPort();
    // No name server on 127.0.0.1:<nowhere>: locateNameServer falls back to broadcast, as Pyro4's locateNS does.
    const found = track(await locateNameServer({ port: nowhere, broadcast: { port: server.bcPort ?? 0, timeout: 500 } }));
    expect(found._pyroUri).toBe(server.uri);
    await found.ping();
    await expect(locateNameServer({ port: nowhere })).rejects.toThrow(NamingError);
  });

  it('write protection: readers with the plain HMAC key, writers on the write port with the write secret', async () => {
    const server = await ns(['--secret', 'read-key'], { CELERIAC_NS_WRITE_SECRET: 'write-key' });
    expect(server.writeUri).toMatch(/^PYRO:Pyro\.NameServer@127\.0\.0\.1:\d+$/);
    expect(server.proc.output()).toContain('write-protected');
    const reader = track(await locateNameServer({ port: server.port, secret: 'read-key' }));
    expect(await reader.count()).toBe(1);
    await expect(reader.register('x', 'PYRO:o@127.0.0.1:1')).rejects.toThrow(/register refused: this name server is write-protected/);
    await expect(reader.remove('Pyro.NameServer')).rejects.toThrow(/remove refused/);
    await expect(reader.set_metadata('Pyro.NameServer', [])).rejects.toThrow(/set_metadata refused/);

    const writer = track(proxy<NameServerApi>(server.writeUri ?? '', { secret: 'write-key' }));
    await writer.register('x', 'PYRO:o@127.0.0.1:1');
    expect(String(await reader.lookup('x'))).toBe('PYRO:o@127.0.0.1:1');

    await expect(locateNameServer({ port: server.port })).rejects.toThrow(NamingError); // no key: refused
    const wrongKey = track(proxy<NameServerApi>(server.writeUri ?? '', { secret: 'read-key' }));
    await expect(wrongKey.count()).rejects.toThrow(RpcAuthError);
  });

  it('--read-only refuses every remote write', async () => {
    const server = await ns(['--read-only']);
    const nsp: Remote<NameServerApi> = track(await locateNameServer({ port: server.port }));
    await expect(nsp.register('x', 'PYRO:o@127.0.0.1:1')).rejects.toThrow(/register refused: this name server is read-only/);
    expect(await nsp.count()).toBe(0);
  });

  it('bad arguments exit 2 with a message', async () => {
    const cases = [
      [['--port', '70000'], /--port expects a port number/],
      [['--storage', 'redis://x'], /unknown name storage/],
      [['--storage', `sqlite:${join(dir, 'missing', 'x.db')}`], /directory does not exist/],
      [['--read-only', '--write-secret', 'w'], /--read-only takes no --write-secret/],
      [['--write-port', '1234'], /--write-port needs --write-secret/],
      [['--bcport', '1'], /need --broadcast/],
    ] as const;
    const runs = await Promise.all(cases.map(([args]) => runCli(['ns', ...args], {})));
    cases.forEach(([args, text], i) => {
      const r = runs[i];
      expect(r?.code, `${args.join(' ')}: ${r?.stderr ?? ''}`).toBe(2);
      expect(r?.stderr).toMatch(text);
    });
  });

  it('a taken port exits 2 and says so', async () => {
    const server = await ns();
    const r = await runCli(['ns', '--port', String(server.port)], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/EADDRINUSE.*choose another --port/);
  });
});
