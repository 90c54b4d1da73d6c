// Canvas drawing for the dashboard, no library: line charts over time, sparklines, a task's timeline, and a
// task with its parent and children as boxes (returning where each box is, for clicks).
'use strict';
window.celeriacCharts = (() => {
  const STATE_COLOURS = { SUCCESS: '#2a8a2a', FAILURE: '#c0392b', STARTED: '#1f6fb2', RECEIVED: '#7f8c8d', PENDING: '#aaa', RETRY: '#8e44ad', REVOKED: '#d68910', REJECTED: '#d68910' };
  const colourOf = (state) => STATE_COLOURS[state] || '#555';

  /** Sizes the canvas for the screen's pixel ratio; returns its 2D context and CSS size. */
  function setup(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || Number(canvas.getAttribute('width'));
    const h = Number(canvas.getAttribute('height'));
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
      canvas.style.height = `${h}px`;
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = '11px system-ui, sans-serif';
    return { ctx, w, h };
  }

  const nice = (max) => {
    if (!(max > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(max));
    return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max);
  };
  const clock = (t, step) => new Date(t * 1000).toLocaleTimeString([], step >= 60 ? { hour: '2-digit', minute: '2-digit' } : {});

  /**
   * A line chart of several series over time: `{ start, step, lines: [{ label, colour, values }], format }`;
   * null values leave gaps. Axes: time below, values left, a legend on top.
   */
  function lineChart(canvas, { start, step, lines, format = (v) => String(v) }) {
    const { ctx, w, h } = setup(canvas);
    const left = 52;
    const right = 10;
    const top = 18;
    const bottom = 20;
    const n = Math.max(1, ...lines.map((l) => l.values.length));
    const max = nice(Math.max(0, ...lines.flatMap((l) => l.values.filter((v) => v !== null))));
    const x = (i) => left + ((w - left - right) * i) / Math.max(1, n - 1);
    const y = (v) => top + (h - top - bottom) * (1 - v / max);
    ctx.strokeStyle = '#ddd';
    ctx.fillStyle = '#666';
    ctx.textAlign = 'right';
    for (let k = 0; k <= 5; k++) {
      const v = (max * k) / 5;
      ctx.beginPath();
      ctx.moveTo(left, y(v));
      ctx.lineTo(w - right, y(v));
      ctx.stroke();
      ctx.fillText(format(v), left - 4, y(v) + 4);
    }
    ctx.textAlign = 'center';
    for (let k = 0; k <= 5; k++) {
      const i = Math.round(((n - 1) * k) / 5);
      ctx.fillText(clock(start + i * step, step), x(i), h - 5);
    }
    let legend = left;
    ctx.textAlign = 'left';
    for (const line of lines) {
      ctx.strokeStyle = line.colour;
      ctx.fillStyle = line.colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let drawing = false;
      line.values.forEach((v, i) => {
        if (v === null) {
          drawing = false;
          return;
        }
        if (drawing) ctx.lineTo(x(i), y(v));
        else ctx.moveTo(x(i), y(v));
        drawing = true;
      });
      ctx.stroke();
      // A point with no neighbour draws no line: a dot shows it.
      line.values.forEach((v, i) => {
        if (v !== null && (line.values[i - 1] ?? null) === null && (line.values[i + 1] ?? null) === null) ctx.fillRect(x(i) - 1.5, y(v) - 1.5, 3, 3);
      });
      ctx.fillRect(legend, 5, 10, 3);
      ctx.fillText(line.label, legend + 14, 11);
      legend += ctx.measureText(line.label).width + 30;
    }
    ctx.lineWidth = 1;
  }

  /** A small line of [t, value] points. */
  function sparkline(canvas, points) {
    const { ctx, w, h } = setup(canvas);
    if (points.length < 2) return;
    const t0 = points[0][0];
    const span = Math.max(1, points[points.length - 1][0] - t0);
    const max = Math.max(1, ...points.map((p) => p[1]));
    ctx.strokeStyle = '#1f6fb2';
    ctx.beginPath();
    points.forEach(([t, v], i) => {
      const px = ((t - t0) / span) * (w - 2) + 1;
      const py = h - 2 - (v / max) * (h - 4);
      if (i) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
    });
    ctx.stroke();
  }

  /** A task's events on one time axis: waiting (received -> started) grey, running (started -> end) in its state's colour. */
  function timeline(canvas, events, state) {
    const { ctx, w, h } = setup(canvas);
    if (!events.length) {
      ctx.fillStyle = '#666';
      ctx.fillText('no events seen for this task', 10, 20);
      return;
    }
    const t0 = events[0].timestamp;
    const t1 = Math.max(t0 + 0.001, events[events.length - 1].timestamp);
    const x = (t) => 20 + ((t - t0) / (t1 - t0)) * (w - 40);
    const mid = 45;
    let started = null;
    let received = null;
    for (const e of events) {
      if (e.event === 'received' || e.event === 'sent') received = received ?? e.timestamp;
      if (e.event === 'started') {
        if (received !== null) {
          ctx.fillStyle = '#ccc';
          ctx.fillRect(x(received), mid - 6, Math.max(1, x(e.timestamp) - x(received)), 12);
        }
        started = e.timestamp;
        received = null;
      }
      if (['succeeded', 'failed', 'retried', 'revoked', 'rejected'].includes(e.event) && started !== null) {
        ctx.fillStyle = colourOf(e.event === 'retried' ? 'RETRY' : e.event === 'succeeded' ? 'SUCCESS' : e.event === 'failed' ? 'FAILURE' : 'REVOKED');
        ctx.fillRect(x(started), mid - 6, Math.max(2, x(e.timestamp) - x(started)), 12);
        started = null;
      }
    }
    if (started !== null) {
      ctx.fillStyle = colourOf(state);
      ctx.fillRect(x(started), mid - 6, Math.max(2, w - 20 - x(started)), 12);
    }
    events.forEach((e, i) => {
      // Labels stay inside the canvas: those near an edge are aligned to it.
      const at = x(e.timestamp);
      ctx.textAlign = at < 60 ? 'left' : at > w - 60 ? 'right' : 'center';
      ctx.fillStyle = '#222';
      ctx.beginPath();
      ctx.arc(at, mid, 3, 0, Math.PI * 2);
      ctx.fill();
      const tx = at < 60 ? at - 3 : at > w - 60 ? at + 3 : at;
      ctx.fillText(e.event, tx, i % 2 ? mid + 24 : mid - 14);
      ctx.fillStyle = '#666';
      ctx.fillText(`+${(e.timestamp - t0).toFixed(3)}s`, tx, i % 2 ? mid + 38 : mid - 28);
    });
  }

  /** The task (middle), its parent (top) and children (bottom) as boxes; returns [{ uuid, x, y, w, h }] to hit-test clicks. */
  function taskGraph(canvas, { task, parent, children }) {
    const { ctx, w } = setup(canvas);
    const boxes = [];
    const box = (t, cx, cy, bw) => {
      const bh = 34;
      ctx.fillStyle = '#fff';
      ctx.strokeStyle = colourOf(t.state);
      ctx.lineWidth = t.uuid === task.uuid ? 3 : 1.5;
      ctx.fillRect(cx - bw / 2, cy - bh / 2, bw, bh);
      ctx.strokeRect(cx - bw / 2, cy - bh / 2, bw, bh);
      ctx.fillStyle = '#222';
      ctx.textAlign = 'center';
      ctx.fillText((t.name || t.uuid).slice(0, Math.floor(bw / 6)), cx, cy - 3);
      ctx.fillStyle = colourOf(t.state);
      ctx.fillText(t.state, cx, cy + 11);
      boxes.push({ uuid: t.uuid, x: cx - bw / 2, y: cy - bh / 2, w: bw, h: bh });
    };
    const edge = (x1, y1, x2, y2) => {
      ctx.strokeStyle = '#999';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x2, y2);
      ctx.stroke();
    };
    const cx = w / 2;
    // Rows: the parent (if any), the task, its children.
    const ty = parent ? 110 : 30;
    if (parent) {
      edge(cx, 40, cx, 93);
      box(parent, cx, 30, 200);
    }
    const shown = children.slice(0, 12);
    const slot = (w - 20) / Math.max(1, shown.length);
    shown.forEach((c, i) => edge(cx, ty + 17, 10 + slot * (i + 0.5), ty + 73));
    box(task, cx, ty, 220);
    shown.forEach((c, i) => box(c, 10 + slot * (i + 0.5), ty + 85, Math.min(180, slot - 8)));
    if (children.length > shown.length) {
      ctx.fillStyle = '#666';
      ctx.textAlign = 'right';
      ctx.fillText(`and ${children.length - shown.length} more`, w - 10, 218);
    }
    ctx.lineWidth = 1;
    return boxes;
  }

  return { lineChart, sparkline, timeline, taskGraph, colourOf };
})();
