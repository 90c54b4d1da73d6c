/**
 * The whole celeriac error tree, and the wire form of exceptions (Celery's exc_type / exc_message / exc_module).
 *
 *   CeleriacError                      code            retryable
 *    ├── ConfigError                   E_CONFIG        no    bad option value, unknown option
 *    ├── ProtocolError                 E_PROTOCOL      no    a message that cannot be parsed
 *    │    ├── ContentDisallowedError   E_CONTENT       no    pickle / yaml / unknown serializer
 *    │    ├── EventError               E_EVENT         no    a monitoring event (celeryev) that is not one
 *    │    ├── MessageTooLargeError     E_TOO_LARGE     no    a message over maxMessageSize (sent or received),
 *    │    │                                                  or nested deeper than a decoder accepts
 *    │    └── SecurityError            E_SECURITY      no    a message that is unsigned, tampered with or signed
 *    │                                                       by an untrusted key (Celery's auth serializer)
 *    ├── TransportError                E_TRANSPORT     yes   broker unreachable, connection lost
 *    │    ├── UnknownTransportError    E_NO_TRANSPORT  no    no broker plug-in for a URL scheme
 *    │    └── StorageFullError         E_STORAGE_FULL  yes   an embedded broker's file cannot grow: the disk (or
 *    │                                                       its quota) is full; stored messages are kept
 *    ├── BackendError                  E_BACKEND       yes   result store unreachable
 *    ├── ResultTimeoutError            E_TIMEOUT       yes   AsyncResult.get() gave up waiting
 *    ├── ControlError                  E_CONTROL       no    a remote-control command refused or misused
 *    ├── RpcError                      E_RPC           no    an RPC call that could not be made or answered
 *    │    ├── RpcTimeoutError          E_RPC_TIMEOUT   yes   no server answered a call within its timeout
 *    │    ├── RpcConnectionError       E_RPC_CONNECT   yes   a direct (TCP) peer unreachable or gone mid-call
 *    │    ├── RpcAuthError             E_RPC_AUTH      no    the peer refused the handshake (wrong shared secret)
 *    │    ├── FrameError               E_RPC_FRAME     no    a frame on a direct connection that lies about its
 *    │    │                                                  length, is too large, or cannot be decoded
 *    │    ├── PyroProtocolError        E_RPC_PYRO      no    a Pyro peer refused or broke the exchange: connection
 *    │    │                                                  rejected (connectfail), serializer not accepted, a
 *    │    │                                                  reply out of sequence, a stream that is gone
 *    │    ├── NamingError              E_RPC_NAMING    no    a name server refused: unknown name, name taken,
 *    │    │                                                  write-protected, no name server found
 *    │    └── RemoteError              E_RPC_REMOTE    no    the remote method raised: carries the remote type,
 *    │         │                                             module and stack, shown apart from the local one
 *    │         ├── NoSuchMethodError   E_RPC_NO_METHOD       no public method of that name on the endpoints
 *    │         └── UnsupportedVersionError E_RPC_VERSION     no endpoint of a compatible version / namespace
 *    └── TaskError                     E_TASK          no    anything a task run produced
 *         ├── Retry                    E_RETRY               thrown by task.retry(): run again later
 *         ├── MaxRetriesExceededError  E_MAX_RETRIES         retry() asked once too often
 *         ├── NotRegisteredError       E_NOT_REGISTERED      the worker does not know the task name
 *         ├── TaskRevokedError         E_REVOKED             revoked or expired before it ran, or terminated
 *         ├── CanvasError              E_CANVAS              a signature, chain, group or chord that cannot be
 *                                                            sent as asked (e.g. a chord without a result backend)
 *         ├── SoftTimeLimitExceeded    E_SOFT_TIME_LIMIT     the soft limit passed: the task's signal aborts with it
 *         ├── TimeLimitExceeded        E_TIME_LIMIT          the hard limit passed: the run was killed/abandoned
 *         ├── WorkerLostError          E_WORKER_LOST         the thread or child running the task died
 *         └── RemoteTaskError          E_REMOTE              an exception raised by a task on a worker,
 *                                                            rebuilt from the result store (carries the
 *                                                            remote type, module and traceback)
 *
 * Every message says what to do about it. Errors set `name` to their class name so logs read well.
 */

