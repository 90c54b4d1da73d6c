/**
 * The Pyro daemon: listens (TCP, TLS or a unix socket), does Pyro4's connect handshake, dispatches invokes to
 * registered objects and answers as Pyro4 4.82 does, so Python Pyro4 proxies and celeriac proxies both use it.
 * Bad input (a lying header, an unknown or refused serializer, a wrong HMAC) gets a clear error reply or a
 * closed connection; every other client keeps being served.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { FrameError, RpcError, type RpcAuthError } from '../../errors.js';
import type { RpcTlsOptions } from '../types.js';
import { DEFAULT_MAX_MESSAGE_SIZE, decompressed, listen, maybeCompress, PyroConnection } from './connection.js';
import { Dispatcher, type Session } from './dispatch.js';
import { PythonException } from './exceptions.js';
import { REGISTRATION } from './members.js';
import { ProxyCore, type ProxyOptions } from './proxy.js';
import { refusalException, refusalText } from './refusal.js';
import { coreEnv, makeRemote, wireHooks, type Remote } from './remote.js';
import { SERIALIZERS, serializerById, type PyroCall, type PyroSerializer, type WireHooks } from './serializers.js';
import { StreamTable } from './streams.js';
import { DAEMON_NAME } from './uri.js';
import { FLAG, MSG, serializerName, type PyroMessage } from './wire.js';

export interface DaemonOptions {
  /** Interface to listen on (default 'localhost', as Pyro4's HOST). */
  host?: string;
  /** Port (default 0: any free port; the URIs carry the real one). */
  port?: number;
  /** Listen on a unix domain socket instead (URIs read `PYRO:id@./u:<path>`). */
  unixSocket?: string;
  /** The address clients reach when it differs (Pyro4's NATHOST / NATPORT). */
  nat?: { host: string; port: number };
  /** Pyro4's HMAC key: messages without it, or signed with another, are refused. */
  secret?: string | Buffer;
  /** Serve TLS (Pyro4's SSL): `cert`/`key`; `requestCert` + `ca` to require client certificates (SSL_REQUIRECLIENTCERT). */
  tls?: RpcTlsOptions;
  /** Serializers accepted (default json and msgpack; pickle, serpent, marshal and dill are always refused). */
  serializers?: ('json' | 'msgpack')[];
  maxMessageSize?: number;
  /** zlib-compress replies over 200 bytes (Pyro4's COMPRESSION). */
  compression?: boolean;
  /** ms a client's remote iterators outlive its connection (Pyro4's ITER_STREAM_LINGER, default 30 s). */
  iterStreamLinger?: number;
  /** ms a remote iterator may live at all (Pyro4's ITER_STREAM_LIFETIME, default 0: no limit). */
  iterStreamLifetime?: number;
  /** ms a new connection has to complete the connect handshake before it is closed (default 10 s; 0 = no limit). */
  handshakeTimeout?: number;
  /** Checks a client's handshake data; returns the reply data, or throws to refuse the connection. */
  validateHandshake?: (data: unknown, peer: string) => unknown;
  /** Options of the proxies that arrive as arguments (callbacks); default: this daemon's secret. */
  callbackOptions?: ProxyOptions;
  /** Told about refused connections, bad frames and errors of oneway and @callback methods. */
  onError?: (err: Error, info: { peer: string; objectId?: string; method?: string }) => void;
}

interface Client extends Session {
  conn: PyroConnection;
  serializer: PyroSerializer | undefined;
  state: 'new' | 'handshaking' | 'ready';
}

export class Daemon {
  /** Resolves once the daemon listens (register() waits for it). */
  readonly ready: Promise<void>;
  private readonly server: net.Server;
  private readonly objects = new Map<string, object>();
  private readonly clients = new Set<Client>();
  private readonly streams: StreamTable;
  private readonly dispatcher: Dispatcher;
  private readonly accepted: Set<number>;
  private readonly hmacKey: Buffer | undefined;
  private readonly hooks: WireHooks;
  private readonly revived = new Map<string, ProxyCore>();
  private readonly maxMessageSize: number;
  private location: string | undefined;
  private closed = false;
  private readonly corrPrefix = randomBytes(8);
  private corrCount = 0n;

