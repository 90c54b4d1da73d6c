// The celeriac dashboard page: the router (#/, #/queues, #/charts, #/task/<id>), the workers-and-tasks page,
// and the live stream. /api/live ticks at most four times a second at any event rate; the page shown redraws
// at most every 300 ms (charts every second), so it stays responsive however busy the workers are.
'use strict';
(() => {
  const $ = (sel) => document.querySelector(sel);
  const filters = $('#filters');
  let pending = null;
  let last = 0;

  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    Object.assign(node, props);
    for (const c of children) node.append(c);
    return node;
  };
  const cell = (text, className = '') => el('td', { textContent: text == null ? '' : String(text), title: text == null ? '' : String(text), className });
  const button = (label, action, args) => {
    const b = el('button', { type: 'button', textContent: label });
    b.dataset.action = action;
    b.addEventListener('click', (ev) => {
      ev.stopPropagation();
      run(action, args);
    });
    return b;
  };
  const READY = new Set(['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED']);
  const time = (s) => (typeof s === 'number' ? new Date(s * 1000).toLocaleTimeString() : '');
  const say = (text, error = false) => {
    const m = $('#message');
    m.textContent = text;
    m.className = error ? 'error' : '';
  };

  async function api(method, path, params) {
    const init = { method, headers: {} };
    if (params instanceof URLSearchParams) {
      init.body = params;
    } else if (params !== undefined) {
      init.body = JSON.stringify(params);
      init.headers['content-type'] = 'application/json';
    }
    const res = await fetch(path, init);
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
    return body;
  }

  const enc = encodeURIComponent;
  const ACTIONS = {
    revoke: (id) => api('POST', `/api/task/revoke/${enc(id)}`),
    terminate: (id) => api('POST', `/api/task/revoke/${enc(id)}?terminate=true&signal=SIGTERM`),
    abort: (id) => api('POST', `/api/task/abort/${enc(id)}`),
    shutdown: (name) => api('POST', `/api/worker/shutdown/${enc(name)}`),
    grow: (name) => api('POST', `/api/worker/pool/grow/${enc(name)}`, new URLSearchParams({ n: '1' })),
    shrink: (name) => api('POST', `/api/worker/pool/shrink/${enc(name)}`, new URLSearchParams({ n: '1' })),
  };
  const CONFIRM = { terminate: 'Terminate task %s (SIGTERM to the process running it)?', shutdown: 'Shut down worker %s?' };

  async function run(action, arg) {
    if (CONFIRM[action] && !window.confirm(CONFIRM[action].replace('%s', arg))) return;
    try {
      const out = await ACTIONS[action](arg);
      say(out.message || `${action}: done`);
    } catch (err) {
      say(`${action} ${arg}: ${err.message}`, true);
    }
    schedule();
  }

  function drawWorkers(overview) {
    $('#broker').textContent = overview.broker;
    const alive = overview.workers.filter((w) => w.alive).length;
    $('#worker-count').textContent = `${alive} online / ${overview.workers.length}`;
    const now = Date.now() / 1000;
    const rows = overview.workers.map((w) => {
      const beat = w.heartbeats[w.heartbeats.length - 1];
      const tr = el('tr', {},
        cell(w.hostname), cell(w.alive ? 'online' : 'offline', w.alive ? 'online' : 'offline'), cell(w.active ?? ''),
        cell(w.processed ?? ''), cell((w.loadavg || []).map((l) => l.toFixed(2)).join(' ')), cell(w.queues.join(', ')),
        cell(beat === undefined ? '' : `${Math.max(0, now - beat).toFixed(1)}s ago`),
        el('td', {}, button('Pool +1', 'grow', w.hostname), button('Pool -1', 'shrink', w.hostname), button('Shut down', 'shutdown', w.hostname)));
      tr.dataset.worker = w.hostname;
      return tr;
    });
    $('#workers tbody').replaceChildren(...rows);
    const counts = Object.entries(overview.counts).map(([s, n]) => `${s} ${n}`).join(' · ');
    $('#counts').textContent = `${overview.tasks} seen${counts ? ` · ${counts}` : ''}${overview.history ? ' · history kept' : ''}`;
  }

  function drawTasks(tasks) {
    const rows = Object.values(tasks).map((t) => {
      const link = el('a', { href: `#/task/${enc(t.uuid)}`, textContent: t.uuid });
      const tr = el('tr', {},
        el('td', { className: 'uuid', title: t.uuid }, link), cell(t.name), cell(t.state, `state state-${t.state}`), cell(t.worker), cell(t.args),
        cell(t.exception ?? t.result), cell(typeof t.runtime === 'number' ? `${t.runtime.toFixed(3)}s` : ''), cell(time(t.timestamp)),
        el('td', {}, ...(READY.has(t.state) ? [] : [button('Revoke', 'revoke', t.uuid), button('Terminate', 'terminate', t.uuid)])));
      tr.dataset.task = t.uuid;
      tr.addEventListener('click', () => (location.hash = `#/task/${enc(t.uuid)}`));
      return tr;
    });
    $('#tasks tbody').replaceChildren(...rows);
  }

  const overview = {
    async draw() {
      const query = new URLSearchParams({ limit: '100' });
      for (const [k, v] of new FormData(filters)) if (v) query.set(k, String(v));
      const [o, tasks] = await Promise.all([api('GET', '/api/overview'), api('GET', `/api/tasks?${query}`)]);
      drawWorkers(o);
      drawTasks(tasks);
    },
  };
  const pages = { overview, ...window.celeriacPages({ $, api, el, cell, say, enc, time, run }) };

  /** The page the hash names, and its argument (a task id). */
  function route() {
    const hash = location.hash.replace(/^#\/?/, '');
    if (hash.startsWith('task/')) return ['task', decodeURIComponent(hash.slice(5))];
    return [pages[hash] && hash !== 'task' ? hash : 'overview', undefined];
  }

  let drawing = false;
  let took = 0;

  async function refresh() {
    pending = null;
    if (drawing) return schedule();
    drawing = true;
    last = Date.now();
    const [name, arg] = route();
    try {
      await pages[name].draw(arg);
      document.body.dataset.page = name;
    } catch (err) {
      say(err.message, true);
    } finally {
      drawing = false;
      took = Date.now() - last;
    }
  }

  /**
   * Redraws at most every 300 ms (the charts every second), however many events arrive, one draw at a time,
   * and never more often than twice the last draw took (fetch included): a busy server or a slow machine
   * gets fewer redraws instead of a page that stops answering.
   */
  function schedule() {
    if (pending) return;
    const gap = Math.max(route()[0] === 'charts' ? 1000 : 300, 2 * took);
    pending = setTimeout(refresh, Math.max(0, last + gap - Date.now()));
  }

  function show() {
    const [name] = route();
    for (const main of document.querySelectorAll('main')) main.hidden = main.id !== `page-${name}`;
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.dataset.page === name);
    clearTimeout(pending);
    pending = null;
    last = 0;
    refresh();
  }

  filters.addEventListener('input', schedule);
  filters.addEventListener('submit', (ev) => ev.preventDefault());
  $('#rate-limit').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    const params = new URLSearchParams({ ratelimit: String(form.get('ratelimit')) });
    if (form.get('workername')) params.set('workername', String(form.get('workername')));
    try {
      const out = await api('POST', `/api/task/rate-limit/${enc(String(form.get('taskname')))}`, params);
      say(out.message);
    } catch (err) {
      say(`rate limit: ${err.message}`, true);
    }
  });
  window.addEventListener('hashchange', show);

  // Events per second over the last second, from the ticks.
  const ticks = [];
  const stream = new EventSource('/api/live');
  stream.onopen = () => {
    $('#live').textContent = 'live';
    $('#live').className = '';
  };
  stream.onerror = () => {
    $('#live').textContent = 'disconnected';
    $('#live').className = 'off';
  };
  stream.onmessage = (msg) => {
    const now = Date.now();
    ticks.push([now, JSON.parse(msg.data).events]);
    while (ticks.length && ticks[0][0] < now - 1000) ticks.shift();
    $('#rate').textContent = `${ticks.reduce((n, t) => n + t[1], 0)} events/s`;
    schedule();
  };
  // Heartbeat ages, liveness and queue depths change with time alone.
  setInterval(() => {
    const now = Date.now();
    while (ticks.length && ticks[0][0] < now - 1000) ticks.shift();
    if (!ticks.length) $('#rate').textContent = '';
    schedule();
  }, 2000);
  show();
})();
