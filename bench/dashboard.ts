/**
 * The dashboard under load (`npm run bench:dashboard`), two figures:
 *
 *  1. Live: a stand-in worker (bench/dashboard-events.ts, a child process) sends 10 000 task events a second
 *     on Redis for BENCH_DASH_SECONDS; the dashboard runs here with Chromium (playwright-core) showing its
 *     page and an /api/events client reading. Reported: events the dashboard took per second, its event-loop
 *     delay, /api/overview latency, the page's longest frame and long tasks, a click-to-drawn navigation, and
 *     the CPU time spent per event (the figure that does not depend on what else the machine runs).
 *  2. Memory: 1 000 000 tasks (3 000 000 events) fed through the dashboard's receiver on memory://, with the
 *     SQLite history on: heap and RSS after GC along the way (bounded: the state keeps maxTasks).
 *
 * Run with `node --expose-gc --import tsx bench/dashboard.ts` (the npm script does). Knobs: BENCH_DASH_RATE
 * (10000), BENCH_DASH_SECONDS (10), BENCH_DASH_TASKS (1000000), BENCH_DASH_ONLY (live,memory). The figures also go
 * to bench/results/dashboard.json.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { Celeriac, type AnyEvent } from 'celeriac';
import { startDashboard } from 'celeriac/dashboard';

const RATE = Number(process.env['BENCH_DASH_RATE'] ?? 10_000);
const SECONDS = Number(process.env['BENCH_DASH_SECONDS'] ?? 10);
const TASKS = Number(process.env['BENCH_DASH_TASKS'] ?? 1_000_000);
const ONLY = new Set((process.env['BENCH_DASH_ONLY'] ?? 'live,memory').split(','));
const REDIS = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';
const CHROMIUM = process.env['CELERIAC_TEST_CHROMIUM'] ?? '/usr/bin/chromium';
const mib = (n: number): number => Math.round((n / 1048576) * 10) / 10;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0) * 10) / 10;
};
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

async function live(): Promise<Record<string, unknown>> {
  const keyPrefix = `bench-dash-${randomUUID().slice(0, 8)}:`;
  const app = new Celeriac('bench', { broker: REDIS, backend: 'memory://', brokerOptions: { keyPrefix } });
  const dashboard = await startDashboard(app, { port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(dashboard.url);
  // In the page: every frame's gap, and long tasks (main thread busy over 50 ms).
  // (A string: this project's TypeScript has no DOM types.)
  await page.evaluate(`(() => {
    window.gaps = [];
    window.longTasks = [];
    let last = performance.now();
    const frame = (t) => {
      window.gaps.push(t - last);
      last = t;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.longTasks.push(e.duration))).observe({ entryTypes: ['longtask'] });
  })()`);
  // A script reading every event (Flower's /api/events).
  let streamed = 0;
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(`${dashboard.url}/api/events`, { signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      streamed += decoder.decode(value, { stream: true }).split('\ndata: ').length - 1;
    }
  })().catch(() => undefined);

  const loop = monitorEventLoopDelay({ resolution: 10 });
  // The window: from the stand-in worker's first event to its worker-offline, as the dashboard receives them.
  let first = 0;
  let last = 0;
  let cpu0 = process.cpuUsage();
  const counted = { n: 0 };
  dashboard.receiver.on('event', (e) => {
    if (e.hostname !== 'bench-worker@dashboard') return;
    if (!first) {
      first = Date.now();
      cpu0 = process.cpuUsage();
      loop.enable();
    }
    counted.n++;
    if (e.type === 'worker-offline') last = Date.now();
  });
  const producer = spawn(process.execPath, ['--import', 'tsx', 'bench/dashboard-events.ts', REDIS, keyPrefix, String(RATE), String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let produced = '';
  producer.stdout.on('data', (d: Buffer) => (produced += d.toString()));
  const exited = new Promise<void>((resolve) => producer.on('close', () => resolve()));
  while (!first) await new Promise((r) => setTimeout(r, 20));
  const api: number[] = [];
  const poll = setInterval(() => {
    const s = performance.now();
    void fetch(`${dashboard.url}/api/overview`).then((r) => r.json()).then(() => api.push(performance.now() - s));
  }, 200);
  // Mid-load, a click on Queues and the time until its table is drawn; then back.
  await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 2));
  const c0 = Date.now();
  await page.click('nav a[data-page="queues"]');
  await page.waitForFunction(`document.body.dataset.page === 'queues'`);
  const clickToDrawn = Date.now() - c0;
  await page.click('nav a[data-page="overview"]');
  await exited;
  while (!last) await new Promise((r) => setTimeout(r, 20));
  clearInterval(poll);
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  const seconds = (last - first) / 1000;
  const took = counted.n;
  const inPage = (await page.evaluate(`({ gaps: window.gaps.slice(10), longTasks: window.longTasks })`)) as { gaps: number[]; longTasks: number[] };
  await new Promise((r) => setTimeout(r, 500));
  abort.abort();
  const result = {
    producer: JSON.parse(produced.trim() || '{}') as unknown,
    eventsPerSecondTaken: Math.round(took / seconds),
    // CPU time of this process (dashboard, its HTTP answers, the /api/events client, playwright's driver) per event.
    cpuMicrosPerEvent: Math.round(((cpu.user + cpu.system) / took) * 10) / 10,
    eventsTotal: took,
    windowSeconds: seconds,
    streamedToApiEvents: streamed,
    dashboardLoopDelayMs: { p50: Math.round(loop.percentile(50) / 1e5) / 10, p99: Math.round(loop.percentile(99) / 1e5) / 10, max: Math.round(loop.max / 1e5) / 10 },
    apiOverviewMs: { n: api.length, p50: pct(api, 50), p99: pct(api, 99) },
    page: { frames: inPage.gaps.length, frameGapP99Ms: pct(inPage.gaps, 99), frameGapMaxMs: Math.round(Math.max(...inPage.gaps)), longTasks: inPage.longTasks.length, longTaskMaxMs: Math.round(Math.max(0, ...inPage.longTasks)) },
    clickToDrawnMs: clickToDrawn,
  };
  await browser.close();
  await dashboard.close();
  await app.close();
  return result;
}

async function memory(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-dash-'));
  const history = join(dir, 'history.db');
  const app = new Celeriac('bench', { broker: 'memory://', backend: 'memory://' });
  const dashboard = await startDashboard(app, { port: 0, history, queueInterval: 0 });
  const rows: Record<string, unknown>[] = [];
  const sample = (tasks: number, ms: number): void => {
    gc();
    const m = process.memoryUsage();
    rows.push({ tasks, heapMiB: mib(m.heapUsed), rssMiB: mib(m.rss), inMemory: dashboard.state.taskCount, historyMiB: existsSync(history) ? mib(statSync(history).size) : 0, eventsPerSecond: ms ? Math.round((tasks * 3) / (ms / 1000)) : null });
    console.log(rows.at(-1));
  };
  sample(0, 0);
  const checkpoints = new Set([10_000, 100_000, 250_000, 500_000, 750_000, TASKS]);
  const t0 = Date.now();
  let clock = 0;
  const base = { hostname: 'bench-worker@dashboard', utcoffset: 0, pid: 1 };
  for (let i = 1; i <= TASKS; i++) {
    const uuid = randomUUID();
    const now = Date.now() / 1000;
    dashboard.receiver.process({ ...base, type: 'task-received', uuid, name: 'tasks.add', args: `(${i}, 2)`, kwargs: '{}', root_id: uuid, parent_id: null, retries: 0, eta: null, expires: null, timestamp: now, clock: ++clock } as AnyEvent);
    dashboard.receiver.process({ ...base, type: 'task-started', uuid, timestamp: now, clock: ++clock } as AnyEvent);
    dashboard.receiver.process({ ...base, type: 'task-succeeded', uuid, result: String(i + 2), runtime: 0.001, timestamp: now, clock: ++clock } as AnyEvent);
    // Let timers (the history's flush and prune) run, as they would between broker deliveries.
    if (i % 5000 === 0) await new Promise((r) => setImmediate(r));
    if (checkpoints.has(i)) sample(i, Date.now() - t0);
  }
  await dashboard.close();
  await app.close();
  rmSync(dir, { recursive: true, force: true });
  return { rows };
}

const out: Record<string, unknown> = { node: process.version, rate: RATE, seconds: SECONDS };
if (ONLY.has('live')) out['live'] = await live();
if (ONLY.has('memory')) out['memory'] = await memory();
console.log(JSON.stringify(out, null, 2));
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/dashboard.json', `${JSON.stringify(out, null, 2)}\n`);
