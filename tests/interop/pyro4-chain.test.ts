// The seeds' chain with mixed links: celeriac chain servers (examples/chain/server.ts) and Python Pyro4 ones
// (tests/fixtures/python/pyro4_chain_server.py, json serializer) in one ring, found through `celeriac ns` and
// through `python3 -m Pyro4.naming`; called from celeriac and from Python.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { proxy } from '../../src/rpc/objects/index.js';
import { ROOT, spawnProcess, type Spawned } from '../helpers/processes.js';
import { startCliNs, stopChild } from '../helpers/ns.js';
import { pyOps, requirePyro4, startPythonNs, startPythonScript } from './pyro4-helpers.js';

const children: Spawned[] = [];
const track = (p: Spawned): void => void children.push(p);

/** One link: 'ts' runs examples/chain/server.ts, 'py' the Python chain server; resolves once it is registered. */
async function link(kind: 'ts' | 'py', self: string, next: string, nsPort: number): Promise<Spawned> {
  if (kind === 'py') return startPythonScript(track, 'pyro4_chain_server.py', [self, next, '127.0.0.1', String(nsPort)], new RegExp(`^ready example\\.chain\\.${self}$`, 'm'));
  const p = spawnProcess(process.execPath, ['--import', 'tsx', 'examples/chain/server.ts', self, next], { ...process.env, PYRO_NS_PORT: String(nsPort) }, ROOT);
  track(p);
  await p.waitFor(`ready example.chain.${self}`, 30_000);
  return p;
}

const RESULT = ['passed on from 1', 'passed on from 2', 'passed on from 3', 'complete at 1'];

beforeAll(requirePyro4);
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
});

describe('a chain of celeriac and Python Pyro4 servers', () => {
  it('on celeriac ns: ts 1 -> py 2 -> ts 3 -> ts 1, called from celeriac and from Python', async () => {
    const ns = await startCliNs([]);
    track(ns.proc);
    const [one, two, three] = await Promise.all([link('ts', '1', '2', ns.port), link('py', '2', '3', ns.port), link('ts', '3', '1', ns.port)]);
    const first = proxy<{ process(message: string[]): Promise<string[]> }>(`PYRONAME:example.chain.1@127.0.0.1:${ns.port}`);
    try {
      expect(await first.process(['hello'])).toEqual(RESULT);
    } finally {
      first._pyroRelease();
    }
    const [fromPython] = await pyOps({ host: '127.0.0.1', port: ns.port, ops: [['call', `PYRONAME:example.chain.1@127.0.0.1:${ns.port}`, 'process', [['hi']]]] });
    expect(fromPython).toEqual({ ok: true, result: RESULT });
    // Every link logged its hop, twice (once per message).
    const twice = (text: string): RegExp => new RegExp(`(${text}[\\s\\S]*){2}`);
    await one?.waitFor(twice('1 forwarding the message to 2'));
    await two?.waitFor(twice('2 forwarding the message to 3'));
    await three?.waitFor(twice('3 forwarding the message to 1'));
    await one?.waitFor(twice('Back at 1; the chain is closed!'));
  });

  it('on python3 -m Pyro4.naming: py 1 -> ts 2 -> py 3 -> py 1, called from celeriac', async () => {
    const nsPort = await startPythonNs(track);
    const [one, two] = await Promise.all([link('py', '1', '2', nsPort), link('ts', '2', '3', nsPort), link('py', '3', '1', nsPort)]);
    const first = proxy<{ process(message: string[]): Promise<string[]> }>(`PYRONAME:example.chain.1@127.0.0.1:${nsPort}`);
    try {
      expect(await first.process(['hello'])).toEqual(RESULT);
    } finally {
      first._pyroRelease();
    }
    await two?.waitFor('2 forwarding the message to 3');
    await one?.waitFor('Back at 1; the chain is closed!');
  });
});
