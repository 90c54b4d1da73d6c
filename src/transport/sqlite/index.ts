/**
 * sqlite:// — the embedded default broker: durable queues in one SQLite file, shared safely by any number
 * of worker and producer processes on one machine. No server to install.
 *
 * Features: direct, topic and fanout exchanges (virtual router), priorities (higher first), prefetch,
 * ack / reject / requeue, a dead-letter table, visibility timeout, message TTL (a queue's `messageTtl` and a
 * message's `expiration`: an expired message is never taken and is deleted by a claimer's sweep). A claim is one UPDATE ... RETURNING, so a
 * message is taken by exactly one consumer; it stays invisible to the others until it is acked, handed
 * back, or its visibility timeout passes. A consumer whose process died on this host (kill -9) is
 * detected through its pid and its messages are handed back at once; otherwise after the timeout.
 * Consumers wake on the file's change (inotify through fs.watch) within a millisecond or so, and
 * poll once a second as a safety net, so an idle worker uses no CPU.
 *
 * Connection string: `sqlite://PATH` (relative to the working directory: `sqlite://./celeriac.db`,
 * `sqlite://celeriac.db`), `sqlite:///absolute/path.db`, or `sqlite://:memory:` (one process only).
 * Options (config or query string; the query string wins): `visibilityTimeout` / `visibility_timeout` (ms, default 3 600 000),
 * `pollInterval` / `poll_interval` (ms, default 1000), `busyTimeout` / `busy_timeout` (ms, default 10 000).
 */
import { VirtualTransport } from '../virtual/base.js';
import { urlPath, urlQuery } from '../../util/url.js';
import type { TransportFactory, TransportOptions } from '../types.js';
import { SqliteStore } from './store.js';

/** The URL's query string first: it names this broker's options, over `brokerOptions` and the app's settings. */
function numberOption(options: TransportOptions, query: Record<string, string>, camel: string, snake: string): number | undefined {
  const v = query[snake] ?? query[camel] ?? options[camel];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export const createTransport: TransportFactory = (url: string, options: TransportOptions) => {
  const query = urlQuery(url);
  const store = new SqliteStore(urlPath(url) || './celeriac.db', {
    busyTimeout: numberOption(options, query, 'busyTimeout', 'busy_timeout') ?? 10_000,
  });
  const transport = new VirtualTransport(url, store, {
    visibilityTimeout: numberOption(options, query, 'visibilityTimeout', 'visibility_timeout') ?? options.visibilityTimeout,
    pollInterval: numberOption(options, query, 'pollInterval', 'poll_interval'),
    maxMessageSize: numberOption(options, query, 'maxMessageSize', 'max_message_size'),
  });
  store.now = () => transport.clock.now();
  return transport;
};
