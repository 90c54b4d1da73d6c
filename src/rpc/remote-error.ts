/**
 * Errors across the wire: what a server sends when a method throws (`remoteErrorInfo`), and the typed
 * error a caller rethrows from it (`rebuildRemoteError`), with the remote stack kept apart from the local one.
 */
import { CeleriacError, NoSuchMethodError, RemoteError, UnsupportedVersionError, type RemoteErrorInfo } from '../errors.js';

/** JavaScript's own error classes; Python has classes of the same names in `builtins` for most of them. */
const BUILTIN_ERRORS = new Set(['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError']);

const NO_SUCH_METHOD = new Set(['NoSuchMethod', 'NoSuchMethodError']);
const UNSUPPORTED_VERSION = new Set(['UnsupportedVersion', 'UnsupportedVersionError']);

/** The wire form of anything a method threw. A RemoteError passed on keeps the type and stack of where it began. */
export function remoteErrorInfo(err: unknown): RemoteErrorInfo {
  if (err instanceof RemoteError) {
    return { type: err.remoteType, message: err.message.replace(`${err.remoteType}: `, ''), module: err.remoteModule, stack: err.remoteStack ?? null, ...(err.data !== undefined ? { data: err.data } : {}) };
  }
  if (err instanceof Error) {
    const type = err.name || err.constructor.name || 'Error';
    const module = err instanceof CeleriacError ? 'celeriac' : BUILTIN_ERRORS.has(type) ? 'builtins' : null;
    const data = (err as { data?: unknown }).data;
    return { type, message: err.message, module, stack: err.stack ?? null, ...(data !== undefined ? { data } : {}) };
  }
  return { type: 'Error', message: typeof err === 'string' ? err : safeText(err), module: 'builtins', stack: null };
}

function safeText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The typed error a caller throws for a failed outcome: NoSuchMethodError, UnsupportedVersionError, or RemoteError. */
export function rebuildRemoteError(info: RemoteErrorInfo): RemoteError {
  if (NO_SUCH_METHOD.has(info.type)) return new NoSuchMethodError(info);
  if (UNSUPPORTED_VERSION.has(info.type)) return new UnsupportedVersionError(info);
  return new RemoteError(info);
}
