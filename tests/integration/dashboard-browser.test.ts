// The dashboard's pages in a real browser (Debian's Chromium driven by playwright-core), each showing live data
// from a running worker: workers and tasks (a task turns SUCCESS live; Pool +1 and Revoke reach the worker),
// queues (depth, the consuming worker, rates out), charts (throughput drawn), and a task page (timeline,
// parent and children on a canvas, retries; Abort reaches a running AbortableTask-style task).
// Screenshots go to test-artifacts/screenshots/ (git-ignored); with CELERIAC_UPDATE_SCREENSHOTS=1 also to
// docs/screenshots/ for the README. Needs /usr/bin/chromium (`npm run setup` installs it) or CELERIAC_TEST_CHROMIUM.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { tempDir, until, type TempDir } from '../helpers/temp.js';

const CHROMIUM = process.env['CELERIAC_TEST_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts/screenshots';
const T = 15_000;

/** The little of a browser's canvas the test reads (the DOM types are not in this project's lib). */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = `${ARTIFACTS}/${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  if (process.env['CELERIAC_UPDATE_SCREENSHOTS'] === '1') {
    mkdirSync('docs/screenshots', { recursive: true });
    copyFileSync(file, `docs/screenshots/${name}.png`);
  }
}

describe('dashboard pages in Chromium', { timeout: 90_000 }, () => {
  let dir: TempDir;
  let app: Celeriac;
  let worker: Worker;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  const queue = `q-${randomUUID().slice(0, 8)}`;
  const idle = `idle-${randomUUID().slice(0, 8)}`;
  const hostname = `browser@test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium, or set CELERIAC_TEST_CHROMIUM`);
    dir = tempDir();
    const url = `sqlite://${dir.file('broker.db')}`;
    app = new Celeriac('tests', { broker: url, backend: url, taskRoutes: { 'tasks.*': queue }, taskSendSentEvent: true });
    app.task('tasks.add', (x: number, y: number) => x + y);
    app.task('tasks.fail', () => {
      throw new RangeError('out of range');
    });
    app.task('tasks.fanout', async (n: number) => {
      const { request } = app.currentTask;
      for (let i = 0; i < n; i++) await app.sendTask('tasks.add', [i, i], { parentId: request.id, rootId: request.rootId ?? request.id });
      return n;
    }, { bind: true });
    app.task('tasks.flaky', () => {
      const { request, retry } = app.currentTask;
      if (request.retries < 1) retry({ countdown: 0, exc: new Error('try again') });
      return 'second time lucky';
    }, { bind: true });
    // Celery's AbortableTask: runs until its state in the result backend reads ABORTED.
    app.task('tasks.abortable', async () => {
      const { request } = app.currentTask;
      while ((await app.AsyncResult(request.id).state()) !== 'ABORTED') await new Promise((r) => setTimeout(r, 50));
      return 'aborted';
    }, { bind: true });
    dashboard = await startDashboard(app, { port: 0, queueInterval: 300, history: dir.file('history.db') });
    worker = await new Worker(app, { logger: createLogger({ level: 'silent' }), concurrency: 3, hostname, queues: [queue], taskEvents: true, heartbeatInterval: 0.5 }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker?.stop({ cold: true });
    await app?.close();
    dir?.remove();
  }, 60_000);

  it('workers and tasks: the worker online with its queue, a task turning SUCCESS live; Pool +1 and Revoke reach the worker', async () => {
    await page.goto(dashboard.url);
    const workerRow = page.locator(`tr[data-worker="${hostname}"]`);
    await workerRow.locator('td', { hasText: 'online' }).waitFor({ timeout: T });
    await workerRow.locator('td', { hasText: queue }).waitFor({ timeout: T });
    await expect(page.locator('#live').textContent()).resolves.toBe('live');

    const r = await app.sendTask('tasks.add', [40, 2]);
    await page.locator(`tr[data-task="${r.id}"] td.state`, { hasText: 'SUCCESS' }).waitFor({ timeout: T });
    await expect(page.locator(`tr[data-task="${r.id}"]`).textContent()).resolves.toContain('42');
    await app.sendTask('tasks.fail', []);
    for (let i = 0; i < 5; i++) await app.sendTask('tasks.add', [i, 1]);

    await workerRow.locator('button[data-action="grow"]').click();
    await page.locator('#message', { hasText: 'Growing pool by 1' }).waitFor({ timeout: T });
    expect(worker.pool.concurrency).toBe(4);

    const later = await app.sendTask('tasks.add', [1, 1], { countdown: 600 });
    const row = page.locator(`tr[data-task="${later.id}"]`);
    await row.locator('td.state', { hasText: 'RECEIVED' }).waitFor({ timeout: T });
    await row.locator('button[data-action="revoke"]').click();
    await page.locator('#message', { hasText: `Revoked '${later.id}'` }).waitFor({ timeout: T });
    await row.locator('td.state', { hasText: 'REVOKED' }).waitFor({ timeout: T });
    await page.locator('tr td.state', { hasText: 'FAILURE' }).first().waitFor({ timeout: T });
    await screenshot(page, 'workers-and-tasks');
  });

  it('queues: depth of a queue nobody reads, the worker on its own queue, and the rate out while it works', async () => {
    for (let i = 0; i < 7; i++) await app.sendTask('tasks.add', [i, i], { queue: idle });
    await page.goto(`${dashboard.url}/#/queues`);
    await page.locator(`tr[data-queue="${idle}"] td.num`, { hasText: /^7$/ }).first().waitFor({ timeout: T });
    const mine = page.locator(`tr[data-queue="${queue}"]`);
    await mine.locator('td', { hasText: hostname }).waitFor({ timeout: T });
    const results = [];
    for (let i = 0; i < 30; i++) results.push(await app.sendTask('tasks.add', [i, 2]));
    for (const r of results) await r.get({ timeout: T });
    await until(async () => Number((await mine.locator('td.rate-out').textContent()) || 0) > 0, T);
    await expect(page.locator('tr[data-queue^="celeryev."]').count()).resolves.toBe(0);
    await screenshot(page, 'queues');
  });

  it('charts: throughput, failures and runtime drawn from the series', async () => {
    await page.goto(`${dashboard.url}/#/charts`);
    await page.locator('#chart-range').selectOption('60');
    await until(async () => Number(await page.locator('#page-charts').getAttribute('data-succeeded')) >= 30, T);
    await expect(page.locator('#page-charts').getAttribute('data-failed')).resolves.toBe('1');
    // Something was drawn: the canvas is not blank.
    const inked = await page.locator('#chart-throughput').evaluate((c: Canvas) => {
      const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(500);
    await screenshot(page, 'charts');
  });

  it('task page: timeline, parent and children on the canvas, retries; Abort reaches a running task', async () => {
    const parent = await app.sendTask('tasks.fanout', [3]);
    await parent.get({ timeout: T });
    await page.goto(`${dashboard.url}/#/task/${parent.id}`);
    await page.locator('#task-state', { hasText: 'SUCCESS' }).waitFor({ timeout: T });
    await until(async () => (await page.locator('#task-graph').getAttribute('data-children')) === '3', T);
    const events = (await page.locator('#task-events tbody tr td:first-child').allTextContents()).filter((e) => e !== 'sent');
    expect(events).toEqual(['received', 'started', 'succeeded']);
    await screenshot(page, 'task');
    // A click on the first child's box opens the child's page, whose parent is the task.
    const box = (await page.locator('#task-graph').boundingBox()) as { x: number; y: number; width: number };
    // The task has no parent: its row is at the top (y 30), its children's 85 px below.
    await page.mouse.click(box.x + 10 + (box.width - 20) / 6, box.y + 115);
    await until(() => page.url().includes('#/task/') && !page.url().endsWith(parent.id), T);
    await page.locator('#task-summary', { hasText: 'tasks.add' }).waitFor({ timeout: T });

    const flaky = await app.sendTask('tasks.flaky', []);
    await flaky.get({ timeout: T });
    await page.goto(`${dashboard.url}/#/task/${flaky.id}`);
    await page.locator('#task-retries', { hasText: '1 retry' }).waitFor({ timeout: T });

    const running = await app.sendTask('tasks.abortable', []);
    await page.goto(`${dashboard.url}/#/task/${running.id}`);
    await page.locator('#task-state', { hasText: 'STARTED' }).waitFor({ timeout: T });
    await page.locator('button[data-task-action="abort"]').click();
    await page.locator('#message', { hasText: `Aborted '${running.id}'` }).waitFor({ timeout: T });
    expect(await running.get({ timeout: T })).toBe('aborted');
    await page.locator('#task-state', { hasText: 'SUCCESS' }).waitFor({ timeout: T });
  });
});
