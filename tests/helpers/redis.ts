// Redis for tests: the URL (CELERIAC_TEST_REDIS_URL or the local server) and cleanup of a test's keys.
import { Redis } from 'ioredis';

export const REDIS_URL = process.env['CELERIAC_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/0';

/** Deletes every key starting with `prefix` (a test's own key prefix). */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
