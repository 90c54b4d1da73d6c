// The remote-object examples run as their READMEs say (tsx, the built package): examples/greeting (server with
// its own name server, then with `celeriac ns`; the client) and examples/chain (the ring of three servers and the
// client, every hop logged). Each run uses a name server port of its own (PYRO_NS_PORT).
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, runProcess, spawnProcess, type Spawned } from '../helpers/processes.js';
import { closedPort, startCliNs, stopChild } from '../helpers/ns.js';

const children: Spawned[] = [];

/** `npx tsx examples/<file>` as a long-running process. */
function example(file: string, env: Record<string, string>, args: string[] = []): Spawned {
  const p = spawnProcess(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], { ...process.env, ...env }, ROOT);
  children.push(p);
  return p;
}
/** `npx tsx examples/<file>` run to completion. */
function runExample(file: string, env: Record<string, string>, args: string[] = []): ReturnType<typeof runProcess> {
  return runProcess(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], { ...process.env, ...env }, ROOT);
}

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => stopChild(c)));
});

const FORTUNE = "Hello, Ada. Here is your fortune message:\nTomorrow's lucky number is 12345678.\n";

describe('examples/greeting', () => {
  it('server (running its own name server) and client, as in the README', async () => {
    const env = { PYRO_NS_PORT: String(await closedPort()) };
    const server = example('greeting/server.ts', env);
    await server.waitFor(/^Ready\. Object uri = PYRO:obj_\w+@127\.0\.0\.1:\d+ \(registered as example\.greeting\)$/m, 30_000);
    expect(server.output()).toContain(`Started a name server: PYRO:Pyro.NameServer@127.0.0.1:${env.PYRO_NS_PORT}`);
    const client = await runExample('greeting/client.ts', env, ['Ada']);
    expect(client.stderr).toBe('');
    expect(client.stdout).toBe(FORTUNE);
    await stopChild(server);
    expect(server.output()).toContain('Stopped.');
  });

  it('server and client on `celeriac ns`', async () => {
    const ns = await startCliNs([]);
    children.push(ns.proc);
    const env = { PYRO_NS_PORT: String(ns.port) };
    const server = example('greeting/server.ts', env);
    await server.waitFor(/^Ready\./m, 30_000);
    expect(server.output()).not.toContain('Started a name server');
    expect((await runExample('greeting/client.ts', env, ['Ada'])).stdout).toBe(FORTUNE);
  });
});

describe('examples/chain', () => {
  it('the message goes round the ring 1 -> 2 -> 3 -> 1, each hop logged', async () => {
    const env = { PYRO_NS_PORT: String(await closedPort()) };
    const servers = example('chain/servers.ts', env);
    for (const n of [1, 2, 3]) await servers.waitFor(`[server ${n}] ready example.chain.${n}`, 30_000);
    const client = await runExample('chain/client.ts', env);
    expect(client.stdout).toBe('Result=["passed on from 1","passed on from 2","passed on from 3","complete at 1"]\n');
    await servers.waitFor('[server 1] Back at 1; the chain is closed!');
    // Each link logged its hop (the Result above gives their order; lines from three pipes may interleave).
    const hops = servers.output().split('\n').filter((l) => /forwarding|Back at/.test(l));
    expect(hops.sort()).toEqual([
      '[server 1] 1 forwarding the message to 2',
      '[server 1] Back at 1; the chain is closed!',
      '[server 2] 2 forwarding the message to 3',
      '[server 3] 3 forwarding the message to 1',
    ]);
    await stopChild(servers);
    expect(servers.output()).toContain('Stopped.');
  });

  it('server.ts without its arguments exits 2 with the usage', async () => {
    const r = await runExample('chain/server.ts', {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage: server\.ts THIS NEXT/);
  });
});
