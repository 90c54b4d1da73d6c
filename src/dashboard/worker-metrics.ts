/**
 * Prometheus metrics of one worker (`celeriac worker --metrics :9808`), served on a port of its own at GET
 * /metrics through prom-client: tasks finished by name and outcome, their runtimes, the tasks running and
 * prefetched now, the pool's size and the depth of the worker's queues. Every series carries `worker`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Worker } from '../index.js';
import { RUNTIME_BUCKETS } from './metrics.js';

export interface WorkerMetricsOptions {
  /** Default 9808; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (0.0.0.0: every interface, for a Prometheus on another machine). */
  address?: string;
}

export interface WorkerMetrics {
  /** http://address:port/metrics */
  url: string;
  port: number;
  registry: Registry;
  close(): Promise<void>;
}

/** The worker's registry (no server): what GET /metrics shows. */
export function workerRegistry(worker: Worker): { registry: Registry; detach(): void } {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: worker.hostname });
  const registers = [registry];
  const tasks = new Counter({ name: 'celeriac_worker_tasks_total', help: 'Tasks this worker finished, by task name and outcome (succeeded, failed)', labelNames: ['task', 'state'], registers });
  const runtime = new Histogram({ name: 'celeriac_worker_task_runtime_seconds', help: 'Time from start to end of the tasks this worker ran, by task name', labelNames: ['task'], buckets: RUNTIME_BUCKETS, registers });
  const done = (state: string) => (request: unknown): void => {
    const r = request as { task: { name: string }; startedAt?: number };
    tasks.inc({ task: r.task.name, state });
    if (r.startedAt !== undefined) runtime.observe({ task: r.task.name }, Math.max(0, Date.now() - r.startedAt) / 1000);
  };
  const succeeded = done('succeeded');
  const failed = done('failed');
  worker.on('task-succeeded', succeeded);
  worker.on('task-failed', failed);
  new Gauge({
    name: 'celeriac_worker_active_tasks', help: 'Tasks running now', registers,
    collect() {
      this.set(worker.state.active.size);
    },
  });
  new Gauge({
    name: 'celeriac_worker_prefetched_tasks', help: 'Tasks received and not running: waiting for a slot, a rate-limit token or their ETA', registers,
    collect() {
      this.set(worker.reservedRequests().length + worker.scheduledRequests().length);
    },
  });
  new Gauge({
    name: 'celeriac_worker_concurrency', help: 'Pool slots now (grows and shrinks with pool_grow, pool_shrink, autoscale)', registers,
    collect() {
      this.set(worker.pool.concurrency);
    },
  });
  new Gauge({
    name: 'celeriac_worker_up', help: '1 while the worker runs, 0 while it starts or stops', registers,
    collect() {
      this.set(worker.status === 'running' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'celeriac_queue_messages', help: "Messages ready in the worker's queues", labelNames: ['queue'], registers,
    async collect() {
      this.reset();
      if (worker.status !== 'running') return;
      const transport = await worker.app.connection();
      const infos = await Promise.all(worker.queues.map((q) => transport.queueInfo(q).catch(() => undefined)));
      for (const info of infos) if (info) this.set({ queue: info.name }, info.messages);
    },
  });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    detach() {
      worker.off('task-succeeded', succeeded);
      worker.off('task-failed', failed);
    },
  };
}

/** Serves the worker's metrics at GET /metrics on `port` until `close()` (or the worker stops). */
export async function startWorkerMetrics(worker: Worker, options: WorkerMetricsOptions = {}): Promise<WorkerMetrics> {
  const { registry, detach } = workerRegistry(worker);
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('celeriac worker metrics: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9808, options.address ?? '127.0.0.1', () => resolve());
  });
  server.unref();
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const close = async (): Promise<void> => {
    detach();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://${host}:${port}/metrics`, port, registry, close };
}
