/**
 * The calling side of direct RPC: one lazily opened connection (connection.ts), many calls in flight
 * (replies in any order, matched by request id), reconnect with back-off, per-call timeouts that server
 * heartbeats restart.
 */
import { FrameError, RpcAuthError, RpcConnectionError, RpcError, RpcTimeoutError } from '../../errors.js';
import { backoffDelay } from '../../util/backoff.js';
import { Deadlines, type Deadline } from '../../util/deadlines.js';
import { FrameType, type Frame } from '../framing.js';
import type { DriverCallOptions, RpcOutcome, RpcRequest } from '../types.js';
import { toErrorInfo } from './body.js';
import { Connection, type ConnectionOwner } from './connection.js';
import type { TcpSettings } from './options.js';

interface Call {
  method: string;
  oneWay: boolean;
  body: Buffer | string;
  timeout: number;
  resolve: (outcome: RpcOutcome | undefined) => void;
  reject: (err: Error) => void;
  deadline: Deadline<Call> | undefined;
  conn: Conn | undefined;
  id: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

type Conn = Connection<Call>;

export class TcpClient implements ConnectionOwner<Call> {
  /** The connection new calls go to (undefined while none is open or opening). */
  private conn: Conn | undefined;
  /** Every open connection: the current one, and those that drain after their server said it shuts down. */
  private readonly conns = new Set<Conn>();
  private readonly waiting = new Set<Call>();
  private readonly deadlines = new Deadlines<Call>((call) => this.expire(call));
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private lastError: Error | undefined;
  private nextId = 1;
  private closed = false;

  constructor(private readonly s: TcpSettings) {}

  call(request: RpcRequest, options: DriverCallOptions): Promise<RpcOutcome> {
    return this.submit(request, false, options.timeout, options.signal) as Promise<RpcOutcome>;
  }

  async cast(request: RpcRequest): Promise<void> {
    await this.submit(request, true, this.s.connectTimeout, undefined);
  }

  /** Sends what is queued, rejects calls still waiting, and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const err = new RpcConnectionError(`the RPC driver for ${this.s.url} was closed while the call waited`);
    for (const call of this.waiting) this.settle(call, err);
    this.waiting.clear();
    await Promise.all([...this.conns].map((conn) => conn.end(err)));
  }

  private submit(request: RpcRequest, oneWay: boolean, timeout: number, signal: AbortSignal | undefined): Promise<RpcOutcome | undefined> {
    if (this.closed) return Promise.reject(new RpcConnectionError(`the RPC driver for ${this.s.url} is closed: make a new one`));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    let body: Buffer | string;
    try {
      body = this.s.codec.encode(request, 'request');
    } catch (err) {
      return Promise.reject(new RpcError(`the arguments of '${request.method}' cannot be encoded as ${this.s.codec.name}: ${(err as Error).message}`, { cause: err }));
    }
    return new Promise((resolve, reject) => {
      const call: Call = { method: request.method, oneWay, body, timeout, resolve, reject, deadline: undefined, conn: undefined, id: 0, signal, onAbort: undefined };
      call.deadline = this.deadlines.add(call, timeout);
      if (signal) {
        call.onAbort = () => this.drop(call, signal.reason as Error);
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      const conn = this.conn;
      if (conn !== undefined && conn.state === 'ready') this.send(conn, call);
      else {
        this.waiting.add(call);
        if (conn === undefined && this.retry === undefined) this.connect();
      }
    });
  }

  private send(conn: Conn, call: Call): void {
    const id = this.nextId;
    this.nextId = id === 0xffffffff ? 1 : id + 1;
    try {
      conn.wire.send(call.oneWay ? FrameType.CAST : FrameType.REQUEST, id, this.s.codec.id, call.body);
    } catch (err) {
      this.settle(call, err as Error);
      return;
    }
    if (call.oneWay) {
      this.settle(call, undefined);
      return;
    }
    call.id = id;
    call.conn = conn;
    conn.inflight.set(id, call);
  }

  private settle(call: Call, outcome: RpcOutcome | Error | undefined): void {
    if (call.deadline) this.deadlines.cancel(call.deadline);
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
    if (outcome instanceof Error) call.reject(outcome);
    else call.resolve(outcome);
  }

  /** Takes a call out of wherever it waits, and fails it. */
  private drop(call: Call, err: Error): void {
    if (call.conn) call.conn.inflight.delete(call.id);
    else this.waiting.delete(call);
    this.settle(call, err);
  }

