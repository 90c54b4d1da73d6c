/**
 * Direct RPC round trips over loopback, side by side in one run (`npm run bench:rpc`): celeriac's tcp:// driver
 * (json, msgpack, tls://), Node's plain http + JSON (keep-alive agent), and Python's stdlib SimpleXMLRPCServer
 * (/usr/bin/python3, HTTP/1.1 keep-alive). Every server runs in its own process with the same `add(a, b)`; the
 * client is this process for all of them (XML-RPC: a minimal POST of a methodCall over node:http).
 *
 *   latency     sequential add(i, 1) after a warm-up: p50 / p99 of each round trip
 *   pipelined   `window` calls kept in flight from one client until `total` answered: calls/s
 *               celeriac: one connection; http: a keep-alive agent of `sockets` connections (node:http does not
 *               pipeline on one socket); xmlrpc: one connection (the stdlib server serves one at a time)
 * Also: CPU time per call of the server process and of the client, and the load average before and after.
 * Knobs: --rt 5000 --total 200000 --window 512 --only celeriac-json,celeriac-msgpack,celeriac-tls,http-json,xmlrpc
 * Profiling: BENCH_RPC_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=bench/results/prof' (server) and
 * `node --cpu-prof --import tsx bench/rpc/run.ts` (client). Raw records: bench/results/rpc-latest.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTcpDriver } from '../../src/rpc/tcp/index.js';
import { makeTestPki } from '../../tests/helpers/tls-certs.js';
import { cpuTimeMs, percentile, round } from '../lib.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback;
};
const RT = Number(flag('rt', '5000'));
const TOTAL = Number(flag('total', '200000'));
const WINDOW = Number(flag('window', '512'));
const ONLY = new Set(flag('only', 'celeriac-json,celeriac-msgpack,celeriac-tls,http-json,xmlrpc').split(','));
const PY = process.env['CELERIAC_TEST_PYTHON'] ?? '/usr/bin/python3';
const SERVER_NODE_ARGS = (process.env['BENCH_RPC_SERVER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);

type Add = (a: number, b: number) => Promise<number>;
interface Client {
  add: Add;
  close(): Promise<void>;
}
interface System {
  name: string;
  how: string;
  server: () => { command: string; args: string[] };
  client: (address: string) => Client;
  /** Calls in flight for the pipelined row, and the total (slow systems get fewer). */
  window: number;
  total: number;
}

function spawnServer(command: string, args: string[]): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve({ child, address: m[1] as string });
    });
    child.on('exit', (code) => reject(new Error(`${command} exited (${code}) before it served: ${out}`)));
  });
}

