/**
 * The argument language of `celeriac multi`, as Celery's multi reads it (pure, no I/O): node names or a
 * count, options for every node, per-node options (`-c:w1 8`, `-Q:1-3 images`, `-c:w1,w2 4`), and the
 * %-abbreviations of file names and option values (%n short name, %h node name, %d host, %i / %I process index).
 */
import { constants } from 'node:os';
import { resolve } from 'node:path';
import { UsageError } from './usage.js';
import { shellQuote } from './words.js';

/** Option name (with its dashes) to value; undefined for a flag. Insertion order is the command line's. */
type Options = Map<string, string | undefined>;

export interface ParsedArgv {
  /** Words that are not options: node names, or one count. */
  values: string[];
  options: Options;
  /** Per-node options: `-c:w1 8` is namespace 'w1', option '-c', value '8'. */
  namespaces: Map<string, Options>;
  /** Everything after `--`, given to every worker as it is. */
  passthrough: string[];
  /** `-TERM`, `-9`...: the signal of stop, stopwait and restart (when `signals` is allowed). */
  signal?: NodeJS.Signals;
}

export interface MultiNode {
  /** Node name, e.g. w1@host. */
  name: string;
  /** The part before @. */
  short: string;
  host: string;
  /** Absolute paths. */
  pidfile: string;
  logfile: string;
  /** The arguments of `celeriac worker` for this node. */
  args: string[];
}

export interface MultiPlan {
  nodes: MultiNode[];
  signal: NodeJS.Signals;
  /** Seconds `start` waits for each node to say it is ready. */
  readyTimeout: number;
  quiet: boolean;
  verbose: boolean;
}

export interface MultiContext {
  /** This machine's host name (os.hostname()). */
  hostname: string;
  cwd: string;
}

/** Options multi keeps for itself (never given to workers). */
const OWN = ['--hostname', '-n', '--range-prefix', '--ready-timeout', '--quiet', '-q', '--verbose', '--nosplash'];

function signalOf(word: string): NodeJS.Signals | undefined {
  const m = /^-(?:SIG)?([A-Z][A-Z0-9]*|\d+)$/.exec(word);
  if (!m) return undefined;
  const key = m[1] as string;
  const byNumber = Object.entries(constants.signals).find(([, n]) => String(n) === key);
  if (byNumber) return byNumber[0] as NodeJS.Signals;
  return `SIG${key}` in constants.signals ? (`SIG${key}` as NodeJS.Signals) : undefined;
}

/** Reads the words after `multi <command>`. A short option takes the next word as its value unless it starts with '-'. */
export function parseArgv(args: readonly string[], signals: boolean): ParsedArgv {
  const out: ParsedArgv = { values: [], options: new Map(), namespaces: new Map(), passthrough: [] };
  const add = (name: string, value: string | undefined, dashes: string): void => {
    const [key, ns, extra] = name.split(':');
    if (!key || ns === '' || extra !== undefined) throw new UsageError(`cannot read the option '${dashes}${name}': write -c 4 for every node, or -c:w1 8 for node w1`);
    let dest = out.options;
    if (ns !== undefined) {
      if (!out.namespaces.has(ns)) out.namespaces.set(ns, new Map());
      dest = out.namespaces.get(ns) as Options;
    }
    dest.set(dashes + key, value);
  };
  for (let i = 0; i < args.length; i++) {
    const word = args[i] as string;
    if (word === '--') {
      out.passthrough = args.slice(i + 1);
      break;
    }
    const sig = signals ? signalOf(word) : undefined;
    if (sig) out.signal = sig;
    else if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      if (eq >= 0) add(word.slice(2, eq), word.slice(eq + 1), '--');
      else {
        const next = args[i + 1];
        const takes = next !== undefined && !next.startsWith('-');
        add(word.slice(2), takes ? next : undefined, '--');
        if (takes) i++;
      }
    } else if (word.startsWith('-') && word.length > 1) {
      const next = args[i + 1];
      const takes = next !== undefined && !next.startsWith('-');
      add(word.slice(1), takes ? next : undefined, '-');
      if (takes) i++;
    } else out.values.push(word);
  }
  return out;
}

/** Celery's %-abbreviations; an unknown one is a usage error. */
function format(template: string, keys: Record<string, string>): string {
  return template.replace(/%(.)/g, (_, key: string) => {
    const value = key === '%' ? '%' : keys[key];
    if (value === undefined) throw new UsageError(`unknown %${key} in '${template}': use %n (short name), %h (node name), %d (host), %i, %I or %%`);
    return value;
  });
}

/** Expands an option value or file name for a node (%h is the whole node name here, as in Celery's multi). */
export function expandFor(node: Pick<MultiNode, 'name' | 'short' | 'host'>, template: string): string {
  return format(template, { h: node.name, p: node.name, n: node.short, N: node.short, d: node.host, i: '0', I: '' });
}

