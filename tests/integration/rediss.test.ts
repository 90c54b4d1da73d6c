// rediss:// against a private redis-server that listens with TLS only and asks clients for certificates (made with
// openssl for the test): a worker and a producer move a task and its result over TLS with the kombu options
// ssl_ca_certs / ssl_certfile / ssl_keyfile; an unknown CA and a missing client certificate fail with clear errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, Worker } from '../../src/index.js';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { makeTestPki } from '../helpers/tls-certs.js';
import { tempDir } from '../helpers/temp.js';

describe('rediss://', () => {
  const dir = tempDir('celeriac-rediss-');
  let redis: PrivateRedis;
  beforeAll(async () => {
    makeTestPki(dir.path);
    redis = privateRedis(await freePort(), [], undefined, {
      cert: dir.file('server.crt'), key: dir.file('server.key'), ca: dir.file('ca.crt'),
      clientCert: dir.file('client.crt'), clientKey: dir.file('client.key'), authClients: true,
    });
    await redis.start();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
    dir.remove();
  });

  const q = (params: Record<string, string>): string => `?${new URLSearchParams(params).toString()}`;

  it('runs a task and returns its result over TLS with a client certificate', async () => {
    const url = redis.url + q({ ssl_ca_certs: dir.file('ca.crt'), ssl_certfile: dir.file('client.crt'), ssl_keyfile: dir.file('client.key') });
    const app = new Celeriac('tls', { broker: url, backend: url, logLevel: 'silent' });
    app.task('tls.add', (x: number, y: number) => x + y);
    const worker = await new Worker(app, { queues: ['tls'], logger: createLogger({ level: 'silent' }), heartbeat: false, gossip: false }).start();
    try {
      const r = await app.sendTask<number>('tls.add', [2, 3], { queue: 'tls' });
      expect(await r.get({ timeout: 10_000 })).toBe(5);
      expect(await app.control.ping({ destination: [worker.hostname], timeout: 5_000 })).toHaveLength(1);
    } finally {
      await worker.stop();
      await app.close();
    }
  });

  it('an unknown CA, or no client certificate, is a clear error on the first connect', async () => {
    const untrusted = new Celeriac('tls', { broker: redis.url, backend: 'memory://', logLevel: 'silent' });
    const e1 = await untrusted.connection().catch((e: unknown) => e);
    await untrusted.close();
    expect(String(e1)).toMatch(/certificate/i);
    const anonymous = new Celeriac('tls', { broker: redis.url + q({ ssl_ca_certs: dir.file('ca.crt') }), backend: 'memory://', logLevel: 'silent' });
    const e2 = await anonymous.connection().catch((e: unknown) => e);
    await anonymous.close();
    expect(e2).toBeInstanceOf(Error);
    expect(String(e2)).toMatch(/ssl_certfile and ssl_keyfile/); // "certificate required", or a reset: both name them
  });
});