function httpClient(address: string, sockets: number, encode: (a: number, b: number) => string, decode: (body: string) => number, type: string): Client {
  const url = new URL(address);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const add: Add = (a, b) =>
    new Promise((resolve, reject) => {
      const body = encode(a, b);
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname === '/' ? '/RPC2' : url.pathname, method: 'POST', agent, headers: { 'content-type': type, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            try {
              resolve(decode(text));
            } catch (err) {
              reject(err as Error);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { add, close: async () => agent.destroy() };
}

const xmlCall = (a: number, b: number): string =>
  `<?xml version="1.0"?><methodCall><methodName>add</methodName><params><param><value><int>${a}</int></value></param>` +
  `<param><value><int>${b}</int></value></param></params></methodCall>`;
const xmlResult = (body: string): number => {
  const m = /<(?:int|i4)>(-?\d+)<\/(?:int|i4)>/.exec(body);
  if (!m || body.includes('<fault>')) throw new Error(`xml-rpc fault: ${body.slice(0, 200)}`);
  return Number(m[1]);
};

function celeriacClient(codec: string, ca?: string): (address: string) => Client {
  return (address) => {
    const tls = ca ? { ca } : undefined;
    const driver = createTcpDriver(address, { codec, ...(tls ? { tls } : {}) });
    const add: Add = async (a, b) => {
      const outcome = await driver.call({ topic: 'bench' }, { method: 'add', args: [a, b] }, { timeout: 30_000 });
      if (!outcome.ok) throw new Error(outcome.error.message);
      return outcome.result as number;
    };
    return { add, close: () => driver.close() };
  };
}

async function latency(add: Add, n: number): Promise<number[]> {
  for (let i = 0; i < Math.min(1000, n); i++) await add(i, 1);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await add(i, 1);
    samples.push(performance.now() - t0);
    if (r !== i + 1) throw new Error(`add(${i}, 1) answered ${r}`);
  }
  return samples;
}

function pipelined(add: Add, total: number, window: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let started = 0;
    let done = 0;
    const t0 = performance.now();
    const next = (): void => {
      if (started >= total) return;
      const i = started++;
      add(i, 1).then((r) => {
        if (r !== i + 1) return reject(new Error(`add(${i}, 1) answered ${r}`));
        if (++done === total) resolve(performance.now() - t0);
        else next();
      }, reject);
    };
    for (let w = 0; w < window; w++) next();
  });
}

async function main(): Promise<void> {
  const tlsDir = mkdtempSync(join(tmpdir(), 'celeriac-bench-tls-'));
  const { ca } = makeTestPki(tlsDir);
  const tsx = (...args: string[]) => () => ({ command: process.execPath, args: [...SERVER_NODE_ARGS, '--import', 'tsx', join(ROOT, 'bench/rpc/server.ts'), ...args] });
  const systems: System[] = [
    { name: 'celeriac-json', how: 'celeriac tcp://, json bodies', server: tsx('celeriac', 'tcp://127.0.0.1:0'), client: celeriacClient('json'), window: WINDOW, total: TOTAL },
    { name: 'celeriac-msgpack', how: 'celeriac tcp://, msgpack bodies', server: tsx('celeriac', 'tcp://127.0.0.1:0'), client: celeriacClient('msgpack'), window: WINDOW, total: TOTAL },
    { name: 'celeriac-tls', how: 'celeriac tls://, json bodies', server: tsx('celeriac', 'tls://127.0.0.1:0', tlsDir), client: celeriacClient('json', ca), window: WINDOW, total: TOTAL },
    {
      name: 'http-json',
      how: 'node:http + JSON, keep-alive agent (8 sockets for pipelined)',
      server: tsx('http'),
      client: (a) => httpClient(a, 8, (x, y) => JSON.stringify({ method: 'add', args: [x, y] }), (t) => (JSON.parse(t) as { result: number }).result, 'application/json'),
      window: 64,
      total: Math.min(TOTAL, 50_000),
    },
    {
      name: 'xmlrpc',
      how: 'Python SimpleXMLRPCServer (stdlib, HTTP/1.1), client: XML-RPC POST from node:http, 1 socket',
      server: () => ({ command: PY, args: [join(ROOT, 'bench/rpc/xmlrpc_server.py')] }),
      client: (a) => httpClient(a.startsWith('http') ? a : `http://127.0.0.1:${a}/RPC2`, 1, xmlCall, xmlResult, 'text/xml'),
      window: 8,
      total: Math.min(TOTAL, 10_000),
    },
  ];
  const load0 = loadavg();
  const recs: Record<string, unknown>[] = [];
  for (const sys of systems.filter((s) => ONLY.has(s.name))) {
    const { command, args } = sys.server();
    const { child, address } = await spawnServer(command, args);
    const client = sys.client(address);
    try {
      const lat = await latency(client.add, sys.name === 'xmlrpc' ? Math.min(RT, 2000) : RT);
      await pipelined(client.add, Math.ceil(sys.total / 2), sys.window); // warm-up (the first system also warms this process)
      const serverCpu0 = cpuTimeMs(child.pid as number) ?? Number.NaN;
      const clientCpu0 = process.cpuUsage();
      const ms = await pipelined(client.add, sys.total, sys.window);
      const serverCpu = (cpuTimeMs(child.pid as number) ?? Number.NaN) - serverCpu0;
      const clientCpu = process.cpuUsage(clientCpu0);
      const rec = {
        system: sys.name,
        how: sys.how,
        p50_ms: round(percentile(lat, 50), 4),
        p99_ms: round(percentile(lat, 99), 4),
        calls_per_s: Math.round((sys.total * 1000) / ms),
        window: sys.window,
        total: sys.total,
        server_cpu_us_per_call: round((serverCpu * 1000) / sys.total, 1),
        client_cpu_us_per_call: round((clientCpu.user + clientCpu.system) / sys.total, 1),
      };
      recs.push(rec);
      process.stderr.write(`${JSON.stringify(rec)}\n`);
    } finally {
      await client.close();
      child.kill('SIGTERM');
    }
  }
  rmSync(tlsDir, { recursive: true, force: true });
  const load1 = loadavg();
  const lines = [
    `| system | round trip p50 | p99 | pipelined calls/s (in flight) | server CPU µs/call | client CPU µs/call |`,
    `| --- | --- | --- | --- | --- | --- |`,
    ...recs.map(
      (r) =>
        `| ${String(r.how)} | ${String(r.p50_ms)} ms | ${String(r.p99_ms)} ms | ${Number(r.calls_per_s).toLocaleString('en')} (${String(r.window)}) | ${String(r.server_cpu_us_per_call)} | ${String(r.client_cpu_us_per_call)} |`,
    ),
    '',
    `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}; load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}; ` +
      `round trips: ${RT} sequential (xmlrpc ${Math.min(RT, 2000)}), pipelined: ${TOTAL} calls (http ${Math.min(TOTAL, 50_000)}, xmlrpc ${Math.min(TOTAL, 10_000)}).`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/rpc-latest.json'), JSON.stringify({ load0, load1, recs }, null, 2));
}

await main();
