// Message signing with Python Celery (Debian's 5.2.6 and python3-cryptography) on Redis, both directions: a
// Python producer with task_serializer='auth' sends to a celeriac worker, a celeriac producer with taskSerializer
// 'auth' sends to a Python worker, and signed remote control (celery inspect ping <-> celeriac) both ways.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { makeSigningPki, type SigningPki } from '../helpers/signing-certs.js';
import { tempDir } from '../helpers/temp.js';
import { REDIS_URL } from '../helpers/redis.js';
import { cleanupRedis, PY_DIR, PYTHON, pythonEnv, requirePythonCelery, runProcess, stopProcess } from './helpers.js';
import { spawnProcess, type Spawned } from '../helpers/processes.js';

const dir = tempDir('celeriac-signing-py-');
let pki: SigningPki;
const control = `secure-${randomUUID().slice(0, 8)}`;
const taskIds = new Set<string>();
const queues: string[] = [];

function pyEnv(): NodeJS.ProcessEnv {
  return pythonEnv({ SECURE_BROKER: REDIS_URL, SECURE_KEY: pki.files.peerKey, SECURE_CERT: pki.files.peerCert, SECURE_STORE: pki.store, SECURE_CONTROL: control });
}

function signedApp(): Celeriac {
  const app = new Celeriac('signed', {
    broker: REDIS_URL, backend: REDIS_URL, logLevel: 'silent', controlExchange: control,
    taskSerializer: 'auth', securityKey: pki.files.key, securityCertificate: pki.files.cert, securityCertStore: pki.store,
  });
  app.task('tasks.add', (x: number, y: number) => x + y);
  return app;
}

describe('message signing with Python Celery', () => {
  beforeAll(() => {
    requirePythonCelery();
    pki = makeSigningPki(dir.path);
  });
  afterAll(async () => {
    await cleanupRedis(REDIS_URL, { queues, taskIds });
    dir.remove();
  });

  it('a Python producer signs, a celeriac worker verifies, runs, and answers signed pings', async () => {
    const queue = `secure-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    const app = signedApp();
    const worker = await new Worker(app, { queues: [queue], hostname: `celeriac-${queue}@test`, logger: createLogger({ level: 'silent' }), heartbeat: false, gossip: false }).start();
    try {
      const sent = await runProcess(PYTHON, ['secure_app.py', 'send', 'tasks.add', '[20, 22]', queue], pyEnv(), PY_DIR);
      expect(sent.code, sent.stderr).toBe(0);
      expect(JSON.parse(sent.stdout.trim())).toBe(42);
      const ping = await runProcess(PYTHON, ['secure_app.py', 'ping', worker.hostname], pyEnv(), PY_DIR);
      expect(ping.code, ping.stderr).toBe(0);
      expect(JSON.parse(ping.stdout.trim())).toEqual([{ [worker.hostname]: { ok: 'pong' } }]);
    } finally {
      await worker.stop();
      await app.close();
    }
  }, 60_000);

  it('a celeriac producer signs, a Python worker verifies and runs; celeriac pings it, signed', async () => {
    const queue = `secure-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    const node = `py-${queue}@test`;
    let py: Spawned | undefined;
    const app = signedApp();
    try {
      py = spawnProcess(PYTHON, ['-m', 'celery', '-A', 'secure_app', 'worker', '-P', 'solo', '-Q', queue, '-n', node, '-l', 'info', '--without-gossip', '--without-mingle', '--without-heartbeat'], pyEnv(), PY_DIR);
      await py.waitFor(/ ready\.\s*$/m, 45_000);
      const r = await app.sendTask<number>('secure.mul', [6, 7], { queue });
      taskIds.add(r.id);
      expect(await r.get({ timeout: 20_000 })).toBe(42);
      expect(await app.control.ping({ destination: [node], timeout: 5_000 })).toEqual([{ [node]: { ok: 'pong' } }]);
    } finally {
      await stopProcess(py);
      await app.close();
    }
  }, 90_000);
});
