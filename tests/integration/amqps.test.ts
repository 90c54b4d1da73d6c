// amqps:// against a private RabbitMQ node with a TLS listener that requires client certificates (certificates
// made with openssl for the test): the CA from ssl_ca_certs verifies the server, ssl_certfile / ssl_keyfile
// identify the client; a worker runs a task whose result (rpc://) and remote control travel over TLS; an unknown
// CA and a missing client certificate are refused with clear errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celeriac, createLogger, TransportError, Worker } from '../../src/index.js';
import { createTransport } from '../../src/transport/amqp/index.js';
import type { Delivery } from '../../src/transport/types.js';
import { privateRabbit, type PrivateRabbit } from '../helpers/rabbitmq-server.js';
import { until } from '../helpers/temp.js';

describe('amqps://', () => {
  let rabbit: PrivateRabbit;
  let withCert: string;
  beforeAll(async () => {
    rabbit = await privateRabbit({ tls: true, requireClientCert: true });
    await rabbit.start();
    const q = new URLSearchParams({ ssl_ca_certs: rabbit.caFile, ssl_certfile: rabbit.clientCertFile, ssl_keyfile: rabbit.clientKeyFile });
    withCert = `${rabbit.tlsUrl}?${q.toString()}`;
  }, 180_000);
  afterAll(() => rabbit?.remove(), 120_000);

  it('verifies the server with ssl_ca_certs, presents the client certificate and moves messages', async () => {
    const t = createTransport(withCert, {});
    try {
      await t.declareQueue({ name: 'tls-q', durable: true });
      await t.publish({ body: Buffer.from('over tls'), contentType: 'text/plain', contentEncoding: 'utf-8', headers: {}, properties: {} }, { exchange: '', routingKey: 'tls-q' });
      const got: Delivery[] = [];
      const c = t.createConsumer({ prefetch: 1, onMessage: (d) => got.push(d) });
      await c.consume('tls-q');
      await until(() => got.length === 1, 20_000);
      expect(got[0]?.message.body.toString()).toBe('over tls');
      await got[0]?.ack();
    } finally {
      await t.close();
    }
    const unchecked = createTransport(`${withCert}&ssl_cert_reqs=none`, {});
    await unchecked.connect();
    await unchecked.close();
  }, 60_000);

  it('refuses an unknown CA and a client without a certificate, saying so', async () => {
    const untrusted = createTransport(rabbit.tlsUrl, {});
    const err = await untrusted.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/certificate/i);
    await untrusted.close();
    const anonymous = createTransport(`${rabbit.tlsUrl}?ssl_ca_certs=${encodeURIComponent(rabbit.caFile)}`, {});
    const refused = await anonymous.connect().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TransportError);
    expect((refused as Error).message).toMatch(/ssl_certfile and ssl_keyfile/);
    await anonymous.close();
  }, 60_000);

  it('a worker runs a task; its result (rpc://) and remote control travel over TLS', async () => {
    const app = new Celeriac('tls', { broker: withCert, backend: 'rpc://', logLevel: 'silent' });
    app.task('tls.add', (x: number, y: number) => x + y);
    const worker = await new Worker(app, { queues: ['tls-tasks'], logger: createLogger({ level: 'silent' }), heartbeat: false, gossip: false }).start();
    try {
      expect(await (await app.sendTask<number>('tls.add', [20, 22], { queue: 'tls-tasks' })).get({ timeout: 20_000 })).toBe(42);
      expect(await app.control.ping({ destination: [worker.hostname], timeout: 5_000 })).toHaveLength(1);
    } finally {
      await worker.stop();
      await app.close();
    }
  }, 60_000);
});
