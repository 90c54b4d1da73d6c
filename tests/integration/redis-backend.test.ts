/**
 * The redis:// result backend against a real Redis: Celery's record format and pub/sub wake-ups checked
 * against the Celery 5.2.6 captures in tests/fixtures/wire/results/, thousands of waiters on one subscriber,
 * connection errors, expiry, key prefix, and waiting through a dropped connection.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackend } from '../../src/backend/redis/index.js';
import type { BackendOptions, ResultBackend } from '../../src/backend/types.js';
import { BackendError } from '../../src/errors.js';
import { buildResultMeta, type ResultMeta } from '../../src/protocol/result-meta.js';
import { States } from '../../src/protocol/states.js';
import { maskUrl } from '../../src/util/url.js';
import { deleteKeys, REDIS_URL } from '../helpers/redis.js';

interface ResultFixture {
  key: string;
  record: ResultMeta & Record<string, unknown>;
}

const FIXTURES = new URL('../fixtures/wire/results/', import.meta.url);
const fixtures = new Map<string, ResultFixture>(
  readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(new URL(f, FIXTURES), 'utf8')) as ResultFixture]),
);
const taskFixtures = [...fixtures].filter(([, f]) => f.key.startsWith('celery-task-meta-'));
const fixture = (name: string): ResultFixture => fixtures.get(name) ?? expect.unreachable(`no fixture ${name}`);

const run = `celeriac-rbint-${randomUUID()}:`;
let raw: Redis;
const made: ResultBackend[] = [];

function backend(options: BackendOptions = {}, url = REDIS_URL): ResultBackend {
  const b = createBackend(url, { keyPrefix: `${run}${randomUUID()}:`, ...options });
  made.push(b);
  return b;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(20);
  }
}

/** Python's json.dumps with its default separators (', ' and ': '), as Celery writes records. */
function pyDumps(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyDumps).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyDumps(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}

/** The meta celeriac builds for a fixture's record (date_done copied: Celery's has microseconds). */
function metaFor(record: ResultFixture['record']): ResultMeta {
  const built = buildResultMeta({
    taskId: record.task_id,
    status: record.status,
    result: record.result,
    traceback: record.traceback,
    children: record.children,
    now: 0,
    groupId: record.group_id ?? null,
    parentId: record.parent_id ?? null,
    ...('name' in record
      ? { extended: { name: record.name, args: record.args, kwargs: record.kwargs, worker: record.worker, retries: record.retries, queue: record.queue } }
      : {}),
  });
  return { ...built, date_done: record.date_done };
}

interface ClientInfo {
  id: string;
  name: string;
  sub: number;
}

async function clients(): Promise<ClientInfo[]> {
  const list = (await raw.client('LIST')) as string;
  return list
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = Object.fromEntries(line.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      return { id: f['id'] ?? '', name: f['name'] ?? '', sub: Number(f['sub'] ?? 0) };
    });
}

beforeAll(() => {
  raw = new Redis(REDIS_URL);
});

afterEach(async () => {
  await Promise.all(made.splice(0).map((b) => b.close().catch(() => undefined)));
  vi.restoreAllMocks();
});

afterAll(async () => {
  await deleteKeys(run);
  await raw.quit();
});

