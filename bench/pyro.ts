/**
 * Pyro benchmark (`npm run bench:pyro`): proxy call round trips, p50 / p99 and calls/s, of celeriac (daemon in a
 * child process, proxy here) side by side with Python Pyro4 4.82 (daemon and proxy in two Python processes), both
 * with the json serializer, on this machine, in one run. Sequential calls (one in flight, as a Pyro4 proxy makes
 * them), then celeriac with BENCH_PYRO_INFLIGHT calls in flight on one proxy (Pyro4 proxies cannot pipeline), and
 * the two crossings (celeriac proxy -> Pyro4 daemon, Pyro4 proxy -> celeriac daemon). A last row is the floor under
 * any Node.js proxy here: a bare node:net echo of 100 bytes between two processes, no protocol at all.
 * BENCH_PYRO_N calls per measure (default 20,000), BENCH_PYRO_WARMUP (default 2,000); each measure runs
 * BENCH_PYRO_ROUNDS times (default 3) and the round with the median calls/s is shown (the machine may be shared).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { proxy } from '../dist/rpc/objects/index.js';

const N = Number(process.env['BENCH_PYRO_N'] ?? 20_000);
const WARMUP = Number(process.env['BENCH_PYRO_WARMUP'] ?? 2_000);
const INFLIGHT = Number(process.env['BENCH_PYRO_INFLIGHT'] ?? 32);
const ROUNDS = Number(process.env['BENCH_PYRO_ROUNDS'] ?? 3);
const PYTHON = process.env['CELERIAC_TEST_PYTHON'] ?? '/usr/bin/python3';
const HERE = fileURLToPath(new URL('.', import.meta.url));
const PY = `${HERE}pyro4_bench.py`;
const env = { ...process.env, PYTHONPATH: '', PYTHONDONTWRITEBYTECODE: '1' };

interface Row {
  measure: string;
  p50_us: number | string;
  p99_us: number | string;
  calls_per_s: number;
}

function start(cmd: string, args: string[]): Promise<{ child: ChildProcess; uri: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /URI (\S+)/.exec(out);
      if (m?.[1]) resolve({ child, uri: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`${cmd} exited (${String(code)}) before printing its URI`)));
  });
}

function pythonClient(uri: string): Promise<Omit<Row, 'measure'>> {
  return new Promise((resolve, reject) => {
    const c = spawn(PYTHON, [PY, 'client', uri, String(N), String(WARMUP)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Omit<Row, 'measure'>) : reject(new Error(`python client exited ${String(code)}`))));
  });
}

async function celeriacSequential(uri: string): Promise<Omit<Row, 'measure'>> {
  const p = proxy<{ add(x: number, y: number): number }>(uri);
  for (let i = 0; i < WARMUP; i++) await p.add(i, 1);
  const lat = new Float64Array(N);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const s = process.hrtime.bigint();
    await p.add(i, 1);
    lat[i] = Number(process.hrtime.bigint() - s) / 1e3;
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  p._pyroRelease();
  lat.sort();
  return { p50_us: lat[Math.floor(N / 2)] ?? 0, p99_us: lat[Math.floor(N * 0.99)] ?? 0, calls_per_s: N / total };
}

async function celeriacInflight(uri: string): Promise<Omit<Row, 'measure'>> {
  const p = proxy<{ add(x: number, y: number): number }>(uri);
  for (let i = 0; i < WARMUP; i += INFLIGHT) await Promise.all(Array.from({ length: INFLIGHT }, (_, j) => p.add(i + j, 1)));
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (next < N) await p.add(next++, 1);
    }),
  );
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  p._pyroRelease();
  return { p50_us: '-', p99_us: '-', calls_per_s: N / total };
}

const ECHO = `const s = require('node:net').createServer((c) => { c.setNoDelay(true); c.on('data', (d) => c.write(d)); });
s.listen(0, '127.0.0.1', () => console.log('URI ' + s.address().port));`;

async function echoFloor(port: number): Promise<Omit<Row, 'measure'>> {
  const c = net.connect(port, '127.0.0.1');
  c.setNoDelay(true);
  await new Promise((r) => c.once('connect', r));
  let done: () => void = () => undefined;
  c.on('data', () => done());
  const buf = Buffer.alloc(100);
  const once = (): Promise<void> => new Promise<void>((r) => ((done = r), c.write(buf)));
  for (let i = 0; i < WARMUP; i++) await once();
  const lat = new Float64Array(N);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const s = process.hrtime.bigint();
    await once();
    lat[i] = Number(process.hrtime.bigint() - s) / 1e3;
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  c.destroy();
  lat.sort();
  return { p50_us: lat[Math.floor(N / 2)] ?? 0, p99_us: lat[Math.floor(N * 0.99)] ?? 0, calls_per_s: N / total };
}

const celeriacDaemon = await start(process.execPath, ['--import', 'tsx', `${HERE}pyro-daemon.ts`, '127.0.0.1']);
const pyDaemon = await start(PYTHON, [PY, 'serve', '127.0.0.1']);
const echo = await start(process.execPath, ['-e', ECHO]);
const rows: Row[] = [];
async function measure(name: string, run: () => Promise<Omit<Row, 'measure'>>): Promise<void> {
  const rounds: Omit<Row, 'measure'>[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await run());
  rounds.sort((a, b) => a.calls_per_s - b.calls_per_s);
  rows.push({ measure: name, ...(rounds[Math.floor(rounds.length / 2)] as Omit<Row, 'measure'>) });
}
try {
  await measure('Pyro4 proxy -> Pyro4 daemon (anchor)', () => pythonClient(pyDaemon.uri));
  await measure('celeriac proxy -> celeriac daemon', () => celeriacSequential(celeriacDaemon.uri));
  await measure(`celeriac proxy -> celeriac daemon, ${INFLIGHT} in flight`, () => celeriacInflight(celeriacDaemon.uri));
  await measure('celeriac proxy -> Pyro4 daemon', () => celeriacSequential(pyDaemon.uri));
  await measure('Pyro4 proxy -> celeriac daemon', () => pythonClient(celeriacDaemon.uri));
  await measure('floor: bare node:net echo, 100 bytes (no protocol)', () => echoFloor(Number(echo.uri)));
} finally {
  celeriacDaemon.child.kill('SIGTERM');
  pyDaemon.child.kill('SIGTERM');
  echo.child.kill('SIGTERM');
}
const fmt = (v: number | string): string => (typeof v === 'number' ? v.toFixed(v < 100 ? 1 : 0) : v);
console.log(`\nPyro proxy round trips, json serializer, ${N} calls of add(i, 1) per row (after ${WARMUP} warm-up calls), median of ${ROUNDS} rounds\n`);
console.log('| measure | p50 µs | p99 µs | calls/s |\n|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.measure} | ${fmt(r.p50_us)} | ${fmt(r.p99_us)} | ${Math.round(r.calls_per_s).toLocaleString('en')} |`);
const anchor = rows[0];
const seq = rows[1];
const pipe = rows[2];
if (anchor && seq && pipe && typeof anchor.p50_us === 'number' && typeof seq.p50_us === 'number') {
  console.log(
    `\nceleriac vs Pyro4: sequential ${(seq.calls_per_s / anchor.calls_per_s).toFixed(1)}x calls/s, p50 ${(seq.p50_us / anchor.p50_us).toFixed(2)} of Pyro4's; ` +
      `${INFLIGHT} in flight ${(pipe.calls_per_s / anchor.calls_per_s).toFixed(1)}x calls/s (goal: 5x calls/s, p50 under 1/3)`,
  );
}