  constructor(private readonly options: DaemonOptions = {}) {
    this.hmacKey = options.secret === undefined ? undefined : Buffer.from(options.secret);
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const names = options.serializers ?? ['json', 'msgpack'];
    for (const n of names) if (!SERIALIZERS[n]) throw new RpcError(`serializer '${String(n)}' cannot be accepted: celeriac speaks json and msgpack (pickle, serpent, marshal, dill are refused)`);
    this.accepted = new Set(names.map((n) => SERIALIZERS[n].id));
    this.streams = new StreamTable(options.iterStreamLinger ?? 30_000, options.iterStreamLifetime ?? 0);
    this.dispatcher = new Dispatcher(this.objects, this.streams, () => `${DAEMON_NAME} bound on ${this.locationStr}, ${this.objects.size + 1} objects registered. Servertype: celeriac (Node.js)`);
    const cb = options.callbackOptions ?? (options.secret === undefined ? {} : { secret: options.secret });
    this.hooks = wireHooks(cb, this.revived);
    const listening = listen(options, (socket) => this.accept(socket), (err, peer) => this.report(err, peer));
    this.server = listening.server;
    this.ready = listening.ready.then(() => {
      this.location = this.listenLocation();
    });
    this.ready.catch(() => undefined);
  }

  private listenLocation(): string {
    if (this.options.unixSocket) return `./u:${this.options.unixSocket}`;
    const addr = this.server.address() as net.AddressInfo;
    const host = this.options.host ?? addr.address;
    return host.includes(':') ? `[${host}]:${addr.port}` : `${host}:${addr.port}`;
  }

  /** `host:port` (or `./u:path`) the URIs carry; the NAT address when one is set. */
  get locationStr(): string {
    if (this.options.nat) return `${this.options.nat.host}:${this.options.nat.port}`;
    if (!this.location) throw new RpcError('the daemon is not listening yet: await daemon.ready (or register()) first');
    return this.location;
  }

  /** Number of connected clients. */
  get connections(): number {
    return this.clients.size;
  }

  /**
   * Registers an object (all its calls go to it) or a class (instances made per @behavior instance mode: session by
   * default) under an id (default `obj_<uuid>`). Resolves to its URI, `PYRO:id@host:port`.
   */
  async register(target: object, objectId?: string, options: { force?: boolean } = {}): Promise<string> {
    const id = objectId ?? `obj_${randomUUID().replace(/-/g, '')}`;
    if (id === DAEMON_NAME) throw new RpcError(`'${DAEMON_NAME}' is the daemon's own object id`);
    if (!options.force) {
      if (this.objects.has(id)) throw new RpcError(`an object or class is already registered with id '${id}': unregister it first or pass { force: true }`);
      if (Object.prototype.hasOwnProperty.call(target, REGISTRATION)) throw new RpcError('object or class already has a Pyro id: unregister it from its daemon first');
    }
    Object.defineProperty(target, REGISTRATION, { value: { objectId: id, daemon: this }, configurable: true, writable: true, enumerable: false });
    this.objects.set(id, target);
    await this.ready;
    return this.uriFor(id);
  }

  unregister(targetOrId: object | string): void {
    const id = typeof targetOrId === 'string' ? targetOrId : this.idOf(targetOrId);
    if (id === undefined || id === DAEMON_NAME) return;
    const target = this.objects.get(id);
    this.objects.delete(id);
    if (target && (target as Record<symbol, { daemon?: unknown } | undefined>)[REGISTRATION]?.daemon === this) delete (target as Record<symbol, unknown>)[REGISTRATION];
  }

  private idOf(target: object): string | undefined {
    const reg = (target as Record<symbol, { objectId: string; daemon: unknown } | undefined>)[REGISTRATION];
    return reg?.daemon === this ? reg.objectId : undefined;
  }

  /** The URI of a registered object (or of any id). */
  uriFor(targetOrId: object | string): string {
    const id = typeof targetOrId === 'string' ? targetOrId : this.idOf(targetOrId);
    if (id === undefined) throw new RpcError("object isn't registered in this daemon");
    return `PYRO:${id}@${this.locationStr}`;
  }

  /** A proxy for one of this daemon's objects (Pyro4's daemon.proxyFor). */
  proxyFor<T>(targetOrId: object | string, options: ProxyOptions = {}): Remote<T> {
    const cb = this.options.secret === undefined ? {} : { secret: this.options.secret };
    return makeRemote<T>(new ProxyCore(this.uriFor(targetOrId), { ...cb, ...options }, coreEnv));
  }

