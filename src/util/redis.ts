/**
 * Redis connections, shared by the redis:// broker and result backend (neither may import the other): the
 * URL forms, TLS options, the driver loaded on first use, and a first connect that fails with an error
 * naming the URL (password masked) and what to check. Later outages reconnect with back-off; nothing here
 * logs. Like util/sqlite.ts, a helper with I/O, kept here so both plug-ins share one implementation.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { maskUrl, urlQuery } from './url.js';

export type { Redis as RedisClient };

/** Reconnect back-off, ms: doubles from BASE up to MAX, with full jitter. */
const RECONNECT = { base: 100, max: 5000, jitter: true } as const;

type Lookup = (name: string) => unknown;

/** Who is connecting, for error messages: 'Redis result backend' or 'Redis broker', and its error class. */
export interface RedisRole {
  label: string;
  error: (message: string, cause: unknown) => Error;
}

function database(url: string, text: string | undefined): number {
  const db = Number(text || 0);
  if (!Number.isInteger(db) || db < 0) {
    throw new ConfigError(`'${maskUrl(url)}': the database must be a number, as in redis://localhost:6379/0`);
  }
  return db;
}

const decode = (s: string): string | undefined => (s ? decodeURIComponent(s) : undefined);

function readPem(url: string, option: string, path: unknown): Buffer | undefined {
  if (path === undefined || path === null || path === '') return undefined;
  try {
    return readFileSync(String(path));
  } catch (cause) {
    throw new ConfigError(`'${maskUrl(url)}': cannot read ${option} file ${String(path)}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * ioredis options for `redis://[[user]:password@]host[:port][/db]`, `rediss://...` (TLS) and
 * `redis+socket://[[user]:password@]/path/to/socket[?virtual_host=db]`. `option` looks up backend options
 * and query parameters (kombu names: ssl_cert_reqs, ssl_ca_certs, ssl_certfile, ssl_keyfile).
 */
export function redisOptions(url: string, option: Lookup): RedisOptions {
  const query = urlQuery(url);
  const socket = /^redis\+socket:\/\/([^/?]*)(\/[^?]*)/i.exec(url);
  if (/^redis\+socket:/i.test(url)) {
    if (!socket?.[2]) throw new ConfigError(`'${maskUrl(url)}' has no socket path: use redis+socket:///path/to/redis.sock?virtual_host=0`);
    const creds = /^(?:([^:@]*)(?::([^@]*))?@)?$/.exec(socket[1] ?? '');
    return {
      path: socket[2],
      db: database(url, query['virtual_host'] ?? query['db']),
      username: decode(creds?.[1] ?? ''),
      password: decode(creds?.[2] ?? '') ?? query['password'],
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ConfigError(`'${maskUrl(url)}' is not a valid Redis URL: use redis://[:password@]host[:port][/db]`, { cause });
  }
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(parsed.port || 6379),
    db: database(url, parsed.pathname.slice(1) || query['virtual_host'] || query['db']),
    username: decode(parsed.username),
    password: decode(parsed.password) ?? query['password'],
  };
  if (parsed.protocol === 'rediss:') {
    const reqs = String(option('ssl_cert_reqs') ?? 'required').toLowerCase();
    options.tls = {
      rejectUnauthorized: reqs !== 'none' && reqs !== 'cert_none',
      ca: readPem(url, 'ssl_ca_certs', option('ssl_ca_certs')),
      cert: readPem(url, 'ssl_certfile', option('ssl_certfile')),
      key: readPem(url, 'ssl_keyfile', option('ssl_keyfile')),
      // SNI takes a host name only.
      servername: isIP(options.host ?? '') ? undefined : options.host,
    };
  }
  return options;
}

type RedisCtor = new (options: RedisOptions) => Redis;

/** The ioredis constructor, imported on first use. */
export async function loadDriver(role: RedisRole): Promise<RedisCtor> {
  try {
    const mod = (await import('ioredis')) as unknown as { Redis?: RedisCtor; default?: RedisCtor };
    const ctor = mod.Redis ?? mod.default;
    if (!ctor) throw new Error('ioredis exports no Redis class');
    return ctor;
  } catch (cause) {
    throw role.error(`the ${role.label} needs the ioredis package: npm install ioredis (${(cause as Error).message})`, cause);
  }
}

/** Connection options shared by the command and subscriber connections. */
export function clientOptions(base: RedisOptions, connectionName: string): RedisOptions {
  return {
    ...base,
    connectionName,
    lazyConnect: true,
    enableReadyCheck: true,
    // Results stored or read in the same tick go to Redis as one pipeline.
    enableAutoPipelining: true,
    retryStrategy: (attempt: number) => backoffDelay(attempt - 1, RECONNECT),
  };
}

function hint(reason: string, url: string): string {
  if (/without any password configured|no password is set/i.test(reason)) {
    return 'The server asks for no password: remove it from the URL, or set one on the server (requirepass)';
  }
  if (/WRONGPASS|NOAUTH|invalid password|username-password/i.test(reason)) {
    return 'Check the user name and password in the URL, and the server\'s requirepass or ACL users';
  }
  if (/certificate required|alert number 116/i.test(reason)) {
    return 'The server asks clients for a certificate (tls-auth-clients): give ssl_certfile and ssl_keyfile';
  }
  if (/certificate|CERT_|unable to verify/i.test(reason)) {
    return 'The server\'s TLS certificate is not trusted: give its CA as ssl_ca_certs, or ssl_cert_reqs=none to skip verification';
  }
  if (/DB index is out of range/i.test(reason)) return 'Use a database number the server has (its `databases` setting, 16 by default)';
  if (/^redis\+socket:/i.test(url)) return 'Check that Redis is running and listening on that socket path (unixsocket), and its permissions';
  const tls = /^rediss:/i.test(url) ? '; for rediss:// also that the server speaks TLS and its certificate is trusted (ssl_ca_certs, ssl_cert_reqs), and, if it asks clients for a certificate (tls-auth-clients), that ssl_certfile and ssl_keyfile are given' : '';
  return `Check that Redis is running there and reachable, and that the host and port are right${tls}`;
}

/** The error for a failed first connect: the URL (masked), Redis's or the socket's reason, what to check. */
export function connectError(url: string, cause: unknown, role: RedisRole): Error {
  const reason = String((cause as Error)?.message ?? cause).trim();
  const end = /[.?!]$/.test(reason) ? '' : '.';
  return role.error(`cannot connect to the ${role.label} at ${maskUrl(url)}: ${reason}${end} ${hint(reason, url)}.`, cause);
}

/**
 * Connects and waits until ready. The first failure ends the attempt (no retry loop at start-up);
 * errors ioredis reports without failing (a SELECT of a missing database, a password the server does
 * not ask for) fail it too, as they do in redis-py.
 */
export async function connectClient(client: Redis, url: string, role: RedisRole): Promise<void> {
  let first: Error | undefined;
  const onError = (e: Error): void => {
    first ??= e;
  };
  ignoreErrorEvents(client);
  client.on('error', onError);
  try {
    await client.connect();
    if (first) throw first;
    const { username, password } = client.options;
    // ioredis only warns when the server has no password; AUTH again to turn that into an error.
    if (password && !username) await client.call('AUTH', password);
  } catch (cause) {
    client.disconnect();
    throw connectError(url, first ?? cause, role);
  } finally {
    client.off('error', onError);
  }
}

/**
 * Outages after the first connect surface as failed commands (after ioredis's retries), never as an
 * 'error' event, which ioredis would otherwise print when nobody listens.
 */
export function ignoreErrorEvents(client: Redis): void {
  client.on('error', () => undefined);
}

/**
 * kombu's `health_check_interval`, actively: every `every` ms a ready connection is sent a PING; when no reply
 * comes within another `every` ms, the socket is destroyed and ioredis reconnects with its back-off. A
 * connection cut silently (a network partition, a NAT or firewall dropping state, a frozen server) so
 * shows as lost within 2 x `every` + 2 s, instead of commands waiting for ever on a socket that looks open. The
 * miss is reported as an 'error' event (its message says what happened) just before the close. Stops on
 * 'end' (closed for good). `every` <= 0 turns it off.
 */
export function startHealthCheck(client: Redis, every: number, label: string): void {
  if (!(every > 0)) return;
  let waiting = false;
  const timer = setInterval(() => {
    if (waiting || client.status !== 'ready') return;
    waiting = true;
    const missed = setTimeout(() => {
      waiting = false;
      client.emit('error', new Error(`no reply from the ${label} to a health-check PING within ${every} ms (healthCheckInterval): the connection is taken as lost`));
      // ioredis's own way (reconnect = true): ends the socket, destroys it after its disconnectTimeout (2 s),
      // then reconnects with its back-off and resends what was unanswered. (Destroying the socket at once
      // noticed sooner, but in the partition test ioredis then lost a command: a publish that never settled.)
      client.disconnect(true);
    }, every);
    missed.unref();
    const answered = (): void => {
      clearTimeout(missed);
      waiting = false;
    };
    client.ping().then(answered, answered);
  }, every);
  timer.unref();
  client.once('end', () => clearInterval(timer));
}

/** Closes a connection: QUIT when it is up (pending replies still arrive), else drop it. */
export async function quit(client: Redis): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}
