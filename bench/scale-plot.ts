/**
 * The plot of bench/scale.ts: an SVG built here (2 rows: tasks/s and CPU µs per task; 3 columns: tasks
 * queued, queues, worker processes; one colour per broker, solid = drain, dashed = enqueue), rendered to
 * PNG by resvg (@resvg/resvg-js, a prebuilt binary from the npm registry; no system library).
 */
import { Resvg } from '@resvg/resvg-js';

export interface PlotPoint {
  series: string;
  factor: 'tasks' | 'queues' | 'workers';
  x: number;
  perSecond: number;
  cpuUs: number;
  enqueuePerSecond: number;
  enqueueCpuUs: number;
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e'];
const COLUMNS: { factor: PlotPoint['factor']; label: string }[] = [
  { factor: 'tasks', label: 'tasks queued (Q = 1, W = 1)' },
  { factor: 'queues', label: 'queues (W = 1)' },
  { factor: 'workers', label: 'worker processes (Q = 1)' },
];
const ROWS: { label: string; drain: (p: PlotPoint) => number; enqueue: (p: PlotPoint) => number }[] = [
  { label: 'tasks/s', drain: (p) => p.perSecond, enqueue: (p) => p.enqueuePerSecond },
  { label: 'CPU µs per task', drain: (p) => p.cpuUs, enqueue: (p) => p.enqueueCpuUs },
];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const short = (v: number): string => (v >= 1_000_000 ? `${v / 1_000_000}M` : v >= 10_000 ? `${v / 1000}k` : v.toLocaleString('en-US'));

/** A round step giving about `count` ticks from 0 to max. */
function ticks(max: number, count = 5): number[] {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? mag * 10) || 1;
  const out: number[] = [];
  for (let v = 0; ; v += step) {
    out.push(v);
    if (v >= max) return out;
  }
}

export function scaleSvg(points: readonly PlotPoint[], opts: { title: string }): string {
  const series = [...new Set(points.map((p) => p.series))];
  const W = 1260;
  const H = 780;
  const left = 80;
  const top = 90;
  const pw = 330;
  const ph = 250;
  const gapX = 80;
  const gapY = 90;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Liberation Sans, DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="32" font-size="22" text-anchor="middle" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  // Legend: one colour per broker, solid drain and dashed enqueue.
  let lx = left;
  for (const [i, s] of series.entries()) {
    const c = COLORS[i % COLORS.length] as string;
    out.push(`<line x1="${lx}" y1="58" x2="${lx + 30}" y2="58" stroke="${c}" stroke-width="3"/><text x="${lx + 36}" y="63" font-size="15">${esc(s)} drain</text>`);
    lx += 150;
    out.push(`<line x1="${lx}" y1="58" x2="${lx + 30}" y2="58" stroke="${c}" stroke-width="3" stroke-dasharray="7 5"/><text x="${lx + 36}" y="63" font-size="15">${esc(s)} enqueue</text>`);
    lx += 170;
  }
  for (const [r, row] of ROWS.entries()) {
    for (const [c, col] of COLUMNS.entries()) {
      const x0 = left + c * (pw + gapX);
      const y0 = top + r * (ph + gapY);
      const pts = points.filter((p) => p.factor === col.factor);
      const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
      const lo = Math.log(xs[0] ?? 1);
      const hi = Math.log(xs.at(-1) ?? 10);
      const px = (x: number): number => x0 + (hi === lo ? pw / 2 : ((Math.log(x) - lo) / (hi - lo)) * (pw - 40) + 20);
      const max = Math.max(1, ...pts.flatMap((p) => [row.drain(p), row.enqueue(p)]));
      const yt = ticks(max);
      const ymax = yt.at(-1) ?? max;
      const py = (y: number): number => y0 + ph - (y / ymax) * ph;
      out.push(`<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
      for (const t of yt) {
        out.push(`<line x1="${x0}" y1="${py(t)}" x2="${x0 + pw}" y2="${py(t)}" stroke="#e5e5e5"/>`);
        out.push(`<text x="${x0 - 6}" y="${py(t) + 4}" font-size="12" text-anchor="end">${short(t)}</text>`);
      }
      for (const x of xs) out.push(`<text x="${px(x)}" y="${y0 + ph + 18}" font-size="12" text-anchor="middle">${short(x)}</text>`);
      out.push(`<text x="${x0 + pw / 2}" y="${y0 + ph + 38}" font-size="14" text-anchor="middle">${esc(col.label)}</text>`);
      if (c === 0) out.push(`<text transform="translate(${x0 - 58} ${y0 + ph / 2}) rotate(-90)" font-size="14" text-anchor="middle">${esc(row.label)}</text>`);
      for (const [i, s] of series.entries()) {
        const color = COLORS[i % COLORS.length] as string;
        const mine = pts.filter((p) => p.series === s).sort((a, b) => a.x - b.x);
        for (const [value, dash] of [
          [row.drain, ''],
          [row.enqueue, ' stroke-dasharray="7 5"'],
        ] as const) {
          const path = mine.map((p) => `${px(p.x).toFixed(1)},${py(value(p)).toFixed(1)}`).join(' ');
          out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2.5"${dash}/>`);
          for (const p of mine) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(value(p)).toFixed(1)}" r="3.5" fill="${color}"/>`);
        }
      }
    }
  }
  out.push('</svg>');
  return out.join('\n');
}

/** The plot as PNG bytes. */
export function renderScalePlot(points: readonly PlotPoint[], opts: { title: string }): Buffer {
  const resvg = new Resvg(scaleSvg(points, opts), { font: { loadSystemFonts: true, defaultFontFamily: 'Liberation Sans' }, background: 'white' });
  return resvg.render().asPng();
}