  /** Autoproxy: the Pyro4.core.Proxy dict sent in place of a registered object. */
  proxyDict(objectId: string): Record<string, unknown> | undefined {
    const target = this.objects.get(objectId);
    if (!target || this.closed || !this.location) return undefined;
    const meta = this.dispatcher.membersOf(target).meta;
    return { __class__: 'Pyro4.core.Proxy', state: [this.uriFor(objectId), meta.oneway, meta.methods, meta.attrs, 0, null, 'hello', 0, null] };
  }

  /** Object ids registered here (with 'Pyro.Daemon'). */
  registered(): string[] {
    return [DAEMON_NAME, ...this.objects.keys()];
  }

  /** Stops listening, closes every client connection and remote iterator. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.clients]) c.conn.destroy();
    this.clients.clear();
    this.streams.clear();
    for (const core of this.revived.values()) core.release();
    this.revived.clear();
    await this.ready.catch(() => undefined);
    await stopped;
  }

  private report(err: Error, peer: string, where: { objectId?: string; method?: string } = {}): void {
    this.options.onError?.(err, { peer, ...where });
  }

  private accept(socket: net.Socket): void {
    if (this.closed) return void socket.destroy();
    const client: Client = { serializer: undefined, state: 'new', instances: new Map(), conn: undefined as unknown as PyroConnection };
    client.conn = new PyroConnection(socket, { maxMessageSize: this.maxMessageSize, hmacKey: this.hmacKey }, {
      onMessage: (m, authError) => this.onMessage(client, m, authError),
      onClose: (err) => {
        this.clients.delete(client);
        this.streams.ownerGone(client);
        if (err) this.report(err, client.conn.peer);
      },
    });
    this.clients.add(client);
    const wait = this.options.handshakeTimeout ?? 10_000;
    if (wait > 0) {
      const timer = setTimeout(() => {
        if (client.state !== 'ready') client.conn.close(new FrameError(`no Pyro handshake within ${wait} ms`));
      }, wait);
      timer.unref();
    }
  }

  private onMessage(client: Client, m: PyroMessage, authError: RpcAuthError | undefined): void {
    if (client.state === 'new') return void this.handshake(client, m, authError).catch((err: Error) => this.fault(client, err));
    if (client.state === 'handshaking') return client.conn.close(new FrameError('a message arrived before the Pyro handshake was answered'));
    if (authError) return client.conn.close(authError);
    if (m.type === MSG.PING) return this.send(client, { type: MSG.PING, flags: 0, seq: m.seq, serializerId: m.serializerId, annotations: this.corr(m), data: Buffer.from('pong') });
    if (m.type !== MSG.INVOKE) return client.conn.close(new FrameError(`invalid msg type ${m.type} received`));
    void this.invoke(client, m).catch((err: Error) => this.fault(client, err));
  }

  /** A failure while answering (not the method's own error): reported, and that client's connection closed. */
  private fault(client: Client, err: Error): void {
    this.report(err, client.conn.peer);
    client.conn.close(err);
  }

  /** The request's correlation id, or a new one (as Pyro4 does): 8 random bytes of this daemon and a counter. */
  private corr(m: PyroMessage): Map<string, Buffer> {
    let id = m.annotations.get('CORR');
    if (!id) {
      id = Buffer.allocUnsafe(16);
      this.corrPrefix.copy(id, 0);
      id.writeBigUInt64BE(++this.corrCount, 8);
    }
    return new Map([['CORR', id]]);
  }

  private send(client: Client, m: PyroMessage): void {
    if (!client.conn.isClosed) client.conn.send(m);
  }

  /** Refuses a connection: the reason in the client's serializer when it can be written, then the socket closes. */
  private connectFail(client: Client, m: PyroMessage, reason: string, err?: Error): void {
    const s = serializerById(m.serializerId);
    const data = s ? s.dumps(reason) : refusalText(m.serializerId, reason);
    this.send(client, { type: MSG.CONNECTFAIL, flags: 0, seq: m.seq, serializerId: data ? m.serializerId : SERIALIZERS.json.id, annotations: this.corr(m), data: data ?? SERIALIZERS.json.dumps(reason) });
    client.conn.endAfterWrite();
    this.report(err ?? new RpcError(`connection refused: ${reason}`), client.conn.peer);
  }

  private refusedSerializer(id: number): string {
    const name = serializerName(id);
    const list = [...this.accepted].map((i) => serializerName(i)).join(', ');
    return `message used serializer that is not accepted: ${name ? `${name} (${id})` : `unknown id ${id}`}; this celeriac daemon accepts ${list} (set Pyro4.config.SERIALIZER = 'json')`;
  }

