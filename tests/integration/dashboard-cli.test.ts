// `celeriac dashboard` as a user runs it (the built CLI): it prints its URL, serves the API with basic auth,
// stops on SIGTERM with exit 0; bad flags exit 2 with a message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/processes.js';
import { tempDir, type TempDir } from '../helpers/temp.js';

describe('celeriac dashboard', { timeout: 60_000 }, () => {
  let dir: TempDir;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = tempDir('celeriac-dashboard-cli-');
    const url = `sqlite://${dir.file('celeriac.db')}`;
    env = { CELERIAC_BROKER_URL: url, CELERIAC_RESULT_BACKEND: url };
  });
  afterAll(() => dir.remove());

  it('prints its URL, answers with basic auth, and stops on SIGTERM', async () => {
    const p = spawnCli(['dashboard', '--port', '0', '--basic-auth', 'me:pw', '--timeout', '0.2'], env);
    try {
      await p.waitFor(/-> celeriac dashboard: http:\/\/127\.0\.0\.1:\d+ /);
      const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(p.output())?.[1] as string;
      expect((await fetch(`${url}/api/tasks`)).status).toBe(401);
      const res = await fetch(`${url}/api/tasks?limit=x`, { headers: { authorization: `Basic ${Buffer.from('me:pw').toString('base64')}` } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'limit: expected an integer >= 1, got "x"' });
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  it('bad flags exit 2 with a message', async () => {
    for (const [args, message] of [
      [['--port', 'http'], /--port expects an integer/],
      [['--port', '70000'], /--port expects a port number/],
      [['--basic-auth', 'nocolon'], /--basic-auth expects 'user:password'/],
    ] as const) {
      const p = spawnCli(['dashboard', ...args], env);
      expect(await p.exited).toBe(2);
      expect(p.output()).toMatch(message);
    }
  });
});
