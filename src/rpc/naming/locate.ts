/**
 * Finding a name server as Pyro4's locateNS does, with broadcast discovery when asked: a given host is asked
 * directly; without a host, localhost is tried first, then (with `broadcast`) the local segment over UDP.
 * Resolves with a connected, typed proxy for 'Pyro.NameServer' (celeriac's or Python Pyro4's).
 */
import { NamingError } from '../../errors.js';
import { NAMESERVER_NAME, NS_PORT, proxy, type NameServerApi, type ProxyOptions, type Remote } from '../objects/index.js';
import { discoverNameServer, type DiscoverOptions } from './broadcast.js';

export interface LocateNameServerOptions extends ProxyOptions {
  /** Ask this host only (no broadcast). */
  host?: string;
  /** TCP port of the name server (default 9090). */
  port?: number;
  /** Without a host: after localhost, ask the local segment (UDP 9091 unless `broadcast.port`). Default false. */
  broadcast?: boolean | DiscoverOptions;
}

export async function locateNameServer(options: LocateNameServerOptions = {}): Promise<Remote<NameServerApi>> {
  const { host, port = NS_PORT, broadcast = false, ...proxyOptions } = options;
  const tried: string[] = [];
  const attempt = async (uri: string): Promise<Remote<NameServerApi> | undefined> => {
    const ns = proxy<NameServerApi>(uri, proxyOptions);
    try {
      await ns._pyroBind();
      return ns;
    } catch (err) {
      ns._pyroRelease();
      tried.push(`${uri} (${(err as Error).message})`);
      return undefined;
    }
  };
  const direct = (h: string): string => `PYRO:${NAMESERVER_NAME}@${h.includes(':') ? `[${h}]` : h}:${port}`;
  const found = (await attempt(direct(host ?? '127.0.0.1'))) ?? (!host && broadcast ? await viaBroadcast() : undefined);
  if (found) return found;
  throw new NamingError(
    `Failed to locate the nameserver: tried ${tried.join('; ') || 'nothing'}. Start one with 'celeriac ns' (or 'python3 -m Pyro4.naming'), or give its host and port${host || broadcast ? '' : ' (or ask for broadcast discovery)'}`,
  );

  async function viaBroadcast(): Promise<Remote<NameServerApi> | undefined> {
    try {
      const uri = await discoverNameServer(typeof broadcast === 'object' ? broadcast : {});
      return await attempt(uri);
    } catch (err) {
      tried.push(`broadcast (${(err as Error).message})`);
      return undefined;
    }
  }
}
