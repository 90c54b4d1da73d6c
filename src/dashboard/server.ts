/**
 * The web dashboard (`celeriac dashboard`), one Node process: node:http serving the page (assets/), the
 * JSON API (api.ts, api-monitor.ts), Prometheus metrics (GET /metrics) and the Server-Sent Events streams
 * (live.ts). An event receiver on the app's broker feeds the Monitor (cluster state, timelines, series,
 * queues, history) the API reads. Optional HTTP basic auth; POSTs from another origin are refused (a page
 * elsewhere cannot steer the workers through a browser), and so is every POST (revoke, abort, shut down,
 * rate limits, send tasks) when the server listens beyond loopback without basic auth.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Celeriac, ClusterState, EventReceiver, Received } from '../index.js';
import { handleApi, type ApiContext } from './api.js';
import { LiveStreams } from './live.js';
import { Monitor } from './monitor.js';
import { WorkerInspector } from './workers.js';

export { startWorkerMetrics, workerRegistry, type WorkerMetrics, type WorkerMetricsOptions } from './worker-metrics.js';
export type { Monitor } from './monitor.js';
export type { QueueRow } from './queues.js';
export type { SeriesView } from './series.js';

export interface DashboardOptions {
  /** Default 5555 (Flower's); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  address?: string;
  /** `user:password`: every request needs it (HTTP basic auth). Without it, a dashboard bound beyond loopback refuses every action (POST). */
  basicAuth?: string;
  /** ms to wait for workers' replies to inspect and control commands (default 1000). */
  timeout?: number;
  /** Tasks kept in memory (default 10 000). */
  maxTasks?: number;
  /** SQLite file keeping task history across restarts (default: none, tasks live in memory only). */
  history?: string;
  /** Tasks the history keeps at most (default 100 000). */
  historyMaxTasks?: number;
  /** Seconds the history keeps a task after its last event (default 7 days; 0: no age limit). */
  historyMaxAge?: number;
  /** ms between samples of the queues' counts (default 5000; 0: only when the page or /metrics asks). */
  queueInterval?: number;
}

export interface Dashboard {
  /** http://address:port */
  url: string;
  port: number;
  state: ClusterState;
  monitor: Monitor;
  receiver: EventReceiver;
  /** Stops the server, ends the event streams and deletes the monitor queue (the app stays open). */
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;
const JS = 'text/javascript; charset=utf-8';
const ASSETS: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/static/dashboard.js': ['dashboard.js', JS],
  '/static/charts.js': ['charts.js', JS],
  '/static/pages.js': ['pages.js', JS],
  '/static/dashboard.css': ['dashboard.css', 'text/css; charset=utf-8'],
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Whether `address` is only reachable from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback(address: string): boolean {
  const a = address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (a === 'localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a.startsWith('::ffff:127.');
}

function authorized(req: IncomingMessage, expected: Buffer | undefined): boolean {
  if (!expected) return true;
  const given = Buffer.from(`${req.headers.authorization ?? ''}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error(`request body over ${MAX_BODY} bytes`), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the dashboard on `app`'s broker; resolves once it listens and its monitor queue is bound. */
export async function startDashboard(app: Celeriac, options: DashboardOptions = {}): Promise<Dashboard> {
  if (options.basicAuth !== undefined && !/^[^:]+:.+$/.test(options.basicAuth)) {
    throw new TypeError("basicAuth: expected 'user:password'");
  }
  const expected = options.basicAuth ? Buffer.from(`Basic ${Buffer.from(options.basicAuth).toString('base64')}`) : undefined;
  const timeout = options.timeout ?? 1000;
  const address = options.address ?? '127.0.0.1';
  const inspector = new WorkerInspector(app, timeout);
  const monitor = new Monitor(app, {
    maxTasks: options.maxTasks ?? 10_000,
    queueInterval: options.queueInterval ?? 5000,
    queuesOf: (worker) => inspector.queues(worker),
    ...(options.history ? { history: options.history, historyOptions: { ...(options.historyMaxTasks ? { maxTasks: options.historyMaxTasks } : {}), ...(options.historyMaxAge !== undefined ? { maxAge: options.historyMaxAge } : {}) } } : {}),
  });
  const state = monitor.state;
  const ctx: ApiContext = { app, state, inspector, timeout, monitor };
  const live = new LiveStreams();
  let closed = false;
  const receiver = app.events.receiver();
  receiver.on('event', (e: Received) => {
    monitor.ingest(e);
    // A worker announces itself before its mailbox answers: ask it a moment later.
    if (e.type === 'worker-online') setTimeout(() => closed || inspector.refreshIfStale(0, [e.hostname]), 1000).unref();
    live.publish(e);
  });
  receiver.on('error', () => undefined);
  const assetDir = new URL('./assets/', import.meta.url);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorized(req, expected)) {
      send(res, 401, { error: 'authentication required (HTTP basic auth)' }, { 'www-authenticate': 'Basic realm="celeriac"' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const method = req.method ?? 'GET';
    const origin = req.headers.origin;
    if (method === 'POST' && origin && origin !== `http://${req.headers.host}`) {
      send(res, 403, { error: `cross-origin POST from ${origin} refused` });
      return;
    }
    if (method === 'POST' && !expected && !isLoopback(address)) {
      send(res, 403, { error: `actions are refused: this dashboard listens on ${address}, beyond loopback, without authentication. Restart it with --basic-auth user:password (basicAuth), or bind 127.0.0.1` });
      return;
    }
    const asset = ASSETS[url.pathname];
    if (asset && method === 'GET') {
      const body = await readFile(new URL(asset[0], assetDir));
      res.writeHead(200, { 'content-type': asset[1], 'cache-control': 'no-cache' });
      res.end(body);
      return;
    }
    if (url.pathname === '/api/events' && method === 'GET') return live.addEventStream(req, res);
    if (url.pathname === '/api/live' && method === 'GET') return live.addTickStream(req, res);
    if (url.pathname === '/metrics' && method === 'GET') {
      const { contentType, text } = await monitor.metrics.scrape();
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    const fields = new URLSearchParams(url.searchParams);
    let json: unknown;
    if (method === 'POST') {
      const body = await readBody(req);
      const type = req.headers['content-type'] ?? '';
      if (type.startsWith('application/json') && body.trim()) {
        try {
          json = JSON.parse(body);
        } catch {
          send(res, 400, { error: 'the body is not valid JSON' });
          return;
        }
      } else if (body) for (const [k, v] of new URLSearchParams(body)) fields.append(k, v);
    }
    const out = await handleApi(ctx, { method, path: url.pathname, fields, ...(json !== undefined ? { json } : {}) });
    send(res, out.status, out.body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = (err as { status?: number }).status ?? 500;
      if (!res.headersSent) send(res, status, { error: err instanceof Error ? err.message : String(err) });
      else res.end();
    });
  });
  try {
    await receiver.start();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 5555, address, () => resolve());
    });
  } catch (err) {
    live.close();
    monitor.close();
    await receiver.close();
    throw err;
  }
  void monitor.queues.sample();
  const bound = server.address() as AddressInfo;
  const { port } = bound;
  const host = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${port}`,
    port,
    state,
    monitor,
    receiver,
    async close() {
      closed = true;
      live.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await receiver.close();
      monitor.close();
    },
  };
}