export interface CeleriacErrorOptions {
  cause?: unknown;
}

export class CeleriacError extends Error {
  readonly code: string = 'E_CELERIAC';
  readonly retryable: boolean = false;
  constructor(message: string, options?: CeleriacErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export class ConfigError extends CeleriacError {
  override readonly code = 'E_CONFIG';
}

export class ProtocolError extends CeleriacError {
  override readonly code: string = 'E_PROTOCOL';
}

export class ContentDisallowedError extends ProtocolError {
  override readonly code = 'E_CONTENT';
}

/** A monitoring event body (celeryev) that is not one: not JSON, no type, a field of the wrong kind. */
export class EventError extends ProtocolError {
  override readonly code = 'E_EVENT';
}

/** A message over `maxMessageSize` (refused on send, dead-lettered on receive), or nested too deep to decode safely. */
export class MessageTooLargeError extends ProtocolError {
  override readonly code = 'E_TOO_LARGE';
}

/** A signed message that fails verification, or an unsigned one where signing is required (Celery's SecurityError). */
export class SecurityError extends ProtocolError {
  override readonly code = 'E_SECURITY';
}

export class TransportError extends CeleriacError {
  override readonly code: string = 'E_TRANSPORT';
  override readonly retryable: boolean = true;
}

export class UnknownTransportError extends TransportError {
  override readonly code = 'E_NO_TRANSPORT';
  override readonly retryable = false;
}

/**
 * The broker's storage is full (SQLite's SQLITE_FULL: the disk or a quota): the write was refused whole and
 * nothing stored before is lost. Retryable: the same call succeeds once space is freed.
 */
export class StorageFullError extends TransportError {
  override readonly code = 'E_STORAGE_FULL';
}

export class BackendError extends CeleriacError {
  override readonly code = 'E_BACKEND';
  override readonly retryable = true;
}

export class ControlError extends CeleriacError {
  override readonly code = 'E_CONTROL';
}

/** An RPC call that could not be made or answered (base of every RPC error). */
export class RpcError extends CeleriacError {
  override readonly code: string = 'E_RPC';
}

/** No server answered a call within its timeout (the message says which topic or address was asked). */
export class RpcTimeoutError extends RpcError {
  override readonly code = 'E_RPC_TIMEOUT';
  override readonly retryable = true;
}

/** A direct peer could not be reached, or the connection was lost while a call waited. */
export class RpcConnectionError extends RpcError {
  override readonly code = 'E_RPC_CONNECT';
  override readonly retryable = true;
}

/** The peer refused the handshake: the shared secrets differ (or one side has none). */
export class RpcAuthError extends RpcError {
  override readonly code = 'E_RPC_AUTH';
}

/** A frame on a direct connection that lies about its length, is larger than allowed, or cannot be decoded. */
export class FrameError extends RpcError {
  override readonly code = 'E_RPC_FRAME';
}

/**
 * A Pyro peer refused the connection (its connectfail reason is in the message), does not accept the serializer,
 * answered out of sequence, or no longer has the remote iterator asked for.
 */
export class PyroProtocolError extends RpcError {
  override readonly code = 'E_RPC_PYRO';
}

/**
 * A name server refused or could not be found (Pyro4's `NamingError`): unknown name, name already registered
 * (safe register), a write without the write secret, a bad regex, or no name server answered.
 */
export class NamingError extends RpcError {
  override readonly code = 'E_RPC_NAMING';
}

/** What a remote failure carries across the wire: enough to rebuild a typed error on the caller's side. */
export interface RemoteErrorInfo {
  /** The remote exception's class name (`ValueError`, `TypeError`, `NoSuchMethod`). */
  type: string;
  message: string;
  /** Where the class lives on the remote side (`builtins`, `oslo_messaging.rpc.dispatcher`, `celeriac`). */
  module?: string | null;
  /** The remote stack or traceback, as text. */
  stack?: string | null;
  /** Extra structured data (the oslo failure's kwargs, a JSON-RPC error's data). */
  data?: unknown;
}

/**
 * The remote method raised. `remoteType`, `remoteModule` and `remoteStack` describe the remote side;
 * `stack` stays the local one, and `toString()` prints the remote stack apart from it.
 */
export class RemoteError extends RpcError {
  override readonly code: string = 'E_RPC_REMOTE';
  readonly remoteType: string;
  readonly remoteModule: string | null;
  readonly remoteStack: string | null;
  readonly data: unknown;
  constructor(info: RemoteErrorInfo, options?: CeleriacErrorOptions) {
    super(`${info.type}: ${info.message}`, options);
    this.remoteType = info.type;
    this.remoteModule = info.module ?? null;
    this.remoteStack = info.stack ?? null;
    this.data = info.data;
  }
  override toString(): string {
    const remote = this.remoteStack ? `\n--- remote stack (${this.remoteModule ?? 'remote'}) ---\n${this.remoteStack}` : '';
    return `${this.name}: ${this.message}${remote}`;
  }
}

/** The called name is no public method of any endpoint (never `_private`, never Object's own methods). */
export class NoSuchMethodError extends RemoteError {
  override readonly code = 'E_RPC_NO_METHOD';
}

/** No endpoint serves the requested namespace at a compatible version (same major, minor >= requested). */
export class UnsupportedVersionError extends RemoteError {
  override readonly code = 'E_RPC_VERSION';
}

export class ResultTimeoutError extends CeleriacError {
  override readonly code = 'E_TIMEOUT';
  override readonly retryable = true;
}

export class TaskError extends CeleriacError {
  override readonly code: string = 'E_TASK';
}

export class NotRegisteredError extends TaskError {
  override readonly code = 'E_NOT_REGISTERED';
  constructor(readonly taskName: string, options?: CeleriacErrorOptions) {
    super(
      `unregistered task '${taskName}': no worker consuming this queue knows it. ` +
        `Register it with app.task('${taskName}', fn) in the module the worker loads (-A), or route it to a worker that has it.`,
      options,
    );
  }
}

export interface RetryOptions {
  /** Seconds before the next attempt (default: the task's `defaultRetryDelay`, 180 s as in Celery). */
  countdown?: number;
  /** Time of the next attempt, instead of a countdown. */
  eta?: Date;
  /** Most retries for this call (default: the task's `maxRetries`, 3; null = no limit). */
  maxRetries?: number | null;
  /** The error that caused the retry; stored with the RETRY state, and the final error past maxRetries. */
  exc?: unknown;
}

/** Thrown by `task.retry()` inside a running task: the worker sends the task again and records RETRY. */
export class Retry extends TaskError {
  override readonly code = 'E_RETRY';
  readonly countdown: number | undefined;
  readonly eta: Date | undefined;
  readonly maxRetries: number | null | undefined;
  readonly exc: unknown;
  constructor(options: RetryOptions = {}) {
    const when = options.eta ? `at ${options.eta.toISOString()}` : `in ${options.countdown ?? 'the default delay of '}${options.countdown === undefined ? '' : 's'}`;
    const why = options.exc instanceof Error ? `: ${options.exc.name}: ${options.exc.message}` : options.exc === undefined ? '' : `: ${String(options.exc)}`;
    super(`Retry ${when}${why}`);
    this.countdown = options.countdown;
    this.eta = options.eta;
    this.maxRetries = options.maxRetries;
    this.exc = options.exc;
  }
}

export class MaxRetriesExceededError extends TaskError {
  override readonly code = 'E_MAX_RETRIES';
}

export class TaskRevokedError extends TaskError {
  override readonly code = 'E_REVOKED';
}

/** A signature, chain, group or chord that cannot be built or sent as asked. */
export class CanvasError extends TaskError {
  override readonly code = 'E_CANVAS';
}

/** The soft time limit passed: the reason of the task's aborted signal (billiard's SoftTimeLimitExceeded). */
export class SoftTimeLimitExceeded extends TaskError {
  override readonly code = 'E_SOFT_TIME_LIMIT';
}

/** The hard time limit passed: the thread or child was killed (the async pool abandons the run). */
export class TimeLimitExceeded extends TaskError {
  override readonly code = 'E_TIME_LIMIT';
}

/** The thread or child process running a task died before it reported (billiard's WorkerLostError). */
export class WorkerLostError extends TaskError {
  override readonly code = 'E_WORKER_LOST';
}

/** An exception raised by a task on a worker (ours or Python's), rebuilt from its wire form. */
export class RemoteTaskError extends TaskError {
  override readonly code = 'E_REMOTE';
  constructor(
    readonly excType: string,
    readonly excMessage: string,
    readonly excModule: string | null,
    readonly remoteTraceback: string | null,
  ) {
    super(`${excType}: ${excMessage}`);
  }
}

/** Celery's wire form of an exception, as stored in a FAILURE result's `result` field. */
export interface WireException {
  exc_type: string;
  exc_message: unknown;
  exc_module: string | null;
}

/** The module name celeriac's own errors carry on the wire, so Python shows where they came from. */
const CELERIAC_MODULE = 'celeriac';

/** Turns anything a task threw into Celery's wire form. */
export function toWireException(err: unknown): WireException {
  if (err instanceof RemoteTaskError) {
    return { exc_type: err.excType, exc_message: [err.excMessage], exc_module: err.excModule };
  }
  if (err instanceof NotRegisteredError) {
    return { exc_type: 'NotRegistered', exc_message: [err.taskName], exc_module: 'celery.exceptions' };
  }
  if (err instanceof Retry || err instanceof MaxRetriesExceededError) {
    return { exc_type: err.name, exc_message: [err.message], exc_module: 'celery.exceptions' };
  }
  if (err instanceof SoftTimeLimitExceeded || err instanceof TimeLimitExceeded || err instanceof WorkerLostError) {
    return { exc_type: err.name, exc_message: [err.message], exc_module: 'billiard.exceptions' };
  }
  if (err instanceof TaskRevokedError) {
    return { exc_type: 'TaskRevokedError', exc_message: [err.message], exc_module: 'celery.exceptions' };
  }
  if (err instanceof Error) {
    const module = err instanceof CeleriacError ? CELERIAC_MODULE : 'builtins';
    return { exc_type: err.name || 'Error', exc_message: [err.message], exc_module: module };
  }
  return { exc_type: 'Error', exc_message: [String(err)], exc_module: 'builtins' };
}

/** Renders Celery's exc_message (a list of exception args, or a string) as one line. */
export function wireMessageText(excMessage: unknown): string {
  if (Array.isArray(excMessage)) {
    return excMessage.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(', ');
  }
  if (typeof excMessage === 'string') return excMessage;
  return JSON.stringify(excMessage);
}

/** Rebuilds an error from Celery's wire form; NotRegistered comes back as NotRegisteredError. */
export function fromWireException(wire: unknown, traceback: string | null = null): TaskError {
  if (wire === null || typeof wire !== 'object' || !('exc_type' in wire)) {
    return new RemoteTaskError('Error', wireMessageText(wire), null, traceback);
  }
  const w = wire as WireException;
  const text = wireMessageText(w.exc_message);
  if (w.exc_type === 'NotRegistered') {
    const name = Array.isArray(w.exc_message) && typeof w.exc_message[0] === 'string' ? w.exc_message[0] : text;
    return new NotRegisteredError(name.replace(/^'(.*)'$/, '$1'));
  }
  return new RemoteTaskError(w.exc_type, text, w.exc_module ?? null, traceback);
}
