/**
 * `inspect objgraph`, the Node equivalent of Celery's (which draws objgraph's back-references): a V8 heap
 * snapshot of the worker's process, its objects counted by constructor name. Only when asked: taking the
 * snapshot stops the worker's event loop (about a second per few hundred MB of heap), parsing it needs a few
 * times the heap's size in memory for a moment.
 *
 *   snapshot JSON: { snapshot: { meta: { node_fields: ['type','name','id','self_size',...], node_types: [[type names], ...] } },
 *                    nodes: [flat numbers, node_fields.length per node], strings: [names] }
 */
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSnapshot } from 'node:v8';

export interface ObjectCountsOptions {
  /** Only this constructor name (Celery's `type`); default: every one. */
  type?: string;
  /** How many names to list, most numerous first (Celery's `num`, default 200). */
  num?: number;
  /** Also keep the snapshot as a file (open it in Chrome DevTools, Memory tab); its path is replied. */
  keep?: boolean;
}

export interface ObjectCounts {
  /** Objects (and closures) on the heap. */
  objects: number;
  /** Distinct constructor names. */
  types: number;
  /** How long the worker's event loop was stopped taking the snapshot (ms). */
  pause_ms: number;
  /** Name to count, most numerous first; closures count as `(closure)`. */
  counts: Record<string, number>;
  /** Where the snapshot was kept (with `keep`). */
  filename?: string;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}

/** Counts a parsed heap snapshot's objects by constructor name (pure). */
export function countByConstructor(snap: Snapshot): Map<string, number> {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0] as string[];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const objectType = types.indexOf('object');
  const closureType = types.indexOf('closure');
  const counts = new Map<string, number>();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += width) {
    const type = nodes[i + typeAt];
    let name: string;
    if (type === objectType) name = strings[nodes[i + nameAt] as number] ?? '?';
    else if (type === closureType) name = '(closure)';
    else continue;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/** Takes a heap snapshot of this process and counts its objects by constructor. */
export async function objectCounts(options: ObjectCountsOptions = {}): Promise<ObjectCounts> {
  const started = performance.now();
  const stream = getHeapSnapshot();
  const pause = performance.now() - started;
  const filename = options.keep ? join(tmpdir(), `celeriac-objgraph-${process.pid}-${Date.now()}.heapsnapshot`) : undefined;
  const file = filename ? createWriteStream(filename) : undefined;
  const chunks: string[] = [];
  stream.setEncoding('utf8');
  for await (const chunk of stream) {
    chunks.push(chunk as string);
    file?.write(chunk);
  }
  if (file) await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const counts = countByConstructor(JSON.parse(chunks.join('')) as Snapshot);
  chunks.length = 0;
  const num = options.num !== undefined && options.num > 0 ? Math.trunc(options.num) : 200;
  const sorted = options.type === undefined ? [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])) : [[options.type, counts.get(options.type) ?? 0] as const];
  let objects = 0;
  for (const n of counts.values()) objects += n;
  return {
    objects,
    types: counts.size,
    pause_ms: Math.round(pause),
    counts: Object.fromEntries(sorted.slice(0, num)),
    ...(filename ? { filename } : {}),
  };
}
