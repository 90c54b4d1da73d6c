/**
 * A running name server: 'Pyro.NameServer' on a Pyro Daemon (Pyro4 4.82 wire), its storage, the optional UDP
 * broadcast responder, and write protection. Access rules:
 *   - `secret` is Pyro4's HMAC key of the name server's port: every client needs it (Pyro4: hmac_key=...).
 *   - `writeSecret`: remote register/remove/set_metadata on that port are refused; a second port (`writePort`)
 *     serves the same registry with writes allowed, and its HMAC key is the write secret. A Pyro4 client with
 *     the plain key reads on the main port; a writer connects to the write port with hmac_key=<write secret>
 *     (the secret never crosses the wire: Pyro4's HMAC signs every message both ways).
 *   - `readOnly`: every remote write is refused and there is no write port (the storage is filled by the process
 *     itself, or by another name server on the same SQLite file); it does not register itself.
 */
import { NamingError } from '../../errors.js';
import type { RpcTlsOptions } from '../types.js';
import { Daemon, NAMESERVER_NAME, NS_PORT } from '../objects/index.js';
import { BROADCAST_PORT, startBroadcastResponder, type BroadcastResponder } from './broadcast.js';
import { NameServerObject, registerSelf } from './nameserver.js';
import { NameRegistry } from './registry.js';
import { openNameStorage } from './sqlite-storage.js';
import type { NameStorage } from './storage.js';

export interface NameServerOptions {
  /** Interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface). */
  host?: string;
  /** TCP port (default 9090, Pyro4's NS_PORT; 0 picks a free one). */
  port?: number;
  /** 'memory' (default), 'sqlite:PATH' (Pyro4's 'sql:PATH' too), or a storage object. */
  storage?: string | NameStorage;
  /** Pyro4's HMAC key on the name server's port (every client must use it). */
  secret?: string | Buffer;
  /** Refuse remote writes on the main port; serve them on `writePort`, whose HMAC key is this secret. */
  writeSecret?: string | Buffer;
  /** TCP port of the writers' daemon (default 0: a free port, see `writeUri`). Needs `writeSecret`. */
  writePort?: number;
  /** Refuse every remote write; no write port. */
  readOnly?: boolean;
  /** Answer Pyro4's UDP discovery (GET_NSURI); true = port 9091 on every interface (127.0.0.1 for a loopback host). */
  broadcast?: boolean | { host?: string; port?: number };
  /** TLS for both ports (Pyro4's SSL). */
  tls?: RpcTlsOptions;
  /** Serializers accepted (default json and msgpack). */
  serializers?: ('json' | 'msgpack')[];
  /** Told about refused connections and bad frames. */
  onError?: (err: Error, info: { peer: string }) => void;
}

export interface RunningNameServer {
  /** `PYRO:Pyro.NameServer@host:port`. */
  readonly uri: string;
  /** The writers' URI (with `writeSecret`). */
  readonly writeUri: string | undefined;
  readonly registry: NameRegistry;
  /** The bound broadcast responder (with `broadcast`). */
  readonly broadcast: { host: string; port: number } | undefined;
  /** Stops the daemons and the responder, closes the storage. */
  close(): Promise<void>;
}

/** Starts a name server. Rejects with NamingError on bad options, or with the listen error (EADDRINUSE...). */
export async function startNameServer(options: NameServerOptions = {}): Promise<RunningNameServer> {
  if (options.readOnly && options.writeSecret !== undefined) throw new NamingError('a read-only name server takes no write secret: choose readOnly or writeSecret');
  if (options.writePort !== undefined && options.writeSecret === undefined) throw new NamingError('writePort needs writeSecret (the HMAC key of the writers\' port)');
  if (options.writeSecret !== undefined && Buffer.from(options.writeSecret).length === 0) throw new NamingError('the write secret must not be empty');
  const host = options.host ?? '127.0.0.1';
  const storage = typeof options.storage === 'object' ? options.storage : openNameStorage(options.storage);
  const registry = new NameRegistry(storage);
  const common = {
    host,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.serializers ? { serializers: options.serializers } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  };
  const started: Array<{ close(): Promise<void> }> = [];
  const closeAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    registry.close();
  };
  try {
    const refusal = options.readOnly
      ? 'this name server is read-only'
      : options.writeSecret !== undefined
        ? 'this name server is write-protected: connect to its write port with the write secret as HMAC key'
        : undefined;
    const main = new Daemon({ ...common, port: options.port ?? NS_PORT, ...(options.secret !== undefined ? { secret: options.secret } : {}) });
    started.push(main);
    const uri = await main.register(new NameServerObject(registry, refusal), NAMESERVER_NAME);
    let writeUri: string | undefined;
    if (options.writeSecret !== undefined) {
      const writer = new Daemon({ ...common, port: options.writePort ?? 0, secret: options.writeSecret });
      started.push(writer);
      writeUri = await writer.register(new NameServerObject(registry), NAMESERVER_NAME);
    }
    if (!options.readOnly) registerSelf(registry, uri);
    let responder: BroadcastResponder | undefined;
    if (options.broadcast) {
      const bc = typeof options.broadcast === 'object' ? options.broadcast : {};
      const loopback = /^(127\.|localhost$)/.test(host);
      responder = await startBroadcastResponder({ uri, port: bc.port ?? BROADCAST_PORT, host: bc.host ?? (loopback ? '127.0.0.1' : '') });
      started.push(responder);
    }
    let closing: Promise<void> | undefined;
    return {
      uri,
      writeUri,
      registry,
      broadcast: responder?.address,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
