/**
 * The client end of a Pyro connection (what Pyro4's Proxy does on the wire): resolves PYRONAME through a name
 * server, connects with the handshake (metadata piggybacked), sends invokes with sequence numbers (several may
 * be in flight: replies are matched by seq), streams remote iterators, reconnects lazily after the daemon is gone.
 */
import { NamingError, NoSuchMethodError, PyroProtocolError, RemoteError, RpcAuthError, RpcConnectionError, RpcTimeoutError, type RpcError } from '../../errors.js';
import { sleep } from '../../util/sleep.js';
import type { RpcTlsOptions } from '../types.js';
import { DEFAULT_MAX_MESSAGE_SIZE, decompressed, maybeCompress, openSocket, PyroConnection, type Endpoint } from './connection.js';
import { connectFailReason } from './refusal.js';
import { SERIALIZERS, type PyroSerializer, type WireHooks } from './serializers.js';
import { RemoteIterator } from './iterator.js';
import { NAMESERVER_NAME, NS_PORT, PyroURI } from './uri.js';
import { FLAG, MSG, type PyroMessage } from './wire.js';

export interface ProxyOptions {
  /** Pyro4's HMAC key (`_pyroHmacKey`): every message is signed and checked; the daemon must have the same. */
  secret?: string | Buffer;
  /** Connect with TLS (Pyro4's SSL config): `ca` to trust the daemon, `cert`/`key` for a client certificate. */
  tls?: RpcTlsOptions;
  /** 'json' (default) or 'msgpack'. */
  serializer?: 'json' | 'msgpack';
  /** ms a call (and the connect) may take before RpcTimeoutError (Pyro4's COMMTIMEOUT); default none. */
  timeout?: number;
  /** Times a call is sent again after a lost connection or a timeout (Pyro4's MAX_RETRIES, default 0). */
  maxRetries?: number;
  /** Ask for the object's metadata on connect and check names locally (Pyro4's METADATA, default true). */
  metadata?: boolean;
  /** The handshake data sent on connect (default 'hello'). */
  handshake?: unknown;
  maxMessageSize?: number;
  /** zlib-compress requests over 200 bytes (Pyro4's COMPRESSION). */
  compression?: boolean;
  /** Where PYRONAME URIs without a location find the name server (default localhost:9090). */
  nameServer?: { host?: string; port?: number };
}

export interface CoreEnv {
  /** How this proxy's values are (de)serialized: registered objects and proxies as Proxy dicts. */
  hooks(core: ProxyCore): WireHooks;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  serializerId: number;
}

export interface Metadata {
  methods: Set<string>;
  oneway: Set<string>;
  attrs: Set<string>;
}

const PING_SERIALIZER = 42;

export class ProxyCore {
  readonly uri: PyroURI;
  meta: Metadata | undefined;
  /** The PYRO URI of the current connection (a PYRONAME resolved). */
  bound: PyroURI | undefined;
  /** Proxies that arrived in results of this one, by URI (one connection each; released with it). */
  readonly children = new Map<string, ProxyCore>();
  readonly serializer: PyroSerializer;
  readonly hmacKey: Buffer | undefined;
  private conn: PyroConnection | undefined;
  private connecting: Promise<PyroConnection> | undefined;
  private handshake: { resolve(m: PyroMessage): void; reject(e: Error): void } | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly abandoned = new Set<number>();
  private readonly hooks: WireHooks;

