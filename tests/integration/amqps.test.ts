// amqps:// against a private RabbitMQ node with a TLS listener (certificates made with openssl for the test):
// the CA from ssl_ca_certs verifies the server; without it the connection fails naming the certificate problem.
import { afterAll, describe, expect, it } from 'vitest';
import { TransportError } from '../../src/index.js';
import { createTransport } from '../../src/transport/amqp/index.js';
import type { Delivery } from '../../src/transport/types.js';
import { privateRabbit, type PrivateRabbit } from '../helpers/rabbitmq-server.js';
import { until } from '../helpers/temp.js';

describe('amqps://', () => {
  let rabbit: PrivateRabbit | undefined;
  afterAll(() => rabbit?.remove(), 120_000);

  it('verifies the server with ssl_ca_certs and moves messages; an unknown CA is refused with a clear error', async () => {
    rabbit = await privateRabbit({ tls: true });
    await rabbit.start();
    const t = createTransport(`${rabbit.tlsUrl}?ssl_ca_certs=${encodeURIComponent(rabbit.caFile)}`, {});
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
    const untrusted = createTransport(rabbit.tlsUrl, {});
    const err = await untrusted.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(/certificate/i);
    await untrusted.close();
    const unchecked = createTransport(`${rabbit.tlsUrl}?ssl_cert_reqs=none`, {});
    await unchecked.connect();
    await unchecked.close();
  }, 180_000);
});
