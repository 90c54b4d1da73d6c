/**
 * kombu's restore_visible for the Redis transport: unacked messages fetched longer than the visibility
 * timeout ago go back to the queue their routing key names; one sweeper at a time across processes
 * (kombu's unacked_mutex). Also the envelope edits a restore makes.
 */
import { uuid } from '../../util/ids.js';
import type { Binding } from '../types.js';
import type { RedisClient } from './connection.js';
import type { RedisKeys } from './keys.js';

/** What a sweep needs of the store's connection: plain commands and the restore script. */
export type RestoreClient = Pick<RedisClient, 'set' | 'get' | 'del' | 'hget' | 'zrem' | 'zrangebyscore'> & {
  celeriacRestore(k1: string, k2: string, k3: string, tag: string, payload: string, cutoff: string, front: string): Promise<number>;
};

/** Marks a stored envelope redelivered, as kombu does when it restores a message. */
export function markRedelivered(envelope: string): string {
  try {
    const env = JSON.parse(envelope) as { headers?: Record<string, unknown>; properties?: { delivery_info?: Record<string, unknown> } };
    if (env.headers) env.headers['redelivered'] = true;
    if (env.properties?.delivery_info) env.properties.delivery_info['redelivered'] = true;
    return JSON.stringify(env);
  } catch {
    return envelope;
  }
}

/** The priority a stored envelope carries (0 when none). */
export function priorityOf(envelope: string): number {
  const m = /"priority"\s*:\s*(\d+)/.exec(envelope);
  return m ? Number(m[1]) : 0;
}

/** kombu's unacked_mutex_expire: the longest a sweeper holds the mutex (ms). */
const MUTEX_MAX = 300_000;

/**
 * How long a sweeper's mutex lives: kombu's 300 s, but never longer than the visibility timeout (at least 5 s).
 * A sweeper killed mid-sweep leaves its mutex behind, and no message is restored until it expires; with a short
 * visibility timeout, that wait would otherwise be minutes. Two sweeps at once are harmless (restore.lua moves a
 * message only while it is still unacked and not refreshed), the mutex only saves the work.
 */
export function mutexExpiry(visibilityTimeout: number): number {
  return Math.min(MUTEX_MAX, Math.max(5_000, visibilityTimeout));
}

/** Restores the unacked messages fetched before `cutoffMs` (at most 1,000 a sweep); returns how many. */
export async function restoreVisible(redis: RestoreClient, keys: RedisKeys, bindings: (exchange: string) => Promise<Binding[]>, cutoffMs: number, mutexMs = MUTEX_MAX): Promise<number> {
  const token = uuid();
  const got = await redis.set(keys.unackedMutex, token, 'PX', mutexMs, 'NX');
  if (got !== 'OK') return 0;
  let restored = 0;
  try {
    const cutoff = cutoffMs / 1000;
    const tags = await redis.zrangebyscore(keys.unackedIndex, '-inf', cutoff, 'LIMIT', 0, 1000);
    for (const tag of tags) {
      const raw = await redis.hget(keys.unacked, tag);
      if (!raw) {
        await redis.zrem(keys.unackedIndex, tag);
        continue;
      }
      const target = await restoreTarget(raw, keys, bindings);
      if (!target) continue;
      restored += await redis.celeriacRestore(keys.unacked, keys.unackedIndex, target.list, tag, markRedelivered(target.envelope), String(cutoff), '1');
    }
  } finally {
    if ((await redis.get(keys.unackedMutex)) === token) await redis.del(keys.unackedMutex);
  }
  return restored;
}

/** Where an unacked record `[envelope, exchange, routing_key]` goes back to: the queue its route names. */
async function restoreTarget(raw: string, keys: RedisKeys, bindings: (exchange: string) => Promise<Binding[]>): Promise<{ list: string; envelope: string } | undefined> {
  let record: [unknown, string, string];
  try {
    record = JSON.parse(raw) as [unknown, string, string];
  } catch {
    return undefined;
  }
  const [env, exchange, routingKey] = record;
  const envelope = JSON.stringify(env);
  let queue = routingKey;
  if (exchange) {
    const bound = (await bindings(exchange)).filter((b) => b.routingKey === routingKey);
    queue = bound[0]?.queue ?? routingKey;
  }
  return { list: keys.list(queue, priorityOf(envelope)), envelope };
}
