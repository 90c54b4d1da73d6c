// The RPC examples run as their READMEs say (each README's two commands): compute-rpc over a fresh embedded
// SQLite file, the time server and the file transfer over direct TCP (the transfer interrupted and resumed).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, runProcess, spawnCli, spawnProcess, type Spawned } from '../helpers/processes.js';
import { freePort } from '../helpers/redis-server.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const TSX = `${ROOT}node_modules/.bin/tsx`;
const running: Spawned[] = [];
const dirs: TempDir[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await p.exited;
  }
  for (const d of dirs.splice(0)) d.remove();
});


const tsx = (script: string, args: string[], env: Record<string, string> = {}) => runProcess(TSX, [script, ...args], { ...process.env, ...env }, ROOT);

describe('RPC examples', () => {
  it('compute-rpc: call shared by two servers, one server, cast, fanout, refused version and method, a heartbeated long call', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const broker = `sqlite://${dir.file('celeriac.db')}`;
    const env = { CELERIAC_BROKER_URL: broker, CELERIAC_RESULT_BACKEND: broker };
    const server = spawnProcess(TSX, ['examples/compute-rpc/server.ts'], { ...process.env, ...env }, ROOT);
    running.push(server);
    await server.waitFor('compute servers host1, host2 ready', 30_000);
    const client = await tsx('examples/compute-rpc/client.ts', [], env);
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    expect(client.stdout).toContain('add(6, 10) = 16');
    expect(client.stdout).toContain('shared: host1 and host2 answered');
    expect(client.stdout).toContain('add(2, 2) on host2 only = 4 (answered by host2)');
    expect(client.stdout).toMatch(/version 2\.0 refused: UnsupportedVersion/);
    expect(client.stdout).toMatch(/unknown method refused: NoSuchMethod/);
    expect(client.stdout).toMatch(/host[12] slept 3000 ms/);
    await server.waitFor('[host2] reload #1');
    await server.waitFor('[host1] reload #1');
    await server.waitFor('log: a cast');
  }, 60_000);

  it('time-server: celeriac serve --tcp and the typed client', async () => {
    const port = await freePort();
    const server = spawnCli(['serve', 'examples/time-server/time.ts', '--tcp', `:${port}`], {});
    running.push(server);
    await server.waitFor('ready', 30_000);
    const client = await tsx('examples/time-server/client.ts', [`tcp://127.0.0.1:${port}`]);
    expect(client.code).toBe(0);
    expect(client.stdout).toMatch(/^ctime: \w{3} \w{3} \d{2} \d{4}/m);
    expect(client.stdout).toMatch(/^Asia\/Shanghai: .+GMT\+8$/m);
    expect(client.stdout).toMatch(/round trip \d+ ms, clock offset ~-?\d+(\.\d+)? ms/);
    expect(client.stdout).toContain("bad zone refused: RangeError: unknown time zone 'Mars/Olympus_Mons'");
  }, 60_000);

  it('file-transfer: a file in chunks with its checksum, resumed after an interruption; names outside the folder refused', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const data = randomBytes(3 * 1024 * 1024 + 12345);
    writeFileSync(dir.file('big.bin'), data);
    const port = await freePort();
    const server = spawnCli(['serve', 'examples/file-transfer/files.ts', '--tcp', `:${port}`, '--secret', 'files'], { FILES_ROOT: dir.path });
    running.push(server);
    await server.waitFor('ready', 30_000);
    const url = `tcp://127.0.0.1:${port}`;
    const env = { CELERIAC_RPC_SECRET: 'files' };
    const dest = dir.file('copy.bin');
    // An interrupted earlier run: the first 1,100,000 bytes arrived.
    writeFileSync(`${dest}.part`, data.subarray(0, 1_100_000));
    const run = await tsx('examples/file-transfer/download.ts', ['big.bin', dest, url], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`resuming big.bin at byte 1100000 of ${data.length}`);
    expect(run.stdout).toContain('verified');
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(statSync(dest).size).toBe(data.length);
    expect(createHash('sha256').update(readFileSync(dest)).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const outside = await tsx('examples/file-transfer/download.ts', ['../../etc/passwd', dir.file('x'), url], env);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain('outside the served folder');
    const noSecret = await tsx('examples/file-transfer/download.ts', ['big.bin', dir.file('y'), url], {});
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toMatch(/requires a shared secret/);
  }, 60_000);
});