describe('redis result backend: Celery 5.2.6 wire format', () => {
  it("stores every captured record with Celery's fields, values and key order, and PUBLISHes it on the key's channel", async () => {
    const listener = raw.duplicate();
    const published = new Map<string, string>();
    listener.on('pmessage', (_p: string, channel: string, text: string) => published.set(channel, text));
    await listener.psubscribe(`${run}fx-*`);
    try {
      for (const [name, f] of taskFixtures) {
        const prefix = `${run}fx-${name}:`;
        const b = backend({ keyPrefix: prefix });
        await b.storeResult(metaFor(f.record));
        const stored = await raw.get(prefix + f.key);
        expect(stored, name).not.toBeNull();
        const parsed = JSON.parse(stored ?? '') as Record<string, unknown>;
        expect(Object.keys(parsed), `${name}: key order`).toEqual(Object.keys(f.record));
        expect(parsed, name).toEqual(f.record);
        expect(await raw.ttl(prefix + f.key), `${name}: Celery's default expiry`).toBeGreaterThan(86_300);
        await until(`${name} is published`, async () => published.has(prefix + f.key), 2000);
        expect(published.get(prefix + f.key), `${name}: the published value is the stored one`).toBe(stored);
      }
    } finally {
      await listener.quit();
    }
  });

  it('a result Celery writes (SET with expiry + PUBLISH in MULTI, Python JSON spacing) wakes a waiting get(); STARTED does not', async () => {
    const prefix = `${run}celery-writes:`;
    const b = backend({ keyPrefix: prefix });
    await b.connect();
    const started = fixture('started_add_published').record;
    const success = fixture('success_add').record;
    const failure = fixture('failure_fail').record;
    const write = async (record: ResultFixture['record']): Promise<void> => {
      const key = `${prefix}celery-task-meta-${record.task_id}`;
      const text = pyDumps(record);
      await raw.multi().setex(key, 86_400, text).publish(key, text).exec();
    };
    let settled = false;
    const waiting = b.waitFor(success.task_id, { timeout: 10_000 }).finally(() => (settled = true));
    const failing = b.waitFor(failure.task_id, { timeout: 10_000 });
    await delay(50);
    await write(started);
    await delay(50);
    expect(settled, 'STARTED is not ready').toBe(false);
    expect(await b.getMeta(started.task_id)).toEqual(started);
    await write(success);
    await write(failure);
    expect(await waiting).toEqual(success);
    expect(await failing).toEqual(failure);
  });

  it("never overwrites Celery's SUCCESS, and keeps a ready state against a late STARTED", async () => {
    const prefix = `${run}keep:`;
    const b = backend({ keyPrefix: prefix });
    const success = fixture('success_add').record;
    const key = `${prefix}celery-task-meta-${success.task_id}`;
    await raw.set(key, pyDumps(success));
    await b.storeResult(buildResultMeta({ taskId: success.task_id, status: States.FAILURE, result: null, now: Date.now() }));
    expect(await raw.get(key)).toBe(pyDumps(success));
    const revoked = fixture('revoked').record;
    await raw.set(`${prefix}celery-task-meta-${revoked.task_id}`, pyDumps(revoked));
    await b.storeResult(buildResultMeta({ taskId: revoked.task_id, status: States.STARTED, result: { pid: 1 }, now: Date.now() }));
    expect(await b.getMeta(revoked.task_id)).toEqual(revoked);
    // The script also finds a status that is not the first field, and replaces a record that is not JSON.
    const late = randomUUID();
    await raw.set(`${prefix}celery-task-meta-${late}`, JSON.stringify({ result: { status: 'PENDING' }, status: 'SUCCESS', task_id: late }));
    await b.storeResult(buildResultMeta({ taskId: late, status: States.STARTED, result: null, now: Date.now() }));
    expect((await b.getMeta(late)).status).toBe(States.SUCCESS);
    const pickled = randomUUID();
    await raw.set(`${prefix}celery-task-meta-${pickled}`, '\x80\x04\x95 not json');
    await b.storeResult(buildResultMeta({ taskId: pickled, status: States.STARTED, result: null, now: Date.now() }));
    expect((await b.getMeta(pickled)).status).toBe(States.STARTED);
  });
});

describe('redis result backend: waiting', () => {
  it('5,000 concurrent waiters resolve through one shared subscriber connection, which unsubscribes afterwards', async () => {
    const name = `celeriac-rbint-${randomUUID().slice(0, 8)}`;
    const keyPrefix = `${run}many:`;
    const b = backend({ keyPrefix, client_name: name });
    const writer = backend({ keyPrefix, client_name: `${name}-writer` });
    await Promise.all([b.connect(), writer.connect()]);
    const before = (await clients()).length;
    const ids = Array.from({ length: 5000 }, () => randomUUID());
    const waits = ids.map((id) => b.waitFor(id, { timeout: 60_000 }));
    const subscriber = async (): Promise<ClientInfo | undefined> => (await clients()).find((c) => c.name === `${name}:sub`);
    await until('all 5,000 channels are subscribed', async () => (await subscriber())?.sub === 5000);
    const mine = (await clients()).filter((c) => c.name === name || c.name === `${name}:sub`);
    expect(mine.length, 'one command and one subscriber connection').toBe(2);
    expect((await clients()).length - before, 'no connection per waiter').toBeLessThan(50);
    await Promise.all(ids.map((id, i) => writer.storeResult(buildResultMeta({ taskId: id, status: States.SUCCESS, result: i, now: Date.now() }))));
    const got = await Promise.all(waits);
    got.forEach((m, i) => {
      expect(m.task_id).toBe(ids[i]);
      expect(m.result).toBe(i);
    });
    await until('every channel is unsubscribed', async () => (await subscriber())?.sub === 0);
  });

  it('a waiter survives its connections being killed, also when the result is stored meanwhile', async () => {
    const name = `celeriac-rbint-${randomUUID().slice(0, 8)}`;
    const keyPrefix = `${run}kill:`;
    const b = backend({ keyPrefix, client_name: name });
    const writer = backend({ keyPrefix });
    const ids = [randomUUID(), randomUUID()];
    const [first, second] = ids.map((id) => b.waitFor(id, { timeout: 15_000 }));
    const kill = async (): Promise<void> => {
      for (const c of await clients()) if (c.name === name || c.name === `${name}:sub`) await raw.client('KILL', 'ID', c.id);
    };
    await until('subscribed', async () => (await clients()).some((c) => c.name === `${name}:sub` && c.sub === 2));
    await kill();
    // Stored while the subscriber is (most likely) still reconnecting: the read after re-subscribing finds it.
    await writer.storeResult(buildResultMeta({ taskId: ids[0] as string, status: States.SUCCESS, result: 'first', now: Date.now() }));
    expect((await first)?.result).toBe('first');
    await until('re-subscribed', async () => (await clients()).some((c) => c.name === `${name}:sub` && c.sub === 1));
    await writer.storeResult(buildResultMeta({ taskId: ids[1] as string, status: States.SUCCESS, result: 'second', now: Date.now() }));
    expect((await second)?.result).toBe('second');
  });
});

