// Prometheus's text exposition format read back with parse-prometheus-text-format (its sample parser is ported
// from the official Python client's; it throws on a malformed sample): families by name, one sample's value.
import { createRequire } from 'node:module';

export interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

// Values as Go's strconv.ParseFloat (Prometheus's) reads them: Inf and NaN in any case (prom-client writes `Nan`).
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^${NAME}(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? (?:[-+]?(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?|(?:[iI][nN][fF])|(?:[nN][aA][nN])))(?: -?\\d+)?$`);
const COMMENT = new RegExp(`^# (?:HELP ${NAME} .*|TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped))$`);

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Families by name, as the parser reads them (type, help). */
  families: Map<string, Family>;
  /** Every sample line (histogram buckets, sums and counts included), labels unescaped. */
  samples: Sample[];
}

/** Parses exposition text; throws on text Prometheus would refuse (every line is checked against the grammar). */
export function parseMetrics(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('exposition text must end with a line feed');
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '' || COMMENT.test(line)) continue;
    if (!SAMPLE.test(line)) throw new Error(`not a line of the text format: ${line}`);
    const brace = line.indexOf('{');
    const space = line.lastIndexOf('}') >= 0 ? line.lastIndexOf('}') + 1 : line.indexOf(' ');
    const name = line.slice(0, brace >= 0 ? brace : space);
    const labels: Record<string, string> = {};
    if (brace >= 0) {
      for (const m of line.slice(brace + 1, space - 1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    samples.push({ name, labels, value: Number(line.slice(space + 1).split(' ')[0]?.replace(/^\+?inf$/i, 'Infinity').replace(/^-inf$/i, '-Infinity')) });
  }
  return { families: new Map(parse(text).map((f) => [f.name, f])), samples };
}

/** The value of the first sample `name` whose labels include `labels` (NaN when none). */
export function value(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const s = e.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s ? s.value : NaN;
}
