/**
 * The redis:// result backend: Celery's key layout, an atomic store-and-publish script, and waiters woken
 * through one shared subscriber connection (options and URL forms in ./index.ts).
 */
import type { RedisOptions } from 'ioredis';
import { BackendError, CeleriacError, ResultTimeoutError } from '../../errors.js';
import { parseResultMeta, pendingMeta, type ResultMeta } from '../../protocol/result-meta.js';
import { isReady } from '../../protocol/states.js';
import { maskUrl } from '../../util/url.js';
import { TASK_KEY_PREFIX } from '../kv.js';
import { REVOKED_KEY, type ResultBackend, type WaitOptions } from '../types.js';
import { clientOptions, connectClient, loadDriver, quit, type RedisClient, type RedisRole } from '../../util/redis.js';
import { STORE_RESULT_LUA } from './store-result.js';
import { ResultWaiters } from './waiters.js';

const ROLE: RedisRole = { label: 'Redis result backend', error: (message, cause) => new BackendError(message, { cause }) };

type Client = RedisClient & {
  celeriacStoreResult(key: string, meta: string, status: string, ttlMs: number): Promise<number>;
};

export interface RedisBackendOptions {
  /** kombu's global_keyprefix: put before every key and channel name. */
  keyPrefix: string;
  /** Seconds a result is kept; 0 keeps it forever. */
  resultExpires: number;
  /** CLIENT SETNAME of the command connection; the subscriber's gets ':sub' appended. */
  connectionName: string;
  /** Where and how to connect (from the URL and the TLS options). */
  redis: RedisOptions;
}

interface Session {
  client: Client;
  waiters: ResultWaiters;
}

export class RedisBackend implements ResultBackend {
  /** The URL with the password masked. */
  readonly url: string;
  private session: Promise<Session> | undefined;

  constructor(
    private readonly rawUrl: string,
    private readonly options: RedisBackendOptions,
  ) {
    this.url = maskUrl(rawUrl);
  }

  /** The Redis key (and pub/sub channel) of a task's result. */
  key(taskId: string): string {
    return this.options.keyPrefix + TASK_KEY_PREFIX + taskId;
  }

  async connect(): Promise<void> {
    await this.open();
  }

  private open(): Promise<Session> {
    if (!this.session) {
      const opening = this.start();
      this.session = opening;
      opening.catch(() => {
        if (this.session === opening) this.session = undefined;
      });
    }
    return this.session;
  }

  private async start(): Promise<Session> {
    const Redis = await loadDriver(ROLE);
    const { redis, connectionName } = this.options;
    const client = new Redis(clientOptions(redis, connectionName)) as Client;
    client.defineCommand('celeriacStoreResult', { numberOfKeys: 1, lua: STORE_RESULT_LUA });
    await connectClient(client, this.rawUrl, ROLE);
    const waiters = new ResultWaiters(
      this.url,
      () => new Redis({ ...clientOptions(redis, `${connectionName}:sub`), enableAutoPipelining: false, autoResubscribe: false, maxRetriesPerRequest: null }),
      (keys) => client.mget(...keys),
    );
    return { client, waiters };
  }

  /** Closes both connections; waiters still pending fail with BackendError instead of hanging. */
  async close(): Promise<void> {
    const opening = this.session;
    this.session = undefined;
    const session = await opening?.catch(() => undefined);
    if (!session) return;
    await session.waiters.close();
    await quit(session.client);
    // Last, with nothing awaited after it: a caller awaiting close() handles the rejections right away.
    session.waiters.failPending();
  }

  private fail(doing: string, cause: unknown): Error {
    if (cause instanceof CeleriacError) return cause;
    return new BackendError(`cannot ${doing} in the Redis result backend at ${this.url}: ${(cause as Error).message}`, { cause });
  }

  /** Stores and publishes the meta in one script: a stored SUCCESS, or any ready state against a non-ready one, is kept. */
  async storeResult(meta: ResultMeta): Promise<void> {
    const { client } = await this.open();
    const expires = this.options.resultExpires;
    const ttlMs = expires > 0 ? Math.max(1, Math.round(expires * 1000)) : 0;
    try {
      await client.celeriacStoreResult(this.key(meta.task_id), JSON.stringify(meta), meta.status, ttlMs);
    } catch (cause) {
      throw this.fail(`store the result of task ${meta.task_id}`, cause);
    }
  }

  async getMeta(taskId: string): Promise<ResultMeta> {
    return this.read(await this.open(), taskId);
  }

  private async read({ client }: Session, taskId: string): Promise<ResultMeta> {
    let text: string | null;
    try {
      text = await client.get(this.key(taskId));
    } catch (cause) {
      throw this.fail(`read the result of task ${taskId}`, cause);
    }
    return text === null ? pendingMeta(taskId) : parseResultMeta(text, taskId);
  }

  /** Revoked ids: a sorted set scored by expiry time (ms), pruned on every write. */
  async addRevoked(ids: readonly string[], ttlMs: number): Promise<void> {
    if (ids.length === 0) return;
    const { client } = await this.open();
    const key = this.options.keyPrefix + REVOKED_KEY;
    const now = Date.now();
    try {
      await client.multi().zremrangebyscore(key, '-inf', now).zadd(key, ...ids.flatMap((id) => [now + ttlMs, id])).pexpire(key, ttlMs).exec();
    } catch (cause) {
      throw this.fail('store revoked task ids', cause);
    }
  }

  async revokedIds(): Promise<string[]> {
    const { client } = await this.open();
    try {
      return await client.zrangebyscore(this.options.keyPrefix + REVOKED_KEY, Date.now(), '+inf');
    } catch (cause) {
      throw this.fail('read revoked task ids', cause);
    }
  }

  async forget(taskId: string): Promise<void> {
    const { client } = await this.open();
    try {
      await client.del(this.key(taskId));
    } catch (cause) {
      throw this.fail(`forget the result of task ${taskId}`, cause);
    }
  }

  async waitFor(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    const startedAt = Date.now();
    const signal = options.signal;
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new ResultTimeoutError(`waiting for task ${taskId} was aborted`);
    // One session throughout: if close() comes in between, the wait fails instead of reconnecting.
    const session = await this.open();
    const first = await this.read(session, taskId);
    if (isReady(first.status)) return first;
    return session.waiters.wait(this.key(taskId), taskId, first.status, options, startedAt);
  }
}
