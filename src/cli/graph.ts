/**
 * `celeriac graph workers|bootsteps` (Celery's `celery graph`): Graphviz DOT of the live fleet (workers asked with
 * `inspect stats` and `active_queues`: their pools, the queues they consume, broker and backend), or of a worker's
 * components as `Worker.start()` brings them up. Pipe it to `dot -Tsvg`.
 */
import type { Command } from 'commander';
import { createLogger, maskUrl, Worker, type Celeriac, type QueueSnapshot } from '../index.js';
import { abbreviate, renderDot, subscript, type DotEdge, type DotNode } from './dot.js';
import { loadApp } from './load-app.js';
import { destinationOf, EX_UNAVAILABLE, type RemoteFlags } from './remote.js';
import { parseNumberOption, UsageError } from './usage.js';

interface WorkersFlags extends RemoteFlags {
  wmax?: string;
  tmax?: string;
  generic?: boolean;
}

interface BootFlags {
  app?: string;
  pool: string;
  concurrency?: string;
  queues?: string;
  autoscale?: string;
  beat?: boolean;
  statedb?: string;
  taskEvents?: boolean;
  withoutControl?: boolean;
  withoutGossip?: boolean;
  withoutHeartbeat?: boolean;
}

const label = (url: string, generic: boolean | undefined, kind: string): string => (generic ? `${kind} (${url.split('://')[0]}://)` : maskUrl(url));

/** The fleet's DOT: broker and backend, each worker with its pool slots, and the queues it consumes. */
export function workersDot(app: Celeriac, stats: Record<string, Record<string, unknown>>, queues: Record<string, QueueSnapshot[]>, opts: { wmax: number; tmax: number; generic?: boolean }): string {
  const nodes: DotNode[] = [
    { id: 'broker', label: label(app.conf.broker, opts.generic, 'Broker'), attrs: { shape: 'circle', fillcolor: 'cadetblue3', color: 'cadetblue4', height: 1 } },
    { id: 'backend', label: label(app.conf.backend, opts.generic, 'Backend'), attrs: { shape: 'folder', width: 2, height: 1, color: 'black', fillcolor: 'peachpuff3' } },
  ];
  const edges: DotEdge[] = [];
  const names = [...new Set([...Object.keys(stats), ...Object.keys(queues)])].sort();
  const shown = abbreviate(names, opts.wmax, (n) => `W⎨…${subscript(n)}⎬`);
  for (const name of shown) {
    const pool = (stats[name]?.['pool'] ?? {}) as { implementation?: string; 'max-concurrency'?: number };
    const slots = Number(pool['max-concurrency'] ?? 0);
    nodes.push({ id: `worker:${name}`, label: stats[name] ? `${name}\n${pool.implementation ?? 'pool'} × ${slots}` : name });
    edges.push({ from: `worker:${name}`, to: 'broker' }, { from: `worker:${name}`, to: 'backend' });
    const ps = abbreviate(Array.from({ length: slots }, (_, i) => `P${subscript(i + 1)}`), opts.tmax, (n) => `P⎨…${subscript(n)}⎬`);
    for (const p of ps) {
      const id = `slot:${name}:${p}`;
      nodes.push({ id, label: p, attrs: { shape: 'oval', fillcolor: 'lightcyan4', fontcolor: 'yellow', fontsize: 10, width: 0.3, color: 'black' } });
      edges.push({ from: id, to: `worker:${name}`, attrs: { arrowhead: 'none', arrowtail: 'tee' } });
    }
    for (const q of queues[name] ?? []) {
      const id = `queue:${q.name}`;
      if (!nodes.some((n) => n.id === id)) {
        nodes.push({ id, label: q.name, attrs: { shape: 'cylinder', fillcolor: 'lightgoldenrod', color: 'goldenrod4' } });
        edges.push({ from: 'broker', to: id, attrs: { style: 'dashed' } });
      }
      edges.push({ from: id, to: `worker:${name}`, attrs: { label: 'consumes', fontsize: 9 } });
    }
  }
  return renderDot({ name: 'workers', nodes, edges });
}

function celeryWords(words: readonly string[], flags: WorkersFlags): void {
  // Celery's own spelling: `celery graph workers wmax:4 tmax:3 generic`.
  for (const w of words) {
    const [key, value] = w.split(':') as [string, string | undefined];
    if ((key === 'wmax' || key === 'tmax') && value !== undefined) flags[key] = value;
    else if (key === 'generic') flags.generic = true;
    else throw new UsageError(`graph workers: unknown argument '${w}'; use --wmax N, --tmax N, --generic (or Celery's wmax:N tmax:N generic)`);
  }
}

