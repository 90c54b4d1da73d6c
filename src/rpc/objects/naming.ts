/**
 * The client side of Pyro4's name server: `locateNS()` gives a typed proxy for `Pyro.NameServer` (host:port,
 * default localhost:9090; no broadcast discovery), and `resolve()` turns PYRONAME / PYROMETA URIs into PYRO ones.
 * The name server itself is an ordinary object registered with a Daemon under NAMESERVER_NAME.
 */
import type { ProxyOptions } from './proxy.js';
import { coreOf, proxy, type Remote } from './remote.js';
import { NAMESERVER_NAME, NS_PORT, PyroURI } from './uri.js';

/** Pyro4's NameServer methods (Pyro4.naming.NameServer), as a celeriac name server must expose them. */
export interface NameServerApi {
  lookup(name: string, return_metadata?: boolean): PyroURI | [PyroURI, string[]];
  register(name: string, uri: string | PyroURI, safe?: boolean, metadata?: string[] | null): void;
  remove(name?: string | null, prefix?: string | null, regex?: string | null): number;
  list(prefix?: string | null, regex?: string | null, metadata_all?: string[] | null, metadata_any?: string[] | null, return_metadata?: boolean): Record<string, unknown>;
  set_metadata(name: string, metadata: string[]): void;
  count(): number;
  ping(): void;
}

export interface LocateOptions extends ProxyOptions {
  host?: string;
  port?: number;
}

/** A proxy for the name server at host:port (Pyro4's locateNS without broadcast). */
export function locateNS<T = NameServerApi>(options: LocateOptions = {}): Remote<T> {
  const { host = options.nameServer?.host ?? 'localhost', port = options.nameServer?.port ?? NS_PORT, ...rest } = options;
  return proxy<T>(`PYRO:${NAMESERVER_NAME}@${host.includes(':') ? `[${host}]` : host}:${port}`, rest);
}

/** PYRONAME:name / PYROMETA:meta to the PYRO URI the name server has for it (a PYRO URI is returned as is). */
export async function resolve(uri: string | PyroURI, options: ProxyOptions = {}): Promise<PyroURI> {
  const u = new PyroURI(uri);
  if (u.protocol === 'PYRO') return u;
  const p = proxy(u, options);
  try {
    await p._pyroBind();
    return coreOf(p)?.bound ?? u;
  } finally {
    p._pyroRelease();
  }
}
