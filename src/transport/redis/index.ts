/**
 * redis:// — Redis as the broker, in kombu's Redis key layout, so Python Celery producers and workers share
 * the same queues with celeriac.
 *
 * Features
 * - No message TTL (kombu's Redis transport has none): a queue's messageTtl and a message's expiration are
 *   carried but not enforced (capabilities.messageTtl = false); the worker still revokes an expired task.
 * - Queues are lists named after the queue; producers LPUSH, consumers take from the right (FIFO).
 * - Priorities as kombu emulates them: steps 0/3/6/9, one list per step (`<queue>\x06\x16<step>`, step 0 is
 *   the bare name); a message goes to the highest step not above its priority, and LOWER steps are consumed
 *   first (0 before 9, the opposite of RabbitMQ). capabilities.priority = 'lower-first'.
 * - Bindings in sets `_kombu.binding.<exchange>` (members `<routing_key>\x06\x16<pattern>\x06\x16<queue>`);
 *   direct and topic routing is resolved client-side, through the shared virtual router.
 * - Fanout exchanges are PUBLISH to `/{db}.{exchange}[/{routing_key}]` (kombu's fanout_prefix and
 *   fanout_patterns), not persisted: remote control and events.
 * - Ack emulation exactly as kombu's: hash `unacked` (tag -> [envelope, exchange, routing_key]), sorted set
 *   `unacked_index` (tag -> fetch time), `unacked_mutex` for the sweeper; messages unacked longer than the
 *   visibility timeout go back to their queue marked redelivered. The mutex lives 300 s as kombu's, but never
 *   longer than the visibility timeout: a sweeper killed mid-sweep holds up the restores no longer than that.
 * - Two holes of kombu's closed: taking a message and recording it as unacked is one Lua script (nothing
 *   is lost if a worker dies between them), and a worker refreshes the fetch time of what it holds, so a
 *   long ETA never runs twice (kombu#337).
 * - A claim is idempotent (celeriac's addition): it leaves a short-lived receipt `_celeriac.claim.<id>` of what it
 *   took, so a claim resent after a reconnect (its reply lost when Redis went away) gets the same messages
 *   instead of leaving them in `unacked` until the visibility timeout. The next claim deletes the receipt.
 * - Fast paths: one script call claims up to the whole prefetch window; acks and bulk publishes are
 *   pipelined; one waiting connection per process wakes consumers on pushes (client-side caching
 *   invalidations), with a poll only as a safety net.
 * - Dead letters (celeriac's addition): list `celeriac.dead_letter`, newest first, 10,000 kept.
 *
 * Connection string
 *   redis://[[user]:password@]host[:port][/db]      (default 127.0.0.1:6379/0)
 *   rediss://...                                    TLS
 *   redis+socket:///path/to/redis.sock[?virtual_host=db]
 *
 * Options (config `brokerOptions` or query string; the query string wins, then `brokerOptions`, then the app's
 * `visibilityTimeout` and `maxMessageSize` settings)
 *   visibilityTimeout / visibility_timeout   ms before an unacked message is restored (default 3 600 000)
 *   keyPrefix / global_keyprefix             prefix of every key and channel (kombu's global_keyprefix)
 *   pollInterval / poll_interval             safety-net poll, ms (default 1000)
 *   healthCheckInterval / health_check_interval  seconds (default 25, kombu's; 0 = off): every connection
 *                                            (commands and the waiting one) is PINGed this often; no reply
 *                                            within as long again and the socket is dropped and reconnected,
 *                                            so a silent partition is noticed (and logged by the worker)
 *                                            within twice this, not hung on for ever
 */
import { ConfigError } from '../../errors.js';
import { VirtualTransport } from '../virtual/base.js';
import { urlQuery } from '../../util/url.js';
import type { TransportFactory, TransportOptions } from '../types.js';
import { parseRedisUrl } from './connection.js';
import { RedisStore } from './store.js';

/** kombu's default health_check_interval, seconds. */
const DEFAULT_HEALTH_CHECK_S = 25;

/** The URL's query string first: it names this broker's options, over `brokerOptions` and the app's settings. */
function option(options: TransportOptions, query: Record<string, string>, camel: string, snake: string): unknown {
  return query[snake] ?? query[camel] ?? options[camel];
}

export const createTransport: TransportFactory = (url: string, options: TransportOptions) => {
  const query = urlQuery(url);
  const num = (v: unknown): number | undefined => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v));
  const visibilityTimeout = num(option(options, query, 'visibilityTimeout', 'visibility_timeout')) ?? options.visibilityTimeout ?? 3_600_000;
  const keyPrefix = String(option(options, query, 'keyPrefix', 'global_keyprefix') ?? '');
  const parsed = parseRedisUrl(url, (name) => option(options, query, name, name));
  const healthCheck = option(options, query, 'healthCheckInterval', 'health_check_interval');
  if (healthCheck !== undefined && healthCheck !== '' && !(Number.isFinite(Number(healthCheck)) && Number(healthCheck) >= 0)) {
    throw new ConfigError(`healthCheckInterval (health_check_interval) must be a number of seconds >= 0 (0 turns the health check off), not '${String(healthCheck)}'`);
  }
  parsed.healthCheck = (healthCheck === undefined || healthCheck === '' ? DEFAULT_HEALTH_CHECK_S : Number(healthCheck)) * 1000;
  const store = new RedisStore(url, parsed, { keyPrefix, visibilityTimeout });
  const transport = new VirtualTransport(url, store, {
    visibilityTimeout,
    pollInterval: num(option(options, query, 'pollInterval', 'poll_interval')) ?? 1000,
    maxMessageSize: num(option(options, query, 'maxMessageSize', 'max_message_size')),
  });
  store.now = () => transport.clock.now();
  return transport;
};
