// The dashboard's queues, charts and task pages. dashboard.js owns the shared helpers (api, el, cell, say, run)
// and the router; each page here has draw(arg), called on navigation and again when the live stream ticks.
'use strict';
window.celeriacPages = (ui) => {
  const { $, api, el, cell, say, enc, time } = ui;
  const charts = window.celeriacCharts;
  const rate = (r) => (r === null || r === undefined ? '' : r < 10 ? r.toFixed(2) : r.toFixed(0));

  const queues = {
    async draw() {
      const all = $('#queues-all').checked ? '?all=1' : '';
      const body = await api('GET', `/api/queues${all}`);
      if (body.error) say(`queues: ${body.error}`, true);
      $('#queues-sampled').textContent = body.sampled ? `sampled ${time(body.sampled)}` : '';
      const rows = body.queues.map((q) => {
        const spark = el('canvas', { width: 160, height: 24, className: 'spark' });
        const tr = el('tr', {},
          cell(q.name), cell(q.messages, 'num'), cell(q.unacked, 'num'), cell(q.consumers ?? '—', 'num'), cell(q.workers.join(', ')),
          cell(rate(q.rateIn), 'num rate-in'), cell(rate(q.rateOut), 'num rate-out'), el('td', {}, spark));
        tr.dataset.queue = q.name;
        requestAnimationFrame(() => charts.sparkline(spark, q.history));
        return tr;
      });
      $('#queues tbody').replaceChildren(...rows);
    },
  };
  $('#queues-all').addEventListener('change', () => queues.draw());

  const chartsPage = {
    async draw() {
      const s = await api('GET', `/api/series?range=${enc($('#chart-range').value)}`);
      const perSecond = (values) => values.map((v) => v / s.step);
      charts.lineChart($('#chart-throughput'), {
        start: s.start, step: s.step, format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)),
        lines: [
          { label: 'succeeded', colour: '#2a8a2a', values: perSecond(s.counts.succeeded) },
          { label: 'received', colour: '#7f8c8d', values: perSecond(s.counts.received) },
          { label: 'started', colour: '#1f6fb2', values: perSecond(s.counts.started) },
        ],
      });
      charts.lineChart($('#chart-failures'), {
        start: s.start, step: s.step, format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)),
        lines: [
          { label: 'failed', colour: '#c0392b', values: perSecond(s.counts.failed) },
          { label: 'retried', colour: '#8e44ad', values: perSecond(s.counts.retried) },
          { label: 'revoked', colour: '#d68910', values: perSecond(s.counts.revoked) },
        ],
      });
      charts.lineChart($('#chart-runtime'), {
        start: s.start, step: s.step, format: (v) => (v === 0 ? '0' : v < 0.001 ? `${(v * 1e6).toFixed(0)}µs` : v < 1 ? `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)}ms` : `${v.toFixed(1)}s`),
        lines: [
          { label: 'p50', colour: '#1f6fb2', values: s.p50 },
          { label: 'p95', colour: '#c0392b', values: s.p95 },
        ],
      });
      const total = (k) => s.counts[k].reduce((a, b) => a + b, 0);
      $('#page-charts').dataset.succeeded = String(total('succeeded'));
      $('#page-charts').dataset.failed = String(total('failed'));
    },
  };
  $('#chart-range').addEventListener('change', () => chartsPage.draw());

  let boxes = [];
  let shown = null;
  const task = {
    async draw(id) {
      shown = id;
      const t = await api('GET', `/api/task/timeline/${enc(id)}`);
      if (shown !== id) return;
      $('#task-id').textContent = id;
      $('#task-state').textContent = t.task.state;
      $('#task-state').className = `state state-${t.task.state}`;
      $('#task-summary').textContent = [t.task.name, t.task.worker && `on ${t.task.worker}`, typeof t.task.runtime === 'number' && `ran ${t.task.runtime.toFixed(3)}s`].filter(Boolean).join(' ');
      $('#task-retries').textContent = t.retries ? `${t.retries} ${t.retries === 1 ? 'retry' : 'retries'}` : '';
      charts.timeline($('#task-timeline'), t.events, t.task.state);
      boxes = charts.taskGraph($('#task-graph'), { task: t.task, parent: t.parent, children: t.children });
      $('#task-graph').dataset.children = String(t.children.length);
      $('#task-events tbody').replaceChildren(...t.events.map((e) => el('tr', {}, cell(e.event), cell(new Date(e.timestamp * 1000).toISOString()), cell(e.worker))));
      const TIMES = new Set(['sent', 'received', 'started', 'succeeded', 'failed', 'retried', 'revoked', 'rejected', 'timestamp']);
      const items = Object.entries(t.task).filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => [k, TIMES.has(k) && typeof v === 'number' ? new Date(v * 1000).toISOString() : typeof v === 'string' ? v : JSON.stringify(v)])
        .flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]);
      $('#task-fields').replaceChildren(...items);
      for (const b of document.querySelectorAll('[data-task-action]')) b.disabled = ['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'].includes(t.task.state);
    },
  };
  $('#task-graph').addEventListener('click', (ev) => {
    const r = ev.target.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = ev.clientY - r.top;
    const hit = boxes.find((b) => x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h);
    if (hit && hit.uuid !== shown) location.hash = `#/task/${enc(hit.uuid)}`;
  });
  for (const b of document.querySelectorAll('[data-task-action]')) b.addEventListener('click', () => shown && ui.run(b.dataset.taskAction, shown));

  return { queues, charts: chartsPage, task };
};