export function registerGraph(program: Command): void {
  const graph = program.command('graph').description('Graphviz DOT of the live fleet (workers) or of a worker\'s components (bootsteps)');
  graph
    .command('workers')
    .description('The workers online, their pool slots, the queues they consume, broker and backend')
    .argument('[celery-args...]', "Celery's spelling of the options: wmax:N tmax:N generic")
    .option('-A, --app <module>', 'module that exports the app (its broker); default: CELERIAC_BROKER_URL')
    .option('-d, --destination <nodes>', 'comma-separated node names (default: every worker)')
    .option('-p, --pattern <glob>', 'only nodes whose name matches')
    .option('-t, --timeout <seconds>', 'how long to wait for replies (default 1)')
    .option('--wmax <n>', 'draw at most n workers (0: all)', '0')
    .option('--tmax <n>', 'draw at most n pool slots per worker (0: all)', '3')
    .option('--generic', 'label broker and backend by kind only (no URLs)')
    .addHelpText('after', ['', 'Examples:', '  $ celeriac graph workers | dot -Tsvg > fleet.svg', '  $ celeriac graph workers -A ./tasks.ts -t 3 --tmax 0 | dot -Tpng > fleet.png'].join('\n'))
    .action(async (words: string[], flags: WorkersFlags) => {
      celeryWords(words, flags);
      const wmax = parseNumberOption('--wmax', flags.wmax ?? '0', { min: 0, integer: true });
      const tmax = parseNumberOption('--tmax', flags.tmax ?? '3', { min: 0, integer: true });
      const where = destinationOf(flags);
      const app = await loadApp(flags.app);
      try {
        const [stats, queues] = await Promise.all([app.control.inspect(where).stats(), app.control.inspect(where).activeQueues()]);
        process.stdout.write(workersDot(app, stats, queues as Record<string, QueueSnapshot[]>, { wmax, tmax, ...(flags.generic ? { generic: true } : {}) }));
        if (!Object.keys(stats).length && !Object.keys(queues).length) {
          process.stderr.write('Error: No nodes replied within time constraint (the graph shows only the broker and backend)\n');
          process.exitCode = EX_UNAVAILABLE;
        }
      } finally {
        await app.close();
      }
    });

  graph
    .command('bootsteps')
    .description("The components a worker starts, in order, and what each needs (with the worker's options)")
    .argument('[blueprints...]', "worker, consumer (Celery's two blueprints; default both)")
    .option('-A, --app <module>', 'module that exports the app (its broker, backend, default queue)')
    .option('-P, --pool <kind>', 'async, threads or processes', 'async')
    .option('-c, --concurrency <n>', 'pool slots')
    .option('-Q, --queues <list>', 'comma-separated queues')
    .option('--autoscale <max,min>', 'with the autoscaler')
    .option('-B, --beat', 'with beat in the worker')
    .option('--statedb <path>', 'with a state file for revoked ids')
    .option('-E, --task-events', 'with task events')
    .option('--without-control', 'without remote control')
    .option('--without-gossip', 'without gossip')
    .option('--without-heartbeat', 'without heartbeats')
    .addHelpText('after', ['', 'Examples:', '  $ celeriac graph bootsteps | dot -Tsvg > worker.svg', '  $ celeriac graph bootsteps consumer -A ./tasks.ts -P processes -c 4 --autoscale 8,2 | dot -Tpng > consumer.png'].join('\n'))
    .action(async (blueprints: string[], flags: BootFlags) => {
      const wanted = new Set((blueprints.length ? blueprints : ['worker', 'consumer']).map((b) => b.toLowerCase()));
      const bad = [...wanted].find((b) => b !== 'worker' && b !== 'consumer');
      if (bad) throw new UsageError(`graph bootsteps: '${bad}' is not a blueprint; give worker, consumer or both`);
      const pool = (['async', 'threads', 'processes'] as const).find((p) => p === flags.pool);
      if (!pool) throw new UsageError(`-P expects one of async, threads, processes; got '${flags.pool}'`);
      if (pool !== 'async' && !flags.app) throw new UsageError(`-P ${pool} loads your tasks in each child: give the app module with -A, e.g. -A ./tasks.ts`);
      const concurrency = flags.concurrency === undefined ? undefined : parseNumberOption('-c', flags.concurrency, { min: 1, integer: true });
      const [max, min] = (flags.autoscale ?? '').split(',').map((x) => x.trim());
      const autoscale = flags.autoscale === undefined ? undefined : { max: parseNumberOption('--autoscale (max)', max ?? '', { min: 1, integer: true }), min: parseNumberOption('--autoscale (min)', min || '0', { min: 0, integer: true }) };
      const app = await loadApp(flags.app);
      try {
        const worker = new Worker(app, {
          pool, ...(concurrency ? { concurrency } : {}), ...(autoscale ? { autoscale } : {}), ...(flags.app ? { appModule: flags.app } : {}),
          queues: flags.queues?.split(',').map((q) => q.trim()).filter(Boolean), logger: createLogger({ level: 'silent' }),
          control: { enabled: !flags.withoutControl, ...(flags.statedb ? { statedb: flags.statedb } : {}) },
          taskEvents: flags.taskEvents === true, heartbeat: !flags.withoutHeartbeat, gossip: !flags.withoutGossip,
        });
        const steps = worker.bootsteps({ beat: flags.beat === true }).filter((s) => wanted.has(s.blueprint));
        const nodes: DotNode[] = steps.map((s, i) => ({ id: s.name, label: `${i + 1}. ${s.name}\n${s.detail}`, cluster: s.blueprint, ...(s.requires.length ? {} : { attrs: { fillcolor: 'palegreen1', color: 'palegreen2' } }) }));
        const edges = steps.flatMap((s) => s.requires.map((r) => ({ from: s.name, to: r })));
        process.stdout.write(renderDot({ name: 'bootsteps', nodes, edges, clusters: { worker: { label: `Worker ${worker.hostname}` }, consumer: { label: 'Consumer' } } }));
      } finally {
        await app.close();
      }
    });
  graph.action(() => {
    throw new UsageError('graph needs what to draw: celeriac graph workers, or celeriac graph bootsteps');
  });
}
