// The name server both ways with Debian's Python Pyro4 4.82 (json serializer): Python registers, looks up and
// resolves PYRONAME on `celeriac ns` (and its nsc tool lists it); celeriac registers, looks up and resolves on
// `python3 -m Pyro4.naming`; Python's locateNS finds `celeriac ns` by broadcast; write protection seen from
// Python; a SQLite file written by `celeriac ns` read by Pyro4's sql: storage.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { locateNameServer } from '../../src/rpc/naming/locate.js';
import { Daemon, expose, proxy } from '../../src/rpc/objects/index.js';
import type { Spawned } from '../helpers/processes.js';
import { portOf, startCliNs, stopChild, type CliNameServer } from '../helpers/ns.js';
import { PY_DIR, PYTHON, pythonEnv, runProcess } from './helpers.js';
import { pyOps, requirePyro4, startPythonNs, startPythonScript } from './pyro4-helpers.js';

const FORTUNE = /^Hello, (\w+)\. Here is your fortune message:\nTomorrow's lucky number is 12345678\.$/;

@expose
class GreetingMaker {
  get_fortune(name: string): string {
    return `Hello, ${name}. Here is your fortune message:\nTomorrow's lucky number is 12345678.`;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'celeriac-pyro4-ns-'));
const children: Spawned[] = [];
const daemons: Daemon[] = [];
const proxies: Array<{ _pyroRelease(): void }> = [];

async function celeriacNs(args: string[] = [], env: Record<string, string> = {}): Promise<CliNameServer> {
  const s = await startCliNs(args, env);
  children.push(s.proc);
  return s;
}

/** The Python greeting server, registered as `name` in the name server at nsPort; resolves with its URI. */
async function pythonGreeting(nsPort: number, name: string): Promise<string> {
  const p = await startPythonScript(track, 'pyro4_greeting_ns.py', ['127.0.0.1', String(nsPort), name], /^URI \S+$/m);
  return /^URI (\S+)$/m.exec(p.output())?.[1] ?? '';
}
const track = (p: Spawned): void => void children.push(p);
const pythonNs = (extra: string[] = []): Promise<number> => startPythonNs(track, extra);

beforeAll(requirePyro4);
afterEach(async () => {
  for (const p of proxies.splice(0)) p._pyroRelease();
  for (const d of daemons.splice(0)) await d.close();
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Python Pyro4 on celeriac ns', () => {
  it('registers, looks up, lists and resolves PYRONAME; each side calls the other\'s greeting by name', async () => {
    const ns = await celeriacNs();
    const pyUri = await pythonGreeting(ns.port, 'example.greeting');
    const loc = { host: '127.0.0.1', port: ns.port };
    const [lookup, withMeta, listed, byMeta, resolved, called, missing, safe, two] = await pyOps({
      ...loc,
      ops: [
        ['lookup', 'example.greeting'],
        ['lookup', 'example.greeting', true],
        ['list', { prefix: 'example.' }],
        ['list', { metadata_any: ['greeting', 'x'], return_metadata: true }],
        ['resolve', `PYRONAME:example.greeting@127.0.0.1:${ns.port}`],
        ['call', `PYRONAME:example.greeting@127.0.0.1:${ns.port}`, 'get_fortune', ['Py']],
        ['lookup', 'nope'],
        ['register', 'example.greeting', 'PYRO:x@127.0.0.1:1', { safe: true }],
        ['list', { prefix: 'a', regex: 'b' }],
      ],
    });
    expect(lookup).toEqual({ ok: true, result: pyUri });
    expect(withMeta).toEqual({ ok: true, result: [pyUri, ['greeting']] });
    expect(listed).toEqual({ ok: true, result: { 'example.greeting': pyUri } });
    expect(byMeta).toEqual({ ok: true, result: { 'example.greeting': [pyUri, ['greeting']] } });
    expect(resolved).toEqual({ ok: true, result: pyUri });
    expect(called).toMatchObject({ ok: true, result: expect.stringMatching(FORTUNE) });
    expect(missing).toEqual({ ok: false, type: 'NamingError', message: 'unknown name: nope' });
    expect(safe).toEqual({ ok: false, type: 'NamingError', message: 'name already registered: example.greeting' });
    expect(two).toEqual({ ok: false, type: 'ValueError', message: 'you can only filter on one thing at a time' });

    const greeter = proxy<GreetingMaker>(`PYRONAME:example.greeting@127.0.0.1:${ns.port}`);
    proxies.push(greeter);
    expect(await greeter.get_fortune('Ts')).toMatch(FORTUNE);

    // The other way on the same name server: a celeriac greeting registered there, called by Python by name.
    const daemon = new Daemon({ host: '127.0.0.1' });
    daemons.push(daemon);
    const nsProxy = await locateNameServer({ port: ns.port });
    proxies.push(nsProxy);
    await nsProxy.register('example.ts.greeting', await daemon.register(new GreetingMaker()));
    const [fromPython] = await pyOps({ ...loc, ops: [['call', `PYRONAME:example.ts.greeting@127.0.0.1:${ns.port}`, 'get_fortune', ['Py']]] });
    expect(fromPython).toMatchObject({ ok: true, result: expect.stringMatching(FORTUNE) });

    // Pyro4's own name server tool (json serializer) against celeriac ns.
    const nsc = await runProcess(PYTHON, ['-m', 'Pyro4.nsc', '-n', '127.0.0.1', '-p', String(ns.port), 'list'], pythonEnv({ PYRO_SERIALIZER: 'json' }), PY_DIR);
    expect(nsc.stdout).toContain(`example.greeting --> ${pyUri}`);
    expect(nsc.stdout).toContain(`Pyro.NameServer --> ${ns.uri}`);
    expect(nsc.stdout).toContain("metadata: ['class:Pyro4.naming.NameServer']");
  });

  it("Pyro4.locateNS() finds celeriac ns by broadcast", async () => {
    const ns = await celeriacNs(['--broadcast', '--bcport', '0']);
    // locateNS(port=P) tries TCP 127.0.0.1:P (nothing there), then broadcasts GET_NSURI to UDP P, as Pyro4 does.
    const [location, count] = await pyOps({ broadcast_port: ns.bcPort, ops: [['location'], ['count']] });
    expect(location).toEqual({ ok: true, result: ns.uri });
    expect(count).toEqual({ ok: true, result: 1 });
  });

  it('write protection: the plain HMAC key reads, the write secret on the write port writes', async () => {
    const ns = await celeriacNs(['--secret', 'plain-key', '--write-secret', 'write-key']);
    const [count, refused] = await pyOps({ host: '127.0.0.1', port: ns.port, hmac: 'plain-key', ops: [['count'], ['register', 'py.x', 'PYRO:o@127.0.0.1:1']] });
    expect(count).toEqual({ ok: true, result: 1 });
    expect(refused).toMatchObject({ ok: false, type: 'NamingError', message: expect.stringMatching(/write-protected/) });
    const [written] = await pyOps({ host: '127.0.0.1', port: portOf(ns.writeUri ?? ''), hmac: 'write-key', ops: [['register', 'py.x', 'PYRO:o@127.0.0.1:1']] });
    expect(written).toEqual({ ok: true, result: null });
    const [seen] = await pyOps({ host: '127.0.0.1', port: ns.port, hmac: 'plain-key', ops: [['lookup', 'py.x']] });
    expect(seen).toEqual({ ok: true, result: 'PYRO:o@127.0.0.1:1' });
    // Without the key Python cannot even connect.
    const r = await runProcess(PYTHON, ['pyro4_ns_ops.py', JSON.stringify({ host: '127.0.0.1', port: ns.port, ops: [['count']] })], pythonEnv(), PY_DIR);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/NamingError: Failed to locate the nameserver/);
  });

  it("Pyro4's sql: storage reads the file celeriac ns wrote", async () => {
    const file = join(dir, 'shared.db');
    const ns = await celeriacNs(['--storage', `sqlite:${file}`]);
    const p = await locateNameServer({ port: ns.port });
    await p.register('from.celeriac', 'PYRO:obj_c@127.0.0.1:4000', false, ['t1', 't2']);
    p._pyroRelease();
    await stopChild(ns.proc);
    const pyPort = await pythonNs(['-s', `sql:${file}`]);
    const [found] = await pyOps({ host: '127.0.0.1', port: pyPort, ops: [['lookup', 'from.celeriac', true]] });
    expect(found).toEqual({ ok: true, result: ['PYRO:obj_c@127.0.0.1:4000', ['t1', 't2']] });
  });
});

