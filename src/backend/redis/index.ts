/**
 * redis:// result backend, in Python Celery's exact layout, so either side reads and waits for the other's results.
 *
 * Features:
 * - Key `celery-task-meta-<task_id>` holding the JSON meta, kept `resultExpires` seconds (Celery's
 *   result_expires: SET with PX; 0 keeps it), and PUBLISHed on the channel of the same name when stored:
 *   Python's `AsyncResult.get()` wakes on our results, and ours on Python's.
 * - Storing is one Lua script (./store-result.ts): read the stored status, decide, SET, PUBLISH, atomically.
 *   A stored SUCCESS is never overwritten; a ready state is never replaced by a non-ready one. Results
 *   stored in the same tick go to Redis as one pipeline. In a worker whose redis:// broker is the same
 *   server (host, port, credentials; any database), they ride the broker's claim instead: one script stores
 *   them (SELECTing the results' database inside it), acks and claims more (util/redis-rides.ts).
 * - `waitFor` (AsyncResult.get) waits through one shared subscriber connection per backend, however many
 *   results are awaited: one channel subscription per awaited task, one GET after subscribing, unsubscribed
 *   once settled; re-subscribed and re-read after a reconnect.
 * - Two connections at most (commands, and the subscriber made on the first wait). A failed first connect
 *   is a BackendError naming the URL (password masked) and what to check; later outages reconnect with
 *   back-off (commands fail after ioredis's 20 retries). Nothing here logs.
 *
 * Connection string:
 *   redis://[[user]:password@]host[:port][/db]          default 127.0.0.1:6379, db 0
 *   rediss://[[user]:password@]host[:port][/db]         TLS; certificates are verified unless ssl_cert_reqs=none
 *   redis+socket://[[user]:password@]/path/to/redis.sock[?virtual_host=db]
 *
 * Options (backend options, or the same names as URL query parameters; kombu / Celery style):
 *   resultExpires           seconds results are kept (default 1 day; 0 = forever)
 *   keyPrefix, global_keyprefix   put before every key and channel, as kombu's global_keyprefix
 *                           (Celery >= 5.3: result_backend_transport_options={'global_keyprefix': ...}); default ''
 *   socket_connect_timeout  seconds to wait for a connection (default 10)
 *   client_name             CLIENT SETNAME of the connections (default 'celeriac-results'; the subscriber adds ':sub')
 *   ssl_cert_reqs           rediss://: 'required' (default) or 'none'
 *   ssl_ca_certs, ssl_certfile, ssl_keyfile   rediss://: PEM file paths (CA bundle, client certificate and key)
 *   ride_claims             'false' keeps result writes on the backend's own connection (for a proxy that
 *                           refuses SELECT inside scripts); default true
 */
import { ConfigError } from '../../errors.js';
import { maskUrl, urlQuery } from '../../util/url.js';
import type { BackendFactory } from '../types.js';
import { RedisBackend } from './backend.js';
import { redisOptions } from '../../util/redis.js';

export { RedisBackend } from './backend.js';

export const createBackend: BackendFactory = (url, options) => {
  const query = urlQuery(url);
  const option = (name: string): unknown => options[name] ?? query[name];
  const number = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined || value === null || value === '') return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name} for ${maskUrl(url)} must be a number of seconds >= 0, got '${String(value)}'`);
    return n;
  };
  const redis = redisOptions(url, option);
  const connectSeconds = number('socket_connect_timeout', option('socket_connect_timeout'), 0);
  if (connectSeconds > 0) redis.connectTimeout = connectSeconds * 1000;
  return new RedisBackend(url, {
    keyPrefix: String(options['keyPrefix'] ?? option('global_keyprefix') ?? ''),
    resultExpires: number('resultExpires', options.resultExpires, 86_400),
    connectionName: String(option('client_name') ?? 'celeriac-results'),
    redis,
    rideClaims: !['false', '0', 'no', 'off'].includes(String(option('ride_claims') ?? 'true').toLowerCase()),
  });
};
