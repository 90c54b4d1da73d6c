// The RPC command line: `celeriac serve` (tcp, http, a topic on the broker), `celeriac rpc call|list` against
// each (the --secret guards tcp:// with an HMAC challenge and http:// as a bearer token), `celeriac gateway` in
// front of a topic; bad JSON, unknown methods and bad flags exit 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, spawnCli, type Spawned } from '../helpers/processes.js';
import { freePort } from '../helpers/redis-server.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const SERVICE = `${ROOT}tests/fixtures/rpc/service.ts`;


async function stop(p: Spawned | undefined): Promise<number | null> {
  if (!p) return null;
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

describe('celeriac serve / rpc / gateway', () => {
  let dir: TempDir;
  let env: Record<string, string>;
  let served: Spawned;
  let tcp: string;
  let http: string;
  let gateway: Spawned;
  let gatewayUrl: string;

  beforeAll(async () => {
    dir = tempDir();
    const broker = `sqlite://${dir.file('rpc.db')}`;
    env = { CELERIAC_BROKER_URL: broker, CELERIAC_RESULT_BACKEND: broker };
    const [tcpPort, httpPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
    tcp = `tcp://127.0.0.1:${tcpPort}`;
    http = `http://127.0.0.1:${httpPort}/`;
    served = spawnCli(['serve', SERVICE, '--tcp', `:${tcpPort}`, '--http', `127.0.0.1:${httpPort}`, '--topic', 'svc', '--server', 's1', '--secret', 'k'], env);
    await served.waitFor('ready; Ctrl-C to stop', 30_000);
    gatewayUrl = `http://127.0.0.1:${gatewayPort}/`;
    gateway = spawnCli(['gateway', '--http', `:${gatewayPort}`, '--topic', 'svc', '--timeout', '10000'], env);
    await gateway.waitFor('ready; Ctrl-C to stop', 30_000);
  }, 60_000);

  afterAll(async () => {
    await stop(gateway);
    await stop(served);
    dir.remove();
  });

  it('serve prints where it listens and what it serves', () => {
    expect(served.output()).toContain(`serving 3 methods of ${SERVICE} on ${tcp}`);
    expect(served.output()).toContain(`on topic 'svc' (server 's1')`);
  });

  it('rpc call prints the JSON result over tcp (with the secret), http and the broker', async () => {
    const viaTcp = await runCli(['rpc', 'call', tcp, 'add', '{"x": 1, "y": 2}', '--secret', 'k', '--json'], env);
    expect(viaTcp).toMatchObject({ code: 0, stdout: '3\n' });
    const viaHttp = await runCli(['rpc', 'call', http, 'sum', '[1, 2, 3]', '--json', '--secret', 'k'], env);
    expect(viaHttp).toMatchObject({ code: 0, stdout: '6\n' });
    const viaTopic = await runCli(['rpc', 'call', '--topic', 'svc', 'add', '{"x": 20, "y": 22}'], env);
    expect(viaTopic).toMatchObject({ code: 0, stdout: '42\n' });
    const refused = await runCli(['rpc', 'call', http, 'sum', '[1]'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/401 Unauthorized/);
    const viaGateway = await runCli(['rpc', 'call', `xmlrpc+${gatewayUrl}RPC2`, 'sum', '[4, 5]'], env);
    expect(viaGateway).toMatchObject({ code: 0, stdout: '9\n' });
    const cast = await runCli(['rpc', 'call', '--topic', 'svc', '--cast', '--fanout', 'add', '{"x": 1, "y": 1}'], env);
    expect(cast).toMatchObject({ code: 0, stdout: 'sent\n' });
  });

  it('rpc list shows the methods with their doc lines, never the underscore one', async () => {
    const list = await runCli(['rpc', 'list', tcp, '--secret', 'k'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/add\s+1\.0\s+Adds x and y\./);
    expect(list.stdout).toMatch(/sum\s+1\.0\s+Sums its positional arguments\./);
    expect(list.stdout).not.toContain('_hidden');
    const json = await runCli(['rpc', 'list', '--topic', 'svc', '--json'], env);
    expect((JSON.parse(json.stdout) as { name: string }[]).map((m) => m.name).sort()).toEqual(['add', 'fail', 'sum']);
  });

  it('exits 2 for bad JSON, an unknown method, a missing URL and bad flags; 1 with the remote error for a failure', async () => {
    const badJson = await runCli(['rpc', 'call', http, 'add', '{x: 1}', '--secret', 'k'], env);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/must be JSON/);
    const scalar = await runCli(['rpc', 'call', http, 'add', '5', '--secret', 'k'], env);
    expect(scalar.code).toBe(2);
    expect(scalar.stderr).toMatch(/goes in a list: '\[5\]'/);
    const unknown = await runCli(['rpc', 'call', http, 'nope', '--secret', 'k'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/NoSuchMethod.*nope/);
    const hidden = await runCli(['rpc', 'call', tcp, '_hidden', '--secret', 'k'], env);
    expect(hidden.code).toBe(2);
    const noUrl = await runCli(['rpc', 'call', 'add'], env);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/expected a server URL first/);
    const badTimeout = await runCli(['rpc', 'call', http, 'add', '--timeout', 'soon', '--secret', 'k'], env);
    expect(badTimeout.code).toBe(2);
    const failed = await runCli(['rpc', 'call', http, 'fail', '--secret', 'k'], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/RangeError: this always fails/);
    const noSecret = await runCli(['rpc', 'call', tcp, 'add', '{"x": 1, "y": 2}'], env);
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toMatch(/requires a shared secret/);
  });

  it('serve and gateway refuse what they cannot do with exit 2', async () => {
    const nowhere = await runCli(['serve', SERVICE], env);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/say where to serve/);
    const missing = await runCli(['serve', `${ROOT}tests/fixtures/rpc/missing.ts`, '--tcp', ':0'], env);
    expect(missing.code).toBe(2);
    const badAddress = await runCli(['serve', SERVICE, '--tcp', 'localhost'], env);
    expect(badAddress.code).toBe(2);
    expect(badAddress.stderr).toMatch(/--tcp expects \[host\]:port/);
    const busy = await runCli(['serve', SERVICE, '--tcp', tcp.slice('tcp://'.length)], env);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/EADDRINUSE/);
    const two = await runCli(['gateway', SERVICE, '--topic', 'svc'], env);
    expect(two.code).toBe(2);
  });
});
