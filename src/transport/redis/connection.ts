/**
 * Redis connections for the broker, on the shared helpers of util/redis.ts: URL forms and TLS options,
 * a first connect that fails with a TransportError naming the URL (password masked) and what to check,
 * and reconnects with back-off after that.
 */
import type { RedisOptions } from 'ioredis';
import { TransportError } from '../../errors.js';
import { clientOptions, connectClient, loadDriver, redisOptions, startHealthCheck, type RedisClient, type RedisRole } from '../../util/redis.js';

export type { RedisClient };

export interface ParsedRedisUrl {
  options: RedisOptions;
  db: number;
  /** Health-check PING period in ms on every broker connection (0: none); see startHealthCheck. */
  healthCheck?: number;
}

const ROLE: RedisRole = { label: 'Redis broker', error: (message, cause) => new TransportError(message, { cause }) };

/** redis://[user:pass@]host[:port][/db], rediss:// (TLS), redis+socket:///path.sock[?virtual_host=db]. */
export function parseRedisUrl(url: string, option: (name: string) => unknown = () => undefined): ParsedRedisUrl {
  const options = redisOptions(url, option);
  return { options, db: options.db ?? 0 };
}

/** Opens a connection and waits until it is ready; the error names the URL and what to check. */
export async function connectRedis(url: string, parsed: ParsedRedisUrl, name: string): Promise<RedisClient> {
  const Redis = await loadDriver(ROLE);
  // Commands wait through an outage (no per-command retry limit): a claim or publish resumes after it.
  const client = new Redis({ ...clientOptions(parsed.options, name), maxRetriesPerRequest: null, enableAutoPipelining: false });
  await connectClient(client, url, ROLE);
  startHealthCheck(client, parsed.healthCheck ?? 0, ROLE.label);
  return client;
}
