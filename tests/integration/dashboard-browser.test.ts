// The dashboard page in a real browser (Debian's Chromium driven by playwright-core): it shows the worker row
// (online, with its queue), a task row turning SUCCESS live, the task detail, and the Revoke button revokes a
// waiting task. Needs /usr/bin/chromium (`.ci/run` installs it) or CELERIAC_TEST_CHROMIUM.
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

const CHROMIUM = process.env['CELERIAC_TEST_CHROMIUM'] ?? '/usr/bin/chromium';
const T = 15_000;

describe('dashboard page in Chromium', { timeout: 60_000 }, () => {
  let dir: TempDir;
  let app: Celeriac;
  let worker: Worker;
  let dashboard: Dashboard;
  let browser: Browser;
  const queue = `q-${randomUUID()}`;
  const hostname = `browser@test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium, or set CELERIAC_TEST_CHROMIUM`);
    dir = tempDir();
    const url = `sqlite://${dir.file('broker.db')}`;
    app = new Celeriac('tests', { broker: url, backend: url, taskRoutes: { 'tasks.*': queue } });
    app.task('tasks.add', (x: number, y: number) => x + y);
    dashboard = await startDashboard(app, { port: 0 });
    worker = await new Worker(app, { logger: createLogger({ level: 'silent' }), concurrency: 1, hostname, queues: [queue], taskEvents: true, heartbeatInterval: 0.5 }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await worker?.stop({ cold: true });
    await app?.close();
    dir?.remove();
  }, 60_000);

  it('shows the worker and a task turning SUCCESS; Revoke revokes a waiting task', async () => {
    const page = await browser.newPage();
    await page.goto(dashboard.url);
    const workerRow = page.locator(`tr[data-worker="${hostname}"]`);
    await workerRow.locator('td', { hasText: 'online' }).waitFor({ timeout: T });
    await workerRow.locator('td', { hasText: queue }).waitFor({ timeout: T });
    await expect(page.locator('#live').textContent()).resolves.toBe('live');

    const r = await app.sendTask('tasks.add', [40, 2]);
    await page.locator(`tr[data-task="${r.id}"] td.state`, { hasText: 'SUCCESS' }).waitFor({ timeout: T });
    await expect(page.locator(`tr[data-task="${r.id}"]`).textContent()).resolves.toContain('42');
    await page.locator(`tr[data-task="${r.id}"] td.uuid`).click();
    await page.locator('#detail dd', { hasText: '(40, 2)' }).waitFor({ timeout: T });

    const later = await app.sendTask('tasks.add', [1, 1], { countdown: 600 });
    const row = page.locator(`tr[data-task="${later.id}"]`);
    await row.locator('td.state', { hasText: 'RECEIVED' }).waitFor({ timeout: T });
    await row.locator('button[data-action="revoke"]').click();
    await page.locator('#message', { hasText: `Revoked '${later.id}'` }).waitFor({ timeout: T });
    await row.locator('td.state', { hasText: 'REVOKED' }).waitFor({ timeout: T });
    await page.close();
  });
});