/** A node name from a name as given: `w1` becomes w1@host, `w1@%h` expands the host. */
function nodeName(given: string, prefix: string, host: string): { name: string; short: string; host: string } {
  if (given.includes('@')) {
    const [label = host, ...rest] = host.split('.');
    const name = format(given, { h: host, n: label, d: rest.join('.') });
    const at = name.indexOf('@');
    return { name, short: name.slice(0, at), host: name.slice(at + 1) };
  }
  const short = `${prefix}${given}`;
  return { name: `${short}@${host}`, short, host };
}

/** Which nodes (by position) a namespace such as `w1`, `w1@host`, `2`, `1-3` or `w1,w2` names. */
function targets(ns: string, nodes: readonly { name: string; short: string }[], given: readonly string[]): number[] {
  const out: number[] = [];
  for (const part of ns.split(',')) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    const [from, to] = range ? [Number(range[1]), Number(range[2])] : /^\d+$/.test(part) ? [Number(part), Number(part)] : [NaN, NaN];
    const named = nodes.findIndex((n, i) => n.short === part || n.name === part || given[i] === part);
    if (named >= 0) out.push(named);
    else if (Number.isInteger(from) && from >= 1 && to <= nodes.length && from <= to) for (let i = from; i <= to; i++) out.push(i - 1);
    else throw new UsageError(`options ':${ns}' name no node '${part}': the nodes are ${nodes.map((n) => n.short).join(', ')} (or 1-${nodes.length} by position)`);
  }
  return out;
}

function formatOption(key: string, value: string | undefined): string[] {
  if (value === undefined) return [key];
  return key.startsWith('--') ? [`${key}=${value}`] : [key, value];
}

/** The nodes and settings of a `celeriac multi` command line. */
export function planNodes(args: readonly string[], ctx: MultiContext, signals = false): MultiPlan {
  const p = parseArgv(args, signals);
  const global = p.options;
  const host = global.get('--hostname') ?? global.get('-n') ?? ctx.hostname;
  const prefix = global.get('--range-prefix') ?? 'celeriac';
  const timeoutText = global.get('--ready-timeout') ?? '60';
  const readyTimeout = Number(timeoutText);
  if (!(readyTimeout > 0)) throw new UsageError(`--ready-timeout expects seconds > 0; got ${JSON.stringify(timeoutText)}`);
  const plan: MultiPlan = {
    nodes: [], signal: p.signal ?? 'SIGTERM', readyTimeout,
    quiet: global.has('--quiet') || global.has('-q'), verbose: global.has('--verbose'),
  };
  for (const own of OWN) global.delete(own);
  if (p.values.length === 0) throw new UsageError('give node names or a count, e.g. celeriac multi start w1 w2 -A ./tasks.ts (or: celeriac multi start 3 -A ./tasks.ts)');
  let given = p.values;
  if (given.length === 1 && /^\d+$/.test(given[0] as string)) {
    const count = Number(given[0]);
    if (count < 1) throw new UsageError('the node count must be at least 1');
    given = Array.from({ length: count }, (_, i) => String(i + 1));
  }
  const names = given.map((g) => nodeName(g, /^\d+$/.test(g) && p.values.length === 1 ? prefix : '', host));
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n.name)) throw new UsageError(`node ${n.name} is named twice`);
    seen.add(n.name);
  }
  const perNode = names.map(() => new Map(global));
  for (const [ns, opts] of p.namespaces) {
    for (const bad of ['-n', '--hostname']) if (opts.has(bad)) throw new UsageError(`${bad}:${ns} cannot rename one node: give its full name instead, e.g. ${ns}@otherhost`);
    for (const i of targets(ns, names, given)) for (const [k, v] of opts) perNode[i]?.set(k, v);
  }
  plan.nodes = names.map((n, i) => {
    const opts = perNode[i] as Options;
    const pidfile = resolve(ctx.cwd, expandFor(n, opts.get('--pidfile') ?? '%n.pid'));
    const logfile = resolve(ctx.cwd, expandFor(n, opts.get('--logfile') ?? '%n%I.log'));
    opts.delete('--pidfile');
    opts.delete('--logfile');
    const rest = [...opts].flatMap(([k, v]) => formatOption(k, v === undefined ? undefined : expandFor(n, v)));
    return { ...n, pidfile, logfile, args: ['-n', n.name, `--pidfile=${pidfile}`, ...rest, ...p.passthrough] };
  });
  return plan;
}

/** The shell command line that starts a node as `start` does (what `show` prints). */
export function commandLine(node: MultiNode, exec: readonly string[]): string {
  return [...exec, 'worker', ...node.args].map(shellQuote).join(' ') + ` >>${shellQuote(node.logfile)} 2>&1`;
}
