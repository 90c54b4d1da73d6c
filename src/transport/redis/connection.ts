/**
 * Redis connections for the broker: URL forms, options, and a first connect that fails with an error
 * naming the URL (password masked) and what to check. Later outages reconnect with back-off.
 */
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { createRequire } from 'node:module';
import { TransportError } from '../../errors.js';
import { backoffDelay } from '../../util/backoff.js';
import { maskUrl, urlQuery } from '../../util/url.js';

export type { RedisClient };

export interface ParsedRedisUrl {
  options: RedisOptions;
  db: number;
}

/** redis://[user:pass@]host[:port][/db], rediss:// (TLS), redis+socket:///path.sock[?virtual_host=db]. */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const query = urlQuery(url);
  if (/^redis\+socket:\/\//i.test(url)) {
    const path = url.replace(/^redis\+socket:\/\//i, '').split('?')[0] ?? '';
    const db = Number(query['virtual_host'] ?? query['db'] ?? 0);
    return { options: { path, db, password: query['password'] }, db };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TransportError(`'${maskUrl(url)}' is not a valid Redis URL: use redis://[:password@]host[:port][/db]`);
  }
  const db = Number((parsed.pathname || '/0').slice(1) || query['db'] || 0);
  if (!Number.isInteger(db) || db < 0) throw new TransportError(`'${maskUrl(url)}': the database must be a number, as in redis://localhost:6379/0`);
  const options: RedisOptions = {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 6379),
    db,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
  if (parsed.protocol === 'rediss:') options.tls = {};
  return { options, db };
}

type RedisCtor = new (options: RedisOptions) => RedisClient;

function loadDriver(): RedisCtor {
  try {
    const mod = createRequire(import.meta.url)('ioredis') as { Redis?: RedisCtor; default?: RedisCtor };
    return (mod.Redis ?? mod.default ?? (mod as unknown as RedisCtor));
  } catch (cause) {
    throw new TransportError('the redis:// broker needs the ioredis package: npm install ioredis', { cause });
  }
}

/** Opens a connection and waits until it is ready; the error names the URL and what to check. */
export async function connectRedis(url: string, parsed: ParsedRedisUrl, name: string): Promise<RedisClient> {
  const Redis = loadDriver();
  const client = new Redis({
    ...parsed.options,
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (attempt) => backoffDelay(attempt, { base: 100, max: 5000, jitter: true }),
  });
  let firstError: Error | undefined;
  // Errors are reported through the transport (consumer onError), never as unhandled 'error' events.
  client.on('error', (err: Error) => {
    firstError ??= err;
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    const cause = firstError ?? (err as Error);
    const msg = cause.message.replace(/\.$/, '');
    const hint = /auth|password|WRONGPASS|NOAUTH/i.test(msg)
      ? 'Check the user name and password in the URL'
      : 'Check that Redis runs there and that the host, port and database are right';
    throw new TransportError(`cannot connect to Redis at ${maskUrl(url)}: ${msg}. ${hint}.`, { cause });
  }
  return client;
}
