/**
 * V8 heap settings of a `celeriac worker` process, set before anything else loads (`main.ts` imports this file
 * first: once modules are loaded, the young generation has already grown).
 *
 * A worker allocates fast and keeps little alive. With Node's defaults its young generation grows to 2 × 16 MiB and
 * its old generation to about four times the live heap between full collections, so a worker draining a queue
 * reached 145–175 MiB of RSS. Lean (the default): the young generation keeps its initial 2 × 1 MiB
 * (`--semi-space-growth-factor=1`) and the old one grows by 20 % over the live heap (`--heap-growing-percent=20`);
 * the same drain peaks around 90 MiB for about the same CPU per task (BENCHMARKS.md, "Memory (issue 15)").
 * `celeriac worker --node-heap` keeps Node's defaults, and a flag given to node itself (NODE_OPTIONS,
 * `node --max-semi-space-size=…`) wins over the one here that it concerns.
 */
import { setFlagsFromString } from 'node:v8';

export const LEAN_HEAP_FLAGS: readonly { flag: string; unless: RegExp }[] = [
  { flag: '--semi-space-growth-factor=1', unless: /semi[-_]space/ },
  { flag: '--heap-growing-percent=20', unless: /heap[-_]growing|old[-_]space|max[-_]heap/ },
];

/** The flags to set for this command line (none unless the command is `worker` without `--node-heap`). */
export function workerHeapFlags(argv: readonly string[], nodeFlags: string): string[] {
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  if (command !== 'worker' || argv.includes('--node-heap')) return [];
  return LEAN_HEAP_FLAGS.filter((f) => !f.unless.test(nodeFlags)).map((f) => f.flag);
}

/**
 * Sets them for this process. Called again after the TypeScript loader is registered (`load-app.ts`): starting
 * its hooks thread puts V8's flags back to the command line's, and the young generation would grow to 2 × 16 MiB.
 */
export function applyWorkerHeapFlags(): void {
  for (const flag of workerHeapFlags(process.argv, `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`)) setFlagsFromString(flag);
}

applyWorkerHeapFlags();