  private async handshake(client: Client, m: PyroMessage, authError: RpcAuthError | undefined): Promise<void> {
    if (m.type !== MSG.CONNECT) return this.connectFail(client, m, `invalid msg type ${m.type} received: a connect handshake comes first`);
    if (authError) return this.connectFail(client, m, authError.message, authError);
    if (!this.accepted.has(m.serializerId)) return this.connectFail(client, m, this.refusedSerializer(m.serializerId));
    const s = serializerById(m.serializerId) as PyroSerializer;
    client.state = 'handshaking';
    try {
      const data = s.loads(decompressed(m, this.maxMessageSize), this.hooks) as Record<string, unknown> | null;
      if (!data || typeof data !== 'object') throw new FrameError('the handshake data must be a dict with "handshake"');
      const answer = this.options.validateHandshake ? await this.options.validateHandshake(data['handshake'], client.conn.peer) : 'hello';
      const withMeta = (m.flags & FLAG.META_ON_CONNECT) !== 0;
      const body = withMeta ? { handshake: answer, meta: this.dispatcher.metadata(data['object']) } : answer;
      const { data: out, flags } = maybeCompress(s.dumps(body, this.hooks), this.options.compression ?? false);
      client.serializer = s;
      client.state = 'ready';
      this.send(client, { type: MSG.CONNECTOK, flags: flags | (withMeta ? FLAG.META_ON_CONNECT : 0), seq: m.seq, serializerId: s.id, annotations: this.corr(m), data: out });
    } catch (err) {
      this.connectFail(client, m, err instanceof Error ? err.message : String(err), err instanceof Error ? err : undefined);
    }
  }

  private async invoke(client: Client, m: PyroMessage): Promise<void> {
    const oneway = (m.flags & FLAG.ONEWAY) !== 0;
    if (!this.accepted.has(m.serializerId)) {
      const reason = this.refusedSerializer(m.serializerId);
      const data = serializerById(m.serializerId)?.dumps(new PythonException('Pyro4.errors.SerializeError', reason)) ?? refusalException(m.serializerId, reason);
      if (data && !oneway) this.send(client, { type: MSG.RESULT, flags: FLAG.EXCEPTION, seq: m.seq, serializerId: m.serializerId, annotations: this.corr(m), data });
      return client.conn.endAfterWrite();
    }
    const s = serializerById(m.serializerId) as PyroSerializer;
    let call: PyroCall;
    try {
      if (m.flags & FLAG.KEEPSERIALIZED) throw new FrameError('keep-serialized blobs (SerializedBlob) are not supported by celeriac daemons');
      call = s.loadsCall(decompressed(m, this.maxMessageSize), this.hooks);
    } catch (err) {
      if (!oneway) this.reply(client, m, s, new PythonException('Pyro4.errors.SerializeError', (err as Error).message), FLAG.EXCEPTION);
      this.report(err as Error, client.conn.peer);
      return client.conn.endAfterWrite();
    }
    try {
      const outcome = await this.dispatcher.run(call, client, client, { batch: (m.flags & FLAG.BATCH) !== 0, oneway });
      if (oneway) return;
      if (outcome.kind === 'stream') {
        const exc = new PythonException('Pyro4.errors.ProtocolError', 'result of call is an iterator');
        return this.reply(client, m, s, exc, FLAG.EXCEPTION | FLAG.ITEMSTREAMRESULT, outcome.streamId);
      }
      this.reply(client, m, s, outcome.value, outcome.batch ? FLAG.BATCH : 0);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (oneway || this.dispatcher.methodInfo(call)?.callback) this.report(e, client.conn.peer, { objectId: call.objectId, method: call.method });
      if (!oneway) this.reply(client, m, s, e, FLAG.EXCEPTION);
    }
  }

  private reply(client: Client, m: PyroMessage, s: PyroSerializer, value: unknown, flags: number, streamId?: string): void {
    let body: Buffer;
    try {
      body = s.dumps(value, this.hooks);
    } catch (err) {
      body = s.dumps(new PythonException('Pyro4.errors.PyroError', `Error serializing the result: ${(err as Error).message}`));
      flags = FLAG.EXCEPTION;
    }
    const { data, flags: z } = maybeCompress(body, this.options.compression ?? false);
    const annotations = this.corr(m);
    if (streamId) annotations.set('STRM', Buffer.from(streamId));
    this.send(client, { type: MSG.RESULT, flags: flags | z, seq: m.seq, serializerId: s.id, annotations, data });
  }
}
