/**
 * amqp:// and amqps:// URLs as kombu reads them (`amqp://user:pass@host:5672//` is the vhost '/'), and the
 * errors RabbitMQ answers with, reworded to name the vhost, the user and the permission that is missing.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ConfigError, TransportError } from '../../errors.js';
import { maskUrl, urlQuery } from '../../util/url.js';

export interface AmqpEndpoint {
  protocol: 'amqp' | 'amqps';
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  heartbeat: number;
  /** TLS socket options (amqps:// only). */
  tls: Record<string, unknown>;
}

type Lookup = (camel: string, snake: string) => unknown;

function readPem(url: string, what: string, path: unknown): Buffer | undefined {
  if (path === undefined || path === null || path === '') return undefined;
  try {
    return readFileSync(String(path));
  } catch (cause) {
    throw new ConfigError(`'${maskUrl(url)}': cannot read ${what} file ${String(path)}: ${(cause as Error).message}`, { cause });
  }
}

/** Parses `amqp[s]://[user[:password]@]host[:port][/vhost]`; an empty path or '//' is the vhost '/'. */
export function parseAmqpUrl(url: string, option: Lookup): AmqpEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ConfigError(`'${maskUrl(url)}' is not a valid AMQP URL: use amqp://user:password@host:5672/vhost`, { cause });
  }
  const protocol = parsed.protocol === 'amqps:' ? 'amqps' : 'amqp';
  const path = parsed.pathname.replace(/^\//, '');
  const vhost = path === '' || path === '/' ? '/' : decodeURIComponent(path);
  const heartbeat = Number(option('heartbeat', 'heartbeat') ?? 60);
  if (!Number.isFinite(heartbeat) || heartbeat < 0) throw new ConfigError(`'${maskUrl(url)}': heartbeat must be a number of seconds (0 turns heartbeats off)`);
  const tls: Record<string, unknown> = {};
  if (protocol === 'amqps') {
    const reqs = String(option('sslCertReqs', 'ssl_cert_reqs') ?? 'required').toLowerCase();
    tls['rejectUnauthorized'] = reqs !== 'none' && reqs !== 'cert_none';
    const ca = readPem(url, 'CA', option('sslCaCerts', 'ssl_ca_certs'));
    const cert = readPem(url, 'certificate', option('sslCertfile', 'ssl_certfile'));
    const key = readPem(url, 'key', option('sslKeyfile', 'ssl_keyfile'));
    if (ca) tls['ca'] = [ca];
    if (cert) tls['cert'] = cert;
    if (key) tls['key'] = key;
    if (!isIP(parsed.hostname.replace(/^\[(.*)\]$/, '$1'))) tls['servername'] = parsed.hostname;
  }
  return {
    protocol,
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: Number(parsed.port || (protocol === 'amqps' ? 5671 : 5672)),
    username: parsed.username ? decodeURIComponent(parsed.username) : 'guest',
    password: parsed.password ? decodeURIComponent(parsed.password) : 'guest',
    vhost,
    heartbeat,
    tls,
  };
}

/**
 * Options from the query string (kombu's snake_case) or `brokerOptions` (camelCase). The query string wins: it
 * names this broker's options, over `brokerOptions` and the app's settings (maxMessageSize).
 */
export function optionLookup(url: string, options: Record<string, unknown>): Lookup {
  const query = urlQuery(url);
  return (camel, snake) => query[snake] ?? query[camel] ?? options[camel];
}

/** Which AMQP permission an operation needs: RabbitMQ's configure / write / read. */
export type Permission = 'configure' | 'write' | 'read';

/** The reply code RabbitMQ closed a channel or connection with, when the error carries one. */
export function replyCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * A TransportError for a failed broker operation, naming what to do. `what` says what was attempted
 * ("declare queue 'x'"), `permission` which right it needs.
 */
export function amqpError(endpoint: AmqpEndpoint, url: string, what: string, error: unknown, permission?: Permission): TransportError {
  const raw = error instanceof Error ? error.message : String(error);
  const code = replyCode(error);
  const where = `vhost '${endpoint.vhost}' of ${maskUrl(url)}`;
  if (code === 403 || /ACCESS[_-]REFUSED/.test(raw)) {
    if (/Login was refused/i.test(raw)) {
      return new TransportError(`RabbitMQ refused the login of user '${endpoint.username}' at ${maskUrl(url)}: check the user name and password in the broker URL`, { cause: error });
    }
    const right = permission ?? 'configure, write or read';
    return new TransportError(
      `RabbitMQ refused to ${what}: user '${endpoint.username}' lacks the ${right} permission on ${where}. ` +
        `Grant it, e.g. rabbitmqctl set_permissions -p '${endpoint.vhost}' '${endpoint.username}' '.*' '.*' '.*' (${raw})`,
      { cause: error },
    );
  }
  // RabbitMQ answers connection.open for a vhost the user may not use with connection.close 530, which
  // amqplib reports only as "Expected ConnectionOpenOk; got <ConnectionClose ...>".
  if (code === 530 || /NOT[_-]ALLOWED|Expected ConnectionOpenOk; got <ConnectionClose/.test(raw)) {
    return new TransportError(
      `RabbitMQ refused user '${endpoint.username}' access to ${where} (no permissions there, or the vhost does not exist). ` +
        `Create it with rabbitmqctl add_vhost '${endpoint.vhost}' and grant access with rabbitmqctl set_permissions -p '${endpoint.vhost}' '${endpoint.username}' '.*' '.*' '.*' (${raw})`,
      { cause: error },
    );
  }
  if (code === 406 || /PRECONDITION[_-]FAILED/.test(raw)) {
    return new TransportError(`cannot ${what} on ${where}: it exists with other settings (${raw}). Declare it with the same durable, auto_delete and x- arguments, or delete it first`, { cause: error });
  }
  if (code === 404 || /NOT[_-]FOUND/.test(raw)) {
    return new TransportError(`cannot ${what} on ${where}: ${raw}. Declare it first`, { cause: error });
  }
  if (/certificate required|alert bad certificate|alert unknown ca|alert handshake failure/i.test(raw)) {
    return new TransportError(`RabbitMQ at ${maskUrl(url)} refused this client's TLS certificate (${raw}): it asks clients for one; give ssl_certfile and ssl_keyfile, signed by a CA the server trusts`, { cause: error });
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(raw)) {
    return new TransportError(`cannot reach RabbitMQ at ${maskUrl(url)} (${raw}): is it running and listening there? (rabbitmq-server -detached starts it)`, { cause: error });
  }
  return new TransportError(`cannot ${what} on ${where}: ${raw}`, { cause: error });
}
