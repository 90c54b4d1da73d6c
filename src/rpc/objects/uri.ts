/**
 * Pyro URIs, as Pyro4 writes them: `PYRO:objectid@host:port`, `PYRO:objectid@./u:socketpath`,
 * `PYRONAME:name[@nshost[:nsport]]` and `PYROMETA:meta1,meta2[@nshost[:nsport]]` (resolved by a name server).
 * On the wire (json, msgpack) a URI is `{"__class__": "Pyro4.core.URI", "state": [protocol, object, sockname, host, port]}`.
 */
import { RpcError } from '../../errors.js';

/** Pyro4's default name server port (NS_PORT). */
export const NS_PORT = 9090;
/** The object id of every daemon's own object, and of the name server. */
export const DAEMON_NAME = 'Pyro.Daemon';
export const NAMESERVER_NAME = 'Pyro.NameServer';

export type UriProtocol = 'PYRO' | 'PYRONAME' | 'PYROMETA';
export type UriState = [protocol: string, object: string | string[], sockname: string | null, host: string | null, port: number | null];

const URI_RE = /^(?<protocol>[Pp][Yy][Rr][Oo][a-zA-Z]*):(?<object>\S+?)(@(?<location>.+))?$/;

export class PyroURI {
  readonly protocol: UriProtocol;
  /** The object id, the name to look up, or (PYROMETA) the metadata to match. */
  readonly object: string;
  readonly host: string | null;
  readonly port: number | null;
  /** Unix domain socket path (`./u:path`). */
  readonly sockname: string | null;

  constructor(uri: string | PyroURI) {
    if (uri instanceof PyroURI) {
      this.protocol = uri.protocol;
      this.object = uri.object;
      this.host = uri.host;
      this.port = uri.port;
      this.sockname = uri.sockname;
      return;
    }
    const m = URI_RE.exec(uri);
    if (!m?.groups) throw new RpcError(`invalid Pyro URI '${uri}': expected PYRO:objectid@host:port or PYRONAME:name[@host:port]`);
    const protocol = (m.groups['protocol'] ?? '').toUpperCase();
    if (protocol !== 'PYRO' && protocol !== 'PYRONAME' && protocol !== 'PYROMETA') {
      throw new RpcError(`invalid Pyro URI '${uri}': the protocol must be PYRO, PYRONAME or PYROMETA`);
    }
    this.protocol = protocol;
    this.object = m.groups['object'] ?? '';
    const location = m.groups['location'];
    if (protocol === 'PYRO' && !location) throw new RpcError(`invalid Pyro URI '${uri}': a PYRO URI needs @host:port`);
    const loc = parseLocation(location, protocol === 'PYRO' ? null : NS_PORT, uri);
    this.host = loc.host;
    this.port = loc.port;
    this.sockname = loc.sockname;
  }

  /** Builds a URI from its wire state (`Pyro4.core.URI` dict). */
  static fromState(state: unknown): PyroURI {
    if (!Array.isArray(state) || state.length < 5) throw new RpcError('a Pyro4.core.URI on the wire needs a 5-item state');
    const [protocol, object, sockname, host, port] = state as unknown[];
    const obj = Array.isArray(object) ? object.join(',') : String(object);
    const location = typeof sockname === 'string' && sockname ? `./u:${sockname}` : typeof host === 'string' && host ? hostPort(host, Number(port)) : '';
    return new PyroURI(`${String(protocol)}:${obj}${location ? `@${location}` : ''}`);
  }

  /** `host:port`, `[ipv6]:port` or `./u:path`; null for a PYRONAME without location. */
  get location(): string | null {
    if (this.host) return hostPort(this.host, this.port ?? 0);
    if (this.sockname) return `./u:${this.sockname}`;
    return null;
  }

  toString(): string {
    const loc = this.location;
    return `${this.protocol}:${this.object}${loc ? `@${loc}` : ''}`;
  }

  toJSON(): string {
    return this.toString();
  }

  /** Pyro4's state tuple (PYROMETA carries its metadata as a list). */
  state(): UriState {
    const object = this.protocol === 'PYROMETA' ? this.object.split(',').map((s) => s.trim()) : this.object;
    return [this.protocol, object, this.sockname, this.host, this.port];
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseLocation(location: string | undefined, defaultPort: number | null, uri: string): { host: string | null; port: number | null; sockname: string | null } {
  if (!location) return { host: null, port: null, sockname: null };
  if (location.startsWith('./u:')) {
    const sockname = location.slice(4);
    if (!sockname || sockname.includes(':')) throw new RpcError(`invalid Pyro URI '${uri}': bad unix socket location`);
    return { host: null, port: null, sockname };
  }
  let host: string;
  let portText: string;
  if (location.startsWith('[')) {
    const m = /^\[([0-9a-fA-F:%]+)](:(\d+))?$/.exec(location);
    if (!m) throw new RpcError(`invalid Pyro URI '${uri}': the part between brackets must be a numeric IPv6 address`);
    host = m[1] ?? '';
    portText = m[3] ?? '';
  } else {
    const i = location.indexOf(':');
    host = i < 0 ? location : location.slice(0, i);
    portText = i < 0 ? '' : location.slice(i + 1);
  }
  if (!portText) {
    if (defaultPort === null) throw new RpcError(`invalid Pyro URI '${uri}': a PYRO URI needs a port`);
    return { host, port: defaultPort, sockname: null };
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RpcError(`invalid port in Pyro URI '${uri}'`);
  return { host, port, sockname: null };
}
