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
import { REVOKED_KEY, type LeaseOutcome, type ResultBackend, type WaitOptions } from '../types.js';
import { clientOptions, connectClient, loadDriver, quit, type RedisRole } from '../../util/redis.js';
import { STORE_RESULT_LUA } from './store-result.js';
import { CHORD_PART_LUA, SET_PUBLISH_LUA } from './chord.js';
import { decodeGroup, encodeGroup, GROUP_KEY_PREFIX, type ChordPart, type ChordPartReturn } from '../groups.js';
import type { TaskState } from '../../protocol/states.js';
import { ResultWaiters } from './waiters.js';
import { ResultWrites, STORE_RESULT_COMMAND, type StoringClient } from './result-writes.js';
import { serverKey } from '../../util/redis-rides.js';
import { ACQUIRE_LEASE_LUA, LEASE_KEY_PREFIX, RELEASE_LEASE_LUA, WRITE_LEASE_DATA_LUA } from './lease.js';

const ROLE: RedisRole = { label: 'Redis result backend', error: (message, cause) => new BackendError(message, { cause }) };

type Client = StoringClient & {
  celeriacAcquireLease(key: string, holder: string, ttlMs: number): Promise<number>;
  celeriacReleaseLease(key: string, holder: string): Promise<number>;
  celeriacWriteLeaseData(key: string, dataKey: string, holder: string, ...fields: string[]): Promise<number>;
  celeriacChordPart(j: string, t: string, s: string, encoded: string, score: string, ttlSeconds: number): Promise<string[] | null>;
  celeriacSetPublish(key: string, value: string, ttlSeconds: number): Promise<number>;
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
  /** false: never hand result writes to a broker connection of the same server (util/redis-rides.ts). */
  rideClaims?: boolean;
}