describe('celeriac on python3 -m Pyro4.naming', () => {
  it('registers and looks up; PYRONAME resolves both ways through the Python name server', async () => {
    const nsPort = await pythonNs();
    const daemon = new Daemon({ host: '127.0.0.1' });
    daemons.push(daemon);
    const uri = await daemon.register(new GreetingMaker());
    const ns = await locateNameServer({ port: nsPort });
    proxies.push(ns);
    await ns.register('example.ts.greeting', uri, false, ['greeting']);
    await expect(ns.register('example.ts.greeting', uri, true)).rejects.toThrow(/name already registered/);
    expect(String(await ns.lookup('example.ts.greeting'))).toBe(uri);
    expect(await ns.lookup('example.ts.greeting', true)).toEqual([expect.objectContaining({ object: uri.slice(5, uri.indexOf('@')) }), ['greeting']]);
    expect(await ns._pyroCall('list', [], { metadata_all: ['greeting'] })).toEqual({ 'example.ts.greeting': uri });
    await ns.set_metadata('example.ts.greeting', ['greeting', 'ts']);
    const tagged = (await ns._pyroCall('list', [], { metadata_any: ['ts'], return_metadata: true })) as Record<string, [string, string[]]>;
    expect(Object.keys(tagged)).toEqual(['example.ts.greeting']);
    expect(tagged['example.ts.greeting']?.[0]).toBe(uri);
    expect([...(tagged['example.ts.greeting']?.[1] ?? [])].sort()).toEqual(['greeting', 'ts']); // a Python set's order

    // Python resolves the name to the celeriac daemon and calls it.
    const [called] = await pyOps({ host: '127.0.0.1', port: nsPort, ops: [['call', `PYRONAME:example.ts.greeting@127.0.0.1:${nsPort}`, 'get_fortune', ['Py']]] });
    expect(called).toMatchObject({ ok: true, result: expect.stringMatching(FORTUNE) });
    // celeriac resolves a Python object's name through the Python name server.
    await pythonGreeting(nsPort, 'example.py.greeting');
    const py = proxy<GreetingMaker>(`PYRONAME:example.py.greeting@127.0.0.1:${nsPort}`);
    proxies.push(py);
    expect(await py.get_fortune('Ts')).toMatch(FORTUNE);
    expect(await ns.remove(null, 'example.')).toBe(2);
  });
});
