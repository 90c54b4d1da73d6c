/**
 * amqp:// and amqps:// — RabbitMQ (AMQP 0-9-1) as the broker, declaring what kombu declares, so Python
 * Celery producers and workers share exchanges and queues with celeriac in either order.
 *
 * Features
 * - Real exchanges (direct, topic, fanout), queues and bindings; not a virtual transport. Durable queues,
 *   auto_delete off and persistent messages (delivery_mode 2) by default, as kombu.
 * - Publisher confirms: publish() resolves once RabbitMQ holds the message; a publish to a direct or topic
 *   exchange no queue is bound to fails (mandatory + basic.return), as on every celeriac broker, unless
 *   published with `unroutable: 'drop'` (events: no mandatory flag, RabbitMQ drops it).
 * - Prefetch: basic.qos on each consumer's channel (channel-wide, shared by all its queues) = the window.
 * - Priorities: RabbitMQ's own, 9 before 0, on queues declared with maxPriority (x-max-priority); queue
 *   arguments are sent only when set, exactly as kombu sends them.
 * - Dead letters: a rejected message (requeue=false) is published, with its reason, to the topic exchange
 *   `celeriac.dead-letter` (routing key: the queue it came from), bound with '#' to the durable queue
 *   `celeriac.dead-letter` (10,000 kept, oldest dropped); the original is acked after the confirm.
 *   `deadLetters()` reads that queue without consuming it. Bind your own queues to the exchange to watch.
 * - Connection loss (RabbitMQ restarted, connection closed) and consumer cancellation by the broker (queue
 *   deleted) are survived: reconnect with back-off, declare the remembered topology again, resume
 *   consuming. Unacked deliveries come back redelivered; a publish whose confirm was lost is sent again.
 * - Unacked counts: AMQP can only report ready messages, so `queueInfo().unacked` counts the deliveries
 *   held by this transport's consumers. `listQueues()` asks the management plug-in for names (falls back
 *   to the queues this transport declared or consumes when it is not enabled).
 * - No visibility timeout: RabbitMQ redelivers as soon as a consumer's channel closes.
 *
 * Connection string
 *   amqp://[user[:password]@]host[:port][/vhost]      default guest:guest@127.0.0.1:5672, vhost '/'
 *   amqp://guest:guest@localhost:5672//               kombu's spelling of the vhost '/'
 *   amqps://...                                        TLS (port 5671)
 *
 * Options (config `brokerOptions` or query string; the query string wins)
 *   heartbeat                                seconds (default 60; 0 turns heartbeats off)
 *   sslCaCerts / ssl_ca_certs, sslCertfile / ssl_certfile, sslKeyfile / ssl_keyfile,
 *   sslCertReqs / ssl_cert_reqs ('none' skips verification)           amqps:// only
 *   deadLetterQueue / dead_letter_queue      default 'celeriac.dead-letter' (the exchange has the same name)
 *   deadLetterMax / dead_letter_max          dead letters kept (default 10000)
 *   managementUrl / management_url           management API base (default http://host:15672)
 *   maxMessageSize / max_message_size        largest body in bytes (default 16 MiB, 0 = none; the app passes its
 *                                            maxMessageSize): a bigger publish fails, a bigger delivery is dead-lettered
 */
import { messageSizeLimit } from '../../protocol/limits.js';
import type { TransportFactory, TransportOptions } from '../types.js';
import { AmqpTransport } from './transport.js';
import { optionLookup, parseAmqpUrl } from './url.js';

export const createTransport: TransportFactory = (url: string, options: TransportOptions) => {
  const option = optionLookup(url, options);
  const endpoint = parseAmqpUrl(url, option);
  const deadLetterQueue = String(option('deadLetterQueue', 'dead_letter_queue') ?? 'celeriac.dead-letter');
  return new AmqpTransport(url, endpoint, {
    deadLetterQueue,
    deadLetterExchange: deadLetterQueue,
    deadLetterMax: Number(option('deadLetterMax', 'dead_letter_max') ?? 10_000),
    managementUrl: String(option('managementUrl', 'management_url') ?? `http://${endpoint.hostname}:15672`),
    maxMessageSize: messageSizeLimit(option('maxMessageSize', 'max_message_size')),
  });
};
