/**
 * The web dashboard (`celeriac dashboard`), one Node process: node:http serving the page (assets/), the
 * JSON API (api.ts) and GET /api/events, a Server-Sent Events stream of every event as JSON. An event
 * receiver on the app's broker feeds the cluster State the API reads. Optional HTTP basic auth; POSTs from
 * another origin are refused (a page elsewhere cannot steer the workers through a browser), and so is every
 * POST (revoke, shut down, rate limits, send tasks) when the server listens beyond loopback without basic auth.
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Celeriac, ClusterState, EventReceiver, Received } from '../index.js';
import { handleApi, type ApiContext } from './api.js';
import { WorkerInspector } from './workers.js';

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
}

export interface Dashboard {
  /** http://address:port */
  url: string;
  port: number;
  state: ClusterState;
  receiver: EventReceiver;
  /** Stops the server, ends the event streams and deletes the monitor queue (the app stays open). */
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;
const ASSETS: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/static/dashboard.js': ['dashboard.js', 'text/javascript; charset=utf-8'],
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
  const state = app.events.state({ maxTasks: options.maxTasks ?? 10_000 });
  const inspector = new WorkerInspector(app, timeout);
  const ctx: ApiContext = { app, state, inspector, timeout };
  const streams = new Set<ServerResponse>();
  let sequence = 0;
  let closed = false;
  const receiver = app.events.receiver();
  receiver.on('event', (e: Received) => {
    state.event(e);
    // A worker announces itself before its mailbox answers: ask it a moment later.
    if (e.type === 'worker-online') setTimeout(() => closed || inspector.refreshIfStale(0, [e.hostname]), 1000).unref();
    const frame = `id: ${++sequence}\ndata: ${JSON.stringify(e)}\n\n`;
    for (const res of streams) res.write(frame);
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
    if (url.pathname === '/api/events' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': celeriac events\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
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
  // Comments keep idle event streams (and the proxies between) open.
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();
  try {
    await receiver.start();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 5555, address, () => resolve());
    });
  } catch (err) {
    clearInterval(keepAlive);
    await receiver.close();
    throw err;
  }
  const bound = server.address() as AddressInfo;
  const { port } = bound;
  const host = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${port}`,
    port,
    state,
    receiver,
    async close() {
      closed = true;
      clearInterval(keepAlive);
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await receiver.close();
    },
  };
}