  constructor(uri: string | PyroURI, readonly options: ProxyOptions, env: CoreEnv) {
    this.uri = new PyroURI(uri);
    this.serializer = SERIALIZERS[options.serializer ?? 'json'];
    if (!this.serializer) throw new PyroProtocolError(`serializer '${String(options.serializer)}' is not available: use 'json' or 'msgpack' (pickle, serpent, marshal and dill are refused)`);
    this.hmacKey = options.secret === undefined ? undefined : Buffer.from(options.secret);
    this.hooks = env.hooks(this);
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  /** Connects (resolving PYRONAME first) and does the handshake; shared by concurrent callers. */
  connect(): Promise<PyroConnection> {
    if (this.conn) return Promise.resolve(this.conn);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<PyroConnection> {
    const target = this.uri.protocol === 'PYRO' ? this.uri : await this.lookup();
    const endpoint: Endpoint = target.sockname ? { path: target.sockname } : { host: target.host ?? 'localhost', port: target.port ?? 0 };
    const socket = await openSocket(endpoint, this.options.tls, this.options.timeout);
    const conn = new PyroConnection(socket, { maxMessageSize: this.options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE, hmacKey: this.hmacKey }, {
      onMessage: (m, authError) => this.onMessage(conn, m, authError),
      onClose: (err) => this.onClose(conn, err),
    });
    const where = target.toString();
    const reply = new Promise<PyroMessage>((resolve, reject) => {
      this.handshake = { resolve, reject };
    });
    const timer = this.options.timeout ? setTimeout(() => conn.close(new RpcTimeoutError(`no handshake reply from ${where} within ${String(this.options.timeout)} ms`)), this.options.timeout) : undefined;
    try {
      const useMeta = this.options.metadata !== false;
      const body = this.serializer.dumps({ handshake: this.options.handshake ?? 'hello', ...(useMeta ? { object: target.object } : {}) }, this.hooks);
      conn.send({ type: MSG.CONNECT, flags: useMeta ? FLAG.META_ON_CONNECT : 0, seq: this.seq, serializerId: this.serializer.id, annotations: new Map(), data: body });
      const m = await reply;
      const data = decompressed(m, this.options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
      if (m.type === MSG.CONNECTFAIL) {
        const reason = connectFailReason(m.serializerId, data);
        const Err = /hmac/i.test(reason) ? RpcAuthError : PyroProtocolError;
        throw new Err(`connection to ${where} rejected: ${reason}`);
      }
      if (m.type !== MSG.CONNECTOK) throw new PyroProtocolError(`cannot connect to ${where}: invalid message type ${m.type} received`);
      const answer = this.serializer.loads(data, this.hooks) as { meta?: Record<string, unknown> } | undefined;
      if (m.flags & FLAG.META_ON_CONNECT && answer?.meta) this.meta = parseMeta(answer.meta);
    } catch (err) {
      conn.close();
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      this.handshake = undefined;
    }
    this.bound = target;
    this.conn = conn;
    socket.unref();
    return conn;
  }

  /** PYRONAME / PYROMETA: asks the name server (Pyro.NameServer on the URI's location) for the PYRO URI. */
  private async lookup(): Promise<PyroURI> {
    const host = this.uri.host ?? this.options.nameServer?.host ?? 'localhost';
    const port = this.uri.port ?? this.options.nameServer?.port ?? NS_PORT;
    const ns = new ProxyCore(`PYRO:${NAMESERVER_NAME}@${host.includes(':') ? `[${host}]` : host}:${port}`, { ...this.options, metadata: false }, { hooks: () => this.hooks });
    try {
      let found: unknown;
      if (this.uri.protocol === 'PYROMETA') {
        const all = (await ns.invoke('list', [], { metadata_all: this.uri.object.split(',').map((s) => s.trim()) })) as Record<string, unknown>;
        const candidates = Object.values(all ?? {});
        if (candidates.length === 0) throw new NamingError(`no registrations available with desired metadata properties ${this.uri.object}`);
        found = candidates[Math.floor(Math.random() * candidates.length)];
      } else found = await ns.invoke('lookup', [this.uri.object], {});
      return new PyroURI(found instanceof PyroURI ? found : String(found));
    } catch (err) {
      // As Pyro4: a name server that is not there, or that does not know the name, is a NamingError.
      if (err instanceof RpcConnectionError) throw new NamingError(`failed to locate the name server at ${host}:${port} to resolve ${this.uri.toString()}: ${err.message}`, { cause: err });
      if (err instanceof RemoteError && err.remoteType === 'NamingError') throw new NamingError(`${this.uri.toString()}: ${err.message.replace(/^NamingError: /, '')}`, { cause: err });
      throw err;
    } finally {
      ns.release();
    }
  }

  private onMessage(conn: PyroConnection, m: PyroMessage, authError: RpcAuthError | undefined): void {
    if (this.handshake) {
      if (authError && m.type !== MSG.CONNECTFAIL) return conn.close(authError);
      return this.handshake.resolve(m);
    }
    if (authError) return conn.close(authError);
    const p = this.pending.get(m.seq);
    if (!p) {
      if (this.abandoned.delete(m.seq)) return;
      return conn.close(new PyroProtocolError(`reply out of sequence from ${conn.peer}: seq ${m.seq} was not asked for`));
    }
    this.pending.delete(m.seq);
    if (p.timer) clearTimeout(p.timer);
    if (this.pending.size === 0) conn.socket.unref();
    if (m.type === MSG.PING) return p.resolve(undefined);
    if (m.type !== MSG.RESULT) return p.reject(new PyroProtocolError(`invalid message type ${m.type} in reply to a call`));
    if (m.serializerId !== p.serializerId) return p.reject(new PyroProtocolError(`invalid serializer in response: ${m.serializerId}`));
    try {
      const value = this.serializer.loads(decompressed(m, this.options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE), this.hooks);
      if (m.flags & FLAG.ITEMSTREAMRESULT) {
        const id = m.annotations.get('STRM')?.toString();
        if (!id) return p.reject(new PyroProtocolError('result of call is an iterator, but the server is not configured to allow streaming'));
        return p.resolve(new RemoteIterator(this, id));
      }
      if (m.flags & FLAG.EXCEPTION) return p.reject(value instanceof Error ? value : new RemoteError({ type: 'Exception', message: String(value) }));
      p.resolve(value);
    } catch (err) {
      p.reject(err as Error);
    }
  }

  private onClose(conn: PyroConnection, err: Error | undefined): void {
    if (this.conn === conn) this.conn = undefined;
    const why = err instanceof RpcAuthError || err instanceof PyroProtocolError || err instanceof RpcTimeoutError ? err : new RpcConnectionError(`connection to ${this.bound?.toString() ?? this.uri.toString()} lost${err ? `: ${err.message}` : ''}`, { cause: err });
    this.handshake?.reject(why);
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(why);
    }
    this.pending.clear();
    this.abandoned.clear();
  }

  /** Sends one invoke (objectId defaults to the URI's object) and waits for its result (not for oneway). */
  async invoke(method: string, params: unknown[], kwargs: Record<string, unknown>, opts: { objectId?: string; flags?: number } = {}): Promise<unknown> {
    const conn = this.conn ?? (await this.connect());
    const flags0 = opts.flags ?? 0;
    const body = this.serializer.dumpsCall({ objectId: opts.objectId ?? (this.bound as PyroURI).object, method, params, kwargs }, this.hooks);
    const { data, flags } = maybeCompress(body, this.options.compression ?? false);
    do this.seq = (this.seq + 1) & 0xffff;
    while (this.pending.has(this.seq) || this.abandoned.has(this.seq));
    const msg: PyroMessage = { type: MSG.INVOKE, flags: flags0 | flags, seq: this.seq, serializerId: this.serializer.id, annotations: new Map(), data };
    if (flags0 & FLAG.ONEWAY) return conn.send(msg);
    return this.await(conn, msg, method);
  }

  /** A ping message (Pyro4's Message.ping): proves the daemon answers on this connection. */
  async ping(): Promise<void> {
    const conn = this.conn ?? (await this.connect());
    do this.seq = (this.seq + 1) & 0xffff;
    while (this.pending.has(this.seq) || this.abandoned.has(this.seq));
    await this.await(conn, { type: MSG.PING, flags: 0, seq: this.seq, serializerId: PING_SERIALIZER, annotations: new Map(), data: Buffer.from('ping') }, 'ping');
  }

  private await(conn: PyroConnection, msg: PyroMessage, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const seq = msg.seq;
      const t = this.options.timeout;
      const timer = t
        ? setTimeout(() => {
            this.pending.delete(seq);
            this.abandoned.add(seq);
            reject(new RpcTimeoutError(`${what} on ${this.bound?.toString() ?? this.uri.toString()} got no reply within ${t} ms`));
          }, t)
        : undefined;
      if (this.pending.size === 0) conn.socket.ref();
      this.pending.set(seq, { resolve, reject, timer, serializerId: msg.serializerId });
      conn.send(msg);
    });
  }

