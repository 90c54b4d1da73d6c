// A dashboard bound beyond loopback (0.0.0.0) without basic auth shows data but refuses every action (POST) with
// 403 saying to set --basic-auth; with basic auth the same actions go through. Loopback addresses are recognised.
import { afterEach, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/index.js';
import { isLoopback, startDashboard, type Dashboard } from '../../src/dashboard/server.js';

describe('dashboard bound beyond loopback', () => {
  let app: Celeriac | undefined;
  let dashboard: Dashboard | undefined;
  afterEach(async () => {
    await dashboard?.close();
    await app?.close();
    dashboard = undefined;
    app = undefined;
  });

  it('refuses actions without auth, serves reads; with basic auth the actions go through', async () => {
    app = new Celeriac('exposed', { broker: 'memory://', backend: 'memory://', logLevel: 'silent' });
    dashboard = await startDashboard(app, { port: 0, address: '0.0.0.0', timeout: 200 });
    const base = `http://127.0.0.1:${dashboard.port}`;
    expect((await fetch(`${base}/api/tasks`)).status).toBe(200);
    const refused = await fetch(`${base}/api/task/revoke/abc`, { method: 'POST' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/beyond loopback.*--basic-auth/);
    const apply = await fetch(`${base}/api/task/async-apply/tasks.add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"args":[1,2]}' });
    expect(apply.status).toBe(403);
    await dashboard.close();

    dashboard = await startDashboard(app, { port: 0, address: '0.0.0.0', timeout: 200, basicAuth: 'admin:s3cret' });
    const authed = `http://127.0.0.1:${dashboard.port}`;
    const auth = { authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}` };
    expect((await fetch(`${authed}/api/task/revoke/abc`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${authed}/api/task/revoke/abc`, { method: 'POST', headers: auth })).status).toBe(200);
  });

  it('a loopback dashboard without auth keeps its actions', async () => {
    app = new Celeriac('loopback', { broker: 'memory://', backend: 'memory://', logLevel: 'silent' });
    dashboard = await startDashboard(app, { port: 0, timeout: 200 });
    expect((await fetch(`${dashboard.url}/api/task/revoke/abc`, { method: 'POST' })).status).toBe(200);
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', '::ffff:10.0.0.1']) expect(isLoopback(a), a).toBe(false);
  });
});
