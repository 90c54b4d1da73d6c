/**
 * Where a worker's CPU went, from a V8 .cpuprofile (node --cpu-prof): self time per function and per
 * source area (celeriac src/ files, ioredis, tsx, node internals, GC, idle).
 *
 *   npx tsx bench/redis/run.ts --only celeriac --worker-node-args '--cpu-prof --cpu-prof-dir=bench/results/prof'
 *   npx tsx bench/redis/profile-summary.ts bench/results/prof/<file>.cpuprofile [--top 40] [--from-ms 3000] [--callers fnName]
 * --from-ms skips the first milliseconds (start-up); --callers prints the call stacks (depth 6) that lead
 * to a function's self time; with --by-owner they are grouped by the innermost celeriac frame.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const file = args[0];
if (!file || file.startsWith('--')) throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top 40] [--from-ms 0] [--callers fn]');
const top = Number(opt('top') ?? 40);
const fromMs = Number(opt('from-ms') ?? 0);
const callersOf = opt('callers');
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self time per node from samples and time deltas (µs).
const self = new Map<number, number>();
let clock = 0;
for (let i = 0; i < prof.samples.length; i++) {
  clock += prof.timeDeltas[i] ?? 0;
  if (clock < fromMs * 1000) continue;
  const id = prof.samples[i] as number;
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

function area(n: Node): string {
  const { url, functionName } = n.callFrame;
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return '(gc)';
  if (functionName === '(program)') return '(program: native, not attributed)';
  const m = /\/dist\/(.+?)\.js$/.exec(url) ?? /\/src\/(.+?)\.ts$/.exec(url);
  if (m && !url.includes('node_modules')) return `celeriac ${m[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg ${pkg[1]}`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  if (!url) return `(native) ${functionName || '(anonymous)'}`;
  return url;
}

const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;

const areas = new Map<string, number>();
const fns = new Map<string, number>();
for (const [id, us] of self) {
  const n = byId.get(id) as Node;
  const a = area(n);
  areas.set(a, (areas.get(a) ?? 0) + us);
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${a}:${n.callFrame.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
}

// Inclusive time of celeriac functions (self + callees), by function name and file.
const inclusive = new Map<string, number>();
for (const [id, us] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur) as Node;
    const a = area(n);
    if (!a.startsWith('celeriac')) continue;
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${a}:${n.callFrame.lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}

const busy = total - (areas.get('(idle)') ?? 0);
console.log(`${file}: ${(total / 1e6).toFixed(2)} s profiled, ${(busy / 1e6).toFixed(2)} s busy (${pct(busy).trim()})`);
console.log('\n--- self time by area');
for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${a}`);
console.log('\n--- self time by function');
for (const [f, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${f}`);
console.log('\n--- inclusive time of celeriac functions');
for (const [f, us] of [...inclusive].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${f}`);

if (callersOf) {
  const stacks = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id) as Node;
    if (n.callFrame.functionName !== callersOf) continue;
    const frames: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && frames.length < Number(opt('depth') ?? (args.includes('--by-owner') ? 40 : 6)); cur = parent.get(cur)) {
      const p = byId.get(cur) as Node;
      frames.push(`${p.callFrame.functionName || '(anonymous)'} ${area(p)}:${p.callFrame.lineNumber + 1}`);
    }
    // With --by-owner, stacks are grouped by their innermost celeriac frame (who caused the call).
    const owner = frames.find((f) => f.includes(' celeriac '));
    const key = args.includes('--by-owner') ? (owner ?? frames.slice(0, 3).join(' < ')) : frames.join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  console.log(`\n--- callers of ${callersOf}`);
  for (const [k, us] of [...stacks].sort((x, y) => y[1] - x[1]).slice(0, 15)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
}
