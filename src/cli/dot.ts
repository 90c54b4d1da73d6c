/**
 * Graphviz DOT text for `celeriac graph`, pure, in the look of Celery's GraphFormatter (filled boxes on
 * mint cream). Every id and attribute value is quoted and escaped, so any node name renders.
 *
 *   digraph "workers" {
 *     graph [bgcolor="mintcream"];  node [shape="box", ...];  edge [...];
 *     subgraph "cluster_consumer" { label="..."; "Connection" [label="Connection\nredis://..."]; }
 *     "Tasks" -> "Consumer";
 *   }
 */

export type DotAttrs = Record<string, string | number | boolean>;

export interface DotNode {
  id: string;
  label?: string;
  attrs?: DotAttrs;
  /** The cluster (subgraph) it is drawn in. */
  cluster?: string;
}

export interface DotEdge {
  from: string;
  to: string;
  attrs?: DotAttrs;
}

export interface DotGraph {
  name: string;
  attrs?: DotAttrs;
  clusters?: Record<string, { label: string; attrs?: DotAttrs }>;
  nodes: DotNode[];
  edges: DotEdge[];
}

/** Celery's GraphFormatter scheme. */
export const STYLE = {
  graph: { bgcolor: 'mintcream' },
  node: { shape: 'box', style: 'filled', fontname: 'HelveticaNeue', fillcolor: 'palegreen3', color: 'palegreen4' },
  edge: { color: 'darkseagreen4', arrowsize: 0.7, arrowhead: 'vee' },
} as const;

export function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

function attrs(a: DotAttrs | undefined): string {
  const entries = Object.entries(a ?? {});
  return entries.length ? ` [${entries.map(([k, v]) => `${k}=${quote(String(v))}`).join(', ')}]` : '';
}

export function renderDot(g: DotGraph): string {
  const out = [`digraph ${quote(g.name)} {`, `  graph${attrs({ ...STYLE.graph, ...g.attrs })};`, `  node${attrs(STYLE.node)};`, `  edge${attrs(STYLE.edge)};`];
  const node = (n: DotNode, pad: string): string => `${pad}${quote(n.id)}${attrs({ ...(n.label === undefined ? {} : { label: n.label }), ...n.attrs })};`;
  for (const n of g.nodes.filter((x) => !x.cluster)) out.push(node(n, '  '));
  for (const [id, c] of Object.entries(g.clusters ?? {})) {
    const members = g.nodes.filter((x) => x.cluster === id);
    if (!members.length) continue;
    out.push(`  subgraph ${quote(`cluster_${id}`)} {`, `    label=${quote(c.label)};`, ...Object.entries(c.attrs ?? {}).map(([k, v]) => `    ${k}=${quote(String(v))};`));
    for (const n of members) out.push(node(n, '    '));
    out.push('  }');
  }
  const known = new Set(g.nodes.map((n) => n.id));
  for (const e of g.edges) if (known.has(e.from) && known.has(e.to)) out.push(`  ${quote(e.from)} -> ${quote(e.to)}${attrs(e.attrs)};`);
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** Celery's subscript digits for enumerated nodes (P₁, P₂...). */
export function subscript(n: number): string {
  return String(n).replace(/\d/g, (d) => String.fromCharCode(0x2080 + Number(d)));
}

/** Celery's maybe_abbr: at most `max` items, the last one kept, the gap shown as `X⎨…n⎬` (0 = all). */
export function abbreviate<T>(items: readonly T[], max: number, gap: (hidden: number) => T): T[] {
  if (!max || items.length <= max) return [...items];
  const kept = [...items.slice(0, max - 1), items[items.length - 1] as T];
  kept[max - 2] = gap(items.length - (max - 1));
  return kept;
}