describe('redis result backend: connection errors', () => {
  const withPassword = (user: string, password: string): string => {
    const u = new URL(REDIS_URL);
    u.username = user;
    u.password = password;
    return u.toString();
  };

  it.each([
    ['a password the server does not ask for', ''],
    ['a wrong user name and password', 'celeriac-nobody'],
  ])('%s gives a BackendError naming the URL with the password masked', async (_case, user) => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined); // ioredis warns about the first case
    const secret = `not-the-password-${randomUUID().slice(0, 6)}`;
    const url = withPassword(user, secret);
    const b = backend({}, url);
    expect(b.url).toBe(maskUrl(url));
    const error = (await b.connect().then(
      () => expect.unreachable('connect() should fail'),
      (e: unknown) => e,
    )) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toContain(maskUrl(url));
    expect(error.message).not.toContain(secret);
    expect(error.message).toMatch(/password/i);
    // Any operation reports the same, and retries the connection rather than reusing a broken one.
    await expect(b.getMeta(randomUUID())).rejects.toThrow(/password/i);
    expect(JSON.stringify(warn.mock.calls)).not.toContain(secret);
  });

  it('an unreachable server gives a BackendError naming the URL and what to check', async () => {
    const url = 'redis://:secret-pw@127.0.0.1:1/0';
    const b = backend({}, url);
    const error = (await b.storeResult(buildResultMeta({ taskId: randomUUID(), status: States.SUCCESS, result: 1, now: Date.now() })).then(
      () => expect.unreachable('storeResult() should fail'),
      (e: unknown) => e,
    )) as BackendError;
    expect(error).toBeInstanceOf(BackendError);
    expect(error.message).toContain('redis://:**@127.0.0.1:1/0');
    expect(error.message).not.toContain('secret-pw');
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.message).toMatch(/Redis is running/);
  });
});

describe('redis result backend: expiry and key prefix', () => {
  it('resultExpires sets the key TTL (1 s), 0 keeps the key forever', async () => {
    const keyPrefix = `${run}ttl:`;
    const short = backend({ keyPrefix, resultExpires: 1 });
    const forever = backend({ keyPrefix, resultExpires: 0 });
    const [a, c] = [randomUUID(), randomUUID()];
    await short.storeResult(buildResultMeta({ taskId: a, status: States.SUCCESS, result: 1, now: Date.now() }));
    await forever.storeResult(buildResultMeta({ taskId: c, status: States.SUCCESS, result: 2, now: Date.now() }));
    const ttl = await raw.pttl(`${keyPrefix}celery-task-meta-${a}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    expect(await raw.ttl(`${keyPrefix}celery-task-meta-${c}`)).toBe(-1);
  });

  it('?global_keyprefix= in the URL prefixes keys and channels', async () => {
    const keyPrefix = `${run}urlprefix:`;
    const url = `${REDIS_URL}?global_keyprefix=${encodeURIComponent(keyPrefix)}`;
    const b = createBackend(url, {});
    made.push(b);
    const id = randomUUID();
    const key = `${keyPrefix}celery-task-meta-${id}`;
    const listener = raw.duplicate();
    const got = new Promise<string>((resolve) => listener.on('message', (_c: string, text: string) => resolve(text)));
    await listener.subscribe(key);
    try {
      await b.storeResult(buildResultMeta({ taskId: id, status: States.SUCCESS, result: 'p', now: Date.now() }));
      expect(JSON.parse((await raw.get(key)) ?? 'null')).toMatchObject({ status: 'SUCCESS', result: 'p', task_id: id });
      expect(await raw.exists(`celery-task-meta-${id}`)).toBe(0);
      expect(JSON.parse(await got)).toMatchObject({ task_id: id });
    } finally {
      await listener.quit();
    }
  });
});
