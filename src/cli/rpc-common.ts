/**
 * What the RPC sub-commands share: listen addresses (`:4242`), a module's exported functions as one
 * endpoint (zerorpc's `zerorpc --server module`), driver options from flags (secret, TLS), JSON arguments.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { docsFromSource, type RpcDriverOptions } from '../index.js';
import { UsageError } from './usage.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** `:4242`, `0.0.0.0:4242`, `tcp://host:4242` → `scheme://host:port`; a bare port binds 127.0.0.1. */
export function listenUrl(flag: string, text: string, scheme: string): string {
  const m = new RegExp(`^(?:${scheme}://)?(\\[[^\\]]+\\]|[^:/]*)?:(\\d+)/?(.*)$`).exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`${flag} expects [host]:port, e.g. ${flag} :4242 (127.0.0.1) or ${flag} 0.0.0.0:4242 (every interface); got ${JSON.stringify(text)}`);
  }
  const host = m[1] ? m[1] : '127.0.0.1';
  return `${scheme}://${host}:${port}/${m[3] ?? ''}`;
}

/** The system error code (EADDRINUSE, ...) of an error or of one of its causes. */
function systemCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && !code.startsWith('E_')) return code;
  }
  return undefined;
}

/** A listen failure the user can fix with another address (in use, not here, not allowed) as a UsageError (exit 2). */
export function listenError(url: string, err: unknown): unknown {
  const code = systemCode(err);
  if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') return new UsageError(`cannot listen on ${url} (${code}): choose another port or address`);
  return err;
}

export function isLoopback(url: string): boolean {
  return LOOPBACK.has(new URL(url).hostname);
}

export interface SecurityFlags {
  secret?: string;
  secretFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsRequestCert?: boolean;
  insecure?: boolean;
}

function readFlagFile(flag: string, path: string): Buffer {
  if (!existsSync(path)) throw new UsageError(`${flag}: no such file '${path}'`);
  return readFileSync(path);
}

/** Driver options from --secret / --secret-file / --tls-* flags (CELERIAC_RPC_SECRET when no flag). */
export function driverOptions(flags: SecurityFlags): RpcDriverOptions {
  const options: RpcDriverOptions = {};
  if (flags.secret !== undefined && flags.secretFile !== undefined) throw new UsageError('give --secret or --secret-file, not both');
  const secret = flags.secretFile !== undefined ? readFlagFile('--secret-file', flags.secretFile).toString('utf8').trim() : (flags.secret ?? process.env['CELERIAC_RPC_SECRET']);
  if (secret !== undefined) {
    if (secret === '') throw new UsageError('--secret must not be empty');
    options.secret = secret;
  }
  const tls: NonNullable<RpcDriverOptions['tls']> = {};
  if (flags.tlsCert !== undefined) tls.cert = readFlagFile('--tls-cert', flags.tlsCert);
  if (flags.tlsKey !== undefined) tls.key = readFlagFile('--tls-key', flags.tlsKey);
  if (flags.tlsCa !== undefined) tls.ca = readFlagFile('--tls-ca', flags.tlsCa);
  if (flags.tlsRequestCert) tls.requestCert = true;
  if (flags.insecure) tls.rejectUnauthorized = false;
  if (Object.keys(tls).length > 0) options.tls = tls;
  return options;
}

/** Adds the --secret and --tls-* options to a command. */
export function securityOptions<C extends { option(flags: string, description: string): C }>(command: C, side: 'server' | 'client'): C {
  command
    .option('--secret <text>', 'shared secret: both ends prove they know it (HMAC challenge), every other peer is refused (default: CELERIAC_RPC_SECRET)')
    .option('--secret-file <path>', 'read the shared secret from a file')
    .option('--tls-cert <path>', side === 'server' ? "the server's certificate (PEM)" : 'a client certificate (PEM), for servers that ask for one')
    .option('--tls-key <path>', 'the private key of --tls-cert (PEM)')
    .option('--tls-ca <path>', side === 'server' ? 'CA certificates that client certificates must verify against' : "CA certificates to trust for the server's certificate");
  if (side === 'server') command.option('--tls-request-cert', 'require a client certificate that verifies against --tls-ca');
  else command.option('--insecure', "do not verify the server's certificate (testing only)");
  return command;
}

/** A module's exported functions as one endpoint, with doc lines from its JSDoc (`celeriac serve ./module.ts`). */
export async function loadEndpointModule(spec: string): Promise<{ endpoint: Record<string, (...args: unknown[]) => unknown>; docs: Map<string, string>; path: string }> {
  const path = resolve(spec);
  if (!existsSync(path)) throw new UsageError(`no such module '${path}': give the path of a module whose exported functions to serve, e.g. ./service.ts`);
  if (/\.[mc]?tsx?$/.test(path)) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const endpoint: Record<string, (...args: unknown[]) => unknown> = {};
  const add = (name: string, value: unknown, self: unknown): void => {
    if (typeof value !== 'function' || name.startsWith('_') || /^class[\s{]/.test(Function.prototype.toString.call(value))) return;
    endpoint[name] = (value as (...args: unknown[]) => unknown).bind(self);
  };
  for (const [name, value] of Object.entries(mod)) if (name !== 'default') add(name, value, mod);
  const fallback = mod['default'];
  if (typeof fallback === 'object' && fallback !== null) for (const [name, value] of Object.entries(fallback)) if (!(name in endpoint)) add(name, value, fallback);
  if (Object.keys(endpoint).length === 0) {
    throw new UsageError(`${spec} exports no functions to serve (it exports: ${Object.keys(mod).join(', ') || 'nothing'}). Export them: export function add({ x, y }) { return x + y }`);
  }
  return { endpoint, docs: docsFromSource(readFileSync(path, 'utf8')), path };
}

/** Parses the JSON arguments of `rpc call`: an object (by name) or a list (by position); none means `{}`. */
export function parseArgs(text: string | undefined): Record<string, unknown> | unknown[] {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the arguments must be JSON: an object of named arguments ('{"x": 1, "y": 2}') or a list of positional ones ('[1, 2]'); ${(err as Error).message} in ${JSON.stringify(text)}`);
  }
  if (typeof value !== 'object' || value === null) {
    throw new UsageError(`the arguments must be a JSON object ('{"x": 1}') or list ('[1, 2]'); got ${text}. A single value goes in a list: '[${text}]'`);
  }
  return value as Record<string, unknown> | unknown[];
}