  /** A method call as a proxy makes it: local name check against the metadata, oneway flag, retries. */
  async call(method: string, params: unknown[], kwargs: Record<string, unknown> = {}): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.conn) await this.connect();
        const meta = this.meta;
        if (meta && !meta.methods.has(method)) throw this.missing(method, 'method');
        return await this.invoke(method, params, kwargs, { flags: meta?.oneway.has(method) ? FLAG.ONEWAY : 0 });
      } catch (err) {
        if (attempt < (this.options.maxRetries ?? 0) && (err instanceof RpcConnectionError || err instanceof RpcTimeoutError)) continue;
        if (err instanceof RemoteError) Error.captureStackTrace(err, ProxyCore.prototype.call);
        throw err;
      }
    }
  }

  missing(name: string, kind: 'method' | 'attribute'): RpcError {
    const what = kind === 'method' ? 'attribute or method' : 'attribute';
    return new NoSuchMethodError({ type: 'AttributeError', module: 'builtins', message: `remote object '${this.uri.toString()}' has no exposed ${what} '${name}'` });
  }

  async getAttr(name: string): Promise<unknown> {
    if (!this.conn) await this.connect();
    if (this.meta && !this.meta.attrs.has(name)) {
      if (this.meta.methods.has(name)) return (...args: unknown[]) => this.call(name, args);
      throw this.missing(name, 'attribute');
    }
    return this.invoke('__getattr__', [name], {});
  }

  async setAttr(name: string, value: unknown): Promise<void> {
    if (!this.conn) await this.connect();
    if (this.meta && !this.meta.attrs.has(name)) throw this.missing(name, 'attribute');
    await this.invoke('__setattr__', [name, value], {});
  }

  /** Closes the connection (calls in flight fail with RpcConnectionError); the next call connects again. */
  release(): void {
    this.conn?.close();
    this.conn = undefined;
    for (const c of this.children.values()) c.release();
    this.children.clear();
  }

  /** Releases, then tries to connect until it works (Pyro4's _pyroReconnect), `delay` ms apart. */
  async reconnect(tries = 100_000_000, delay = 500): Promise<void> {
    this.release();
    for (let left = tries; left > 0; left--) {
      try {
        await this.connect();
        return;
      } catch (err) {
        const down = err instanceof RpcConnectionError || (err instanceof NamingError && err.cause instanceof RpcConnectionError);
        if (!down || left <= 1) throw new RpcConnectionError(`failed to reconnect to ${this.uri.toString()}: ${(err as Error).message}`, { cause: err });
        await sleep(delay);
      }
    }
  }

  /** Pyro4's wire form of this proxy (`Pyro4.core.Proxy`); the HMAC key is never sent. */
  toDict(): Record<string, unknown> {
    const m = this.meta;
    const list = (s: Set<string> | undefined): string[] => (s ? [...s] : []);
    return {
      __class__: 'Pyro4.core.Proxy',
      state: [this.uri.toString(), list(m?.oneway), list(m?.methods), list(m?.attrs), (this.options.timeout ?? 0) / 1000, null, this.options.handshake ?? 'hello', this.options.maxRetries ?? 0, this.options.serializer ?? null],
    };
  }
}

export function parseMeta(meta: Record<string, unknown>): Metadata {
  const set = (v: unknown): Set<string> => new Set(Array.isArray(v) ? v.map(String) : []);
  return { methods: set(meta['methods']), oneway: set(meta['oneway']), attrs: set(meta['attrs']) };
}
