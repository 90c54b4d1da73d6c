/**
 * Exceptions as Pyro4 serializes them (json, msgpack): a dict
 *   {"__class__": "builtins.ValueError", "__exception__": true, "args": [...], "attributes": {"_pyroTraceback": [lines]}}
 * and, inside a batch result, {"__class__": "Pyro4.futures._ExceptionWrapper", "exception": <that dict>}. Pure.
 */
import { CeleriacError, NoSuchMethodError, RemoteError } from '../../errors.js';

/** Python's built-in exception names a Pyro4 client rebuilds as `builtins.<name>`. */
const PYTHON_BUILTINS = new Set(
  (
    'Exception ArithmeticError AssertionError AttributeError BufferError EOFError FloatingPointError GeneratorExit ImportError ' +
    'ModuleNotFoundError IndexError KeyError KeyboardInterrupt LookupError MemoryError NameError NotImplementedError OSError ' +
    'OverflowError RecursionError ReferenceError RuntimeError StopIteration StopAsyncIteration SyntaxError SystemError TypeError ' +
    'UnboundLocalError UnicodeError ValueError ZeroDivisionError ConnectionError ConnectionRefusedError ConnectionResetError ' +
    'FileExistsError FileNotFoundError PermissionError TimeoutError IOError'
  ).split(' '),
);
/** JavaScript's own error names and the Python built-in each becomes on the wire. */
const FROM_JS: Record<string, string> = {
  Error: 'Exception',
  RangeError: 'ValueError',
  URIError: 'ValueError',
  ReferenceError: 'NameError',
  EvalError: 'Exception',
  AggregateError: 'Exception',
};
/** Pyro4's own error classes (`Pyro4.errors.<name>`). */
export const PYRO_ERRORS = new Set(['PyroError', 'CommunicationError', 'ConnectionClosedError', 'TimeoutError', 'ProtocolError', 'MessageTooLargeError', 'NamingError', 'DaemonError', 'SecurityError', 'SerializeError']);

export interface ExceptionDict {
  __class__: string;
  __exception__: true;
  args: unknown[];
  attributes: Record<string, unknown>;
}

/** An exception of a given Python class, raised by the daemon itself (Pyro's own refusals). */
export class PythonException extends Error {
  constructor(readonly pythonClass: string, message: string) {
    super(message);
    this.name = pythonClass.slice(pythonClass.lastIndexOf('.') + 1);
  }
}

function tracebackLines(err: Error): string[] {
  const stack = err.stack ?? `${err.name}: ${err.message}`;
  return [' celeriac (Node.js) remote stack:\n', ...stack.split('\n').map((l) => `${l}\n`)];
}

/** The wire dict of anything a remote method threw (its stack travels as `_pyroTraceback`). */
export function exceptionToDict(err: unknown): ExceptionDict {
  if (!(err instanceof Error)) {
    return { __class__: 'builtins.Exception', __exception__: true, args: [String(err)], attributes: { _pyroTraceback: [`${String(err)}\n`] } };
  }
  if (err instanceof PythonException) {
    return { __class__: err.pythonClass, __exception__: true, args: [err.message], attributes: { _pyroTraceback: tracebackLines(err) } };
  }
  if (err instanceof RemoteError) {
    // An error that came from another Python or celeriac peer travels on with its type and remote stack.
    const module = err.remoteModule ?? 'builtins';
    const data = err.data && typeof err.data === 'object' ? (err.data as { args?: unknown; attributes?: unknown }) : {};
    const args = Array.isArray(data.args) ? data.args : [err.message.slice(err.remoteType.length + 2)];
    const own = data.attributes && typeof data.attributes === 'object' ? (data.attributes as Record<string, unknown>) : {};
    const known = module === 'builtins' ? PYTHON_BUILTINS.has(err.remoteType) : module === 'Pyro4.errors' && PYRO_ERRORS.has(err.remoteType);
    const attributes: Record<string, unknown> = { ...own, _pyroTraceback: err.remoteStack ? [err.remoteStack] : tracebackLines(err) };
    if (!known) attributes['celeriac_type'] = `${module}.${err.remoteType}`;
    return { __class__: known ? `${module}.${err.remoteType}` : 'builtins.Exception', __exception__: true, args, attributes };
  }
  const attributes: Record<string, unknown> = { _pyroTraceback: tracebackLines(err) };
  let pyName = FROM_JS[err.name] ?? (PYTHON_BUILTINS.has(err.name) ? err.name : undefined);
  if (pyName !== undefined && pyName !== err.name) attributes['celeriac_type'] = `javascript.${err.name}`;
  if (pyName === undefined) {
    // A class of the application: Python rebuilds only built-ins, so it travels as Exception with its own name kept.
    attributes['celeriac_type'] = `${err instanceof CeleriacError ? 'celeriac' : 'celeriac.app'}.${err.name}`;
    pyName = 'Exception';
  }
  return { __class__: `builtins.${pyName}`, __exception__: true, args: [err.message], attributes };
}

function argText(a: unknown): string {
  return typeof a === 'string' ? a : JSON.stringify(a) ?? String(a);
}

/** Rebuilds a RemoteError from an exception dict (a Pyro4 exception or a celeriac one). */
export function dictToRemoteError(dict: Record<string, unknown>): RemoteError {
  const cls = typeof dict['__class__'] === 'string' ? dict['__class__'] : 'builtins.Exception';
  const attrs = dict['attributes'] && typeof dict['attributes'] === 'object' ? { ...(dict['attributes'] as Record<string, unknown>) } : {};
  const args = Array.isArray(dict['args']) ? dict['args'] : [];
  const tb = attrs['_pyroTraceback'];
  delete attrs['_pyroTraceback'];
  const named = typeof attrs['celeriac_type'] === 'string' ? attrs['celeriac_type'] : cls;
  const dot = named.lastIndexOf('.');
  const type = dot < 0 ? named : named.slice(dot + 1);
  const module = dot < 0 ? null : named.slice(0, dot);
  const message = args.length === 1 ? argText(args[0]) : args.map(argText).join(', ');
  const stack = Array.isArray(tb) ? tb.map(String).join('') : typeof tb === 'string' ? tb : null;
  const info = { type, module, message, stack, data: { args, attributes: attrs } };
  // Pyro's own refusal of an unexposed, private or unknown member: the same meaning as a missing RPC method.
  if (type === 'AttributeError' && /^attempt to access /.test(message)) return new NoSuchMethodError(info);
  return new RemoteError(info);
}

/** A batch result item that is an exception: Pyro4's futures._ExceptionWrapper. */
export class ExceptionWrapper {
  constructor(readonly exception: Error) {}
}