interface Session {
  client: Client;
  waiters: ResultWaiters;
  writes: ResultWrites;
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
    // Result writes are batched by ResultWrites (./result-writes.ts), everything else auto-pipelined.
    const client = new Redis({ ...clientOptions(redis, connectionName), autoPipeliningIgnoredCommands: [STORE_RESULT_COMMAND] }) as Client;
    client.defineCommand(STORE_RESULT_COMMAND, { numberOfKeys: 1, lua: STORE_RESULT_LUA });
    client.defineCommand('celeriacAcquireLease', { numberOfKeys: 1, lua: ACQUIRE_LEASE_LUA });
    client.defineCommand('celeriacReleaseLease', { numberOfKeys: 1, lua: RELEASE_LEASE_LUA });
    client.defineCommand('celeriacWriteLeaseData', { numberOfKeys: 2, lua: WRITE_LEASE_DATA_LUA });
    client.defineCommand('celeriacChordPart', { numberOfKeys: 3, lua: CHORD_PART_LUA });
    client.defineCommand('celeriacSetPublish', { numberOfKeys: 1, lua: SET_PUBLISH_LUA });
    await connectClient(client, this.rawUrl, ROLE);
    const waiters = new ResultWaiters(
      this.url,
      () => new Redis({ ...clientOptions(redis, `${connectionName}:sub`), enableAutoPipelining: false, autoResubscribe: false, maxRetriesPerRequest: null }),
      (keys) => client.mget(...keys),
    );
    return { client, waiters, writes: new ResultWrites(client, this.options.rideClaims === false ? undefined : { server: serverKey(redis), db: redis.db ?? 0 }) };
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
    const opening = this.open();
    const session = await opening;
    const expires = this.options.resultExpires;
    const ttlMs = expires > 0 ? Math.max(1, Math.round(expires * 1000)) : 0;
    for (;;) {
      try {
        await session.writes.store([this.key(meta.task_id), JSON.stringify(meta), meta.status, ttlMs]);
        return;
      } catch (cause) {
        // A write waits through an outage, however long, as the broker's commands do: ioredis gives up on a
        // command after 20 reconnect attempts (about 40 s), and a worker that acked early would lose the result.
        // The write is idempotent (the script keeps a stored ready state), so sending it again is safe.
        if ((cause as Error)?.name === 'MaxRetriesPerRequestError' && this.session === opening) continue;
        throw this.fail(`store the result of task ${meta.task_id}`, cause);
      }
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

  private leaseKey(name: string): string {
    return this.options.keyPrefix + LEASE_KEY_PREFIX + name;
  }

  /** Beat's leader lease (./lease.ts): expiry by the Redis server's clock. */
  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseOutcome> {
    const { client } = await this.open();
    try {
      const outcome = await client.celeriacAcquireLease(this.leaseKey(name), holder, Math.max(1, Math.round(ttlMs)));
      return outcome === 2 ? 'acquired' : outcome === 1 ? 'renewed' : false;
    } catch (cause) {
      throw this.fail(`take the lease '${name}'`, cause);
    }
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    const { client } = await this.open();
    try {
      await client.celeriacReleaseLease(this.leaseKey(name), holder);
    } catch (cause) {
      throw this.fail(`release the lease '${name}'`, cause);
    }
  }

  async readLeaseData(name: string): Promise<Record<string, string>> {
    const { client } = await this.open();
    try {
      return await client.hgetall(`${this.leaseKey(name)}:data`);
    } catch (cause) {
      throw this.fail(`read the data of lease '${name}'`, cause);
    }
  }

  async writeLeaseData(name: string, holder: string, fields: Record<string, string>): Promise<boolean> {
    const { client } = await this.open();
    const key = this.leaseKey(name);
    try {
      return (await client.celeriacWriteLeaseData(key, `${key}:data`, holder, ...Object.entries(fields).flat())) === 1;
    } catch (cause) {
      throw this.fail(`write the data of lease '${name}'`, cause);
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

  /** The key of a group record, or of one of its chord counters (suffix '.j', '.t', '.s'). */
  groupKey(groupId: string, suffix = ''): string {
    return `${this.options.keyPrefix}${GROUP_KEY_PREFIX}${groupId}${suffix}`;
  }

  private get expirySeconds(): number {
    return this.options.resultExpires > 0 ? Math.max(1, Math.round(this.options.resultExpires)) : 0;
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    const { client } = await this.open();
    try {
      await client.celeriacSetPublish(this.groupKey(groupId, '.s'), String(size), this.expirySeconds);
    } catch (cause) {
      throw this.fail(`set the size of chord ${groupId}`, cause);
    }
  }

  async chordPartReturn(part: ChordPartReturn): Promise<ChordPart[] | null> {
    const { client } = await this.open();
    const { groupId } = part;
    const encoded = JSON.stringify([1, part.taskId, part.state, part.result]);
    let members: string[] | null;
    try {
      const score = part.index === null ? '+inf' : String(part.index);
      members = await client.celeriacChordPart(this.groupKey(groupId, '.j'), this.groupKey(groupId, '.t'), this.groupKey(groupId, '.s'), encoded, score, this.expirySeconds);
    } catch (cause) {
      throw this.fail(`count a part of chord ${groupId}`, cause);
    }
    if (!members) return null;
    return members.map((text) => {
      const [, taskId, state, result] = JSON.parse(text) as [number, string, TaskState, unknown];
      return { taskId, state, result };
    });
  }

  async saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    const { client } = await this.open();
    try {
      await client.celeriacSetPublish(this.groupKey(groupId), encodeGroup(groupId, taskIds), this.expirySeconds);
    } catch (cause) {
      throw this.fail(`save group ${groupId}`, cause);
    }
  }

  async restoreGroup(groupId: string): Promise<string[] | null> {
    const { client } = await this.open();
    let text: string | null;
    try {
      text = await client.get(this.groupKey(groupId));
    } catch (cause) {
      throw this.fail(`read group ${groupId}`, cause);
    }
    return text === null ? null : decodeGroup(text);
  }

  async deleteGroup(groupId: string): Promise<void> {
    const { client } = await this.open();
    try {
      await client.del(this.groupKey(groupId));
    } catch (cause) {
      throw this.fail(`delete group ${groupId}`, cause);
    }
  }
}