  private expire(call: Call): void {
    call.deadline = undefined;
    const what = call.oneWay ? `the cast of '${call.method}'` : `'${call.method}'`;
    let err: Error;
    if (call.conn) {
      err = new RpcTimeoutError(
        `no reply from ${this.s.url} to ${what} within ${call.timeout} ms: the server may be overloaded or the method slow; ` +
          `raise the timeout, or let the server send heartbeats (heartbeatInterval)`,
      );
    } else if (this.lastError) {
      err = new RpcConnectionError(
        `could not reach ${this.s.url} within ${call.timeout} ms for ${what}: ${this.lastError.message}; is the server running there?`,
        { cause: this.lastError },
      );
    } else {
      err = new RpcTimeoutError(`no connection to ${this.s.url} opened within ${call.timeout} ms for ${what}: is the server running there?`);
    }
    this.drop(call, err);
  }

  private connect(): void {
    this.retry = undefined;
    if (this.closed) return;
    this.conn = new Connection<Call>(this.s, this);
    this.conns.add(this.conn);
  }

  onReady(conn: Conn): void {
    this.attempt = 0;
    this.lastError = undefined;
    for (const call of this.waiting) this.send(conn, call);
    this.waiting.clear();
  }

  onAnswer(conn: Conn, frame: Frame): void {
    const call = conn.inflight.get(frame.id);
    if (call === undefined) return; // it timed out or was aborted: a late answer is dropped
    if (frame.type === FrameType.HEARTBEAT) {
      if (call.deadline) this.deadlines.cancel(call.deadline);
      call.deadline = this.deadlines.add(call, call.timeout);
      return;
    }
    conn.inflight.delete(frame.id);
    const isReply = frame.type === FrameType.REPLY;
    let outcome: RpcOutcome | Error;
    try {
      const value = this.s.codecs.decode(frame.codec, frame.body, isReply ? 'reply' : 'error', call.method);
      outcome = isReply ? { ok: true, result: value } : { ok: false, error: toErrorInfo(value) };
    } catch (err) {
      outcome = err as Error;
    }
    this.settle(call, outcome);
    if (conn.state === 'draining' && conn.inflight.size === 0) void conn.end();
  }

  onDraining(conn: Conn): void {
    // New calls go to the next connection; this one closes once its calls are answered.
    if (this.conn === conn) this.conn = undefined;
    if (conn.inflight.size === 0) void conn.end();
    if (this.waiting.size > 0 && this.retry === undefined) this.connect();
  }

  onClosed(conn: Conn, failure: Error | undefined, wasOpen: boolean): void {
    this.conns.delete(conn);
    if (this.conn === conn) this.conn = undefined;
    for (const call of conn.inflight.values()) {
      call.conn = undefined;
      const err =
        failure instanceof FrameError || failure instanceof RpcAuthError
          ? failure
          : new RpcConnectionError(
              `the connection to ${this.s.url} closed while '${call.method}' waited for its reply` +
                `${failure ? ` (${failure.message})` : ''}: the server stopped or restarted; call again`,
              { cause: failure },
            );
      this.settle(call, err);
    }
    conn.inflight.clear();
    if (this.closed || this.conn !== undefined) return;
    if (!wasOpen) {
      this.lastError = failure;
      if (failure instanceof RpcAuthError || failure instanceof FrameError) {
        // Retrying does not change a secret or a certificate: fail the waiting calls now.
        for (const call of this.waiting) this.settle(call, failure);
        this.waiting.clear();
        return;
      }
    }
    if (this.waiting.size === 0 || this.retry !== undefined) return;
    if (wasOpen) return this.connect();
    const delay = backoffDelay(this.attempt++, { base: this.s.reconnectDelay, max: this.s.reconnectDelayMax });
    this.retry = setTimeout(() => this.connect(), delay);
    this.retry.unref();
  }
}
