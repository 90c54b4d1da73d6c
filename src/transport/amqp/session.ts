/**
 * One AMQP connection that outlives RabbitMQ restarts: the first connect fails fast with a clear error;
 * a later loss reconnects with back-off, runs the restore hooks (topology, then consumers), and only then
 * lets waiting operations through.
 */
import type { ChannelModel } from 'amqplib';
import { TransportError } from '../../errors.js';
import { backoffDelay } from '../../util/backoff.js';
import { maskUrl } from '../../util/url.js';
import { amqpError, type AmqpEndpoint } from './url.js';
import { coalesceWrites } from './writes.js';

/** Reconnect back-off, ms. */
const RECONNECT = { base: 100, max: 5000, jitter: true } as const;

type Amqplib = typeof import('amqplib');

export interface SessionHooks {
  /** Called once per loss, before reconnecting. */
  lost(error: Error): void;
  /** Called on the new connection, before waiting operations resume: redeclare, reopen channels. */
  restore(connection: ChannelModel): Promise<void>;
}

export class AmqpSession {
  private current: ChannelModel | undefined;
  private waiting: Promise<ChannelModel> | undefined;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** Fails the operations waiting for a reconnect (on close). */
  private abandon: ((error: Error) => void) | undefined;

  constructor(
    readonly url: string,
    readonly endpoint: AmqpEndpoint,
    private readonly hooks: SessionHooks,
  ) {}

  private async open(): Promise<ChannelModel> {
    let amqp: Amqplib;
    try {
      amqp = await import('amqplib');
    } catch (cause) {
      throw new TransportError('the amqp:// broker needs the amqplib package: npm install amqplib', { cause });
    }
    const e = this.endpoint;
    const connection = await amqp.connect(
      { protocol: e.protocol, hostname: e.hostname, port: e.port, username: e.username, password: e.password, vhost: e.vhost, heartbeat: e.heartbeat },
      // TCP_NODELAY: without it Nagle's algorithm holds small frames (acks, confirms) for tens of ms.
      { ...e.tls, noDelay: true, clientProperties: { product: 'celeriac', connection_name: `celeriac ${process.pid}` } },
    );
    coalesceWrites(connection);
    connection.on('error', () => undefined); // 'close' follows and handles it
    connection.on('close', (err?: Error) => {
      if (this.current !== connection) return;
      this.current = undefined;
      if (!this.closed) this.onLost(err ?? new Error('connection closed by the broker'));
    });
    return connection;
  }

  /** The first connection; rejects with a TransportError that says what to check. */
  async connect(): Promise<void> {
    if (this.closed) throw new TransportError(`the AMQP transport for ${maskUrl(this.url)} is closed: create a new one`);
    if (this.current) return;
    this.waiting ??= this.open().then(
      (c) => {
        this.current = c;
        this.waiting = undefined;
        return c;
      },
      (error: unknown) => {
        this.waiting = undefined;
        throw amqpError(this.endpoint, this.url, 'connect', error);
      },
    );
    await this.waiting;
  }

  /** The live connection, waiting while a reconnect is under way. */
  async connection(): Promise<ChannelModel> {
    if (this.current) return this.current;
    if (this.closed) throw new TransportError(`the AMQP transport for ${maskUrl(this.url)} is closed: create a new one`);
    if (this.waiting) return this.waiting;
    await this.connect();
    return this.current as unknown as ChannelModel;
  }

  get connected(): boolean {
    return this.current !== undefined;
  }

  private onLost(error: Error): void {
    this.hooks.lost(error);
    let resolveReady: (c: ChannelModel) => void = () => undefined;
    let rejectReady: (e: unknown) => void = () => undefined;
    this.waiting = new Promise<ChannelModel>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.waiting.catch(() => undefined);
    this.abandon = rejectReady;
    const attempt = (n: number): void => {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.closed) return rejectReady(new TransportError('the AMQP transport was closed while reconnecting'));
        this.open().then(
          async (c) => {
            try {
              await this.hooks.restore(c);
            } catch {
              c.close().catch(() => undefined);
              return attempt(n + 1);
            }
            if (this.closed) {
              c.close().catch(() => undefined);
              return rejectReady(new TransportError('the AMQP transport was closed while reconnecting'));
            }
            this.current = c;
            this.waiting = undefined;
            this.abandon = undefined;
            resolveReady(c);
          },
          () => attempt(n + 1),
        );
      }, backoffDelay(n, RECONNECT));
    };
    attempt(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.abandon?.(new TransportError('the AMQP transport was closed while reconnecting'));
    const c = this.current;
    this.current = undefined;
    await c?.close().catch(() => undefined);
  }
}
