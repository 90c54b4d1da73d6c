/**
 * Pyro-style remote objects, wire-compatible with Pyro4 4.82 (json and msgpack serializers): a Daemon that serves
 * exposed objects, typed proxies, item streaming, batches, autoproxy and callbacks, HMAC keys and TLS.
 */
export { Daemon, type DaemonOptions } from './daemon.js';
export { behavior, callback, expose, oneway, params, type Behavior, type InstanceMode } from './members.js';
export { RemoteIterator } from './iterator.js';
export type { ProxyOptions } from './proxy.js';
export {
  coreOf,
  proxy,
  release,
  type BatchBuilder,
  type BatchItem,
  type BatchResults,
  type ProxyControls,
  type Remote,
  type RemoteMembers,
  type RemoteResult,
  type RemoteStream,
  type Untyped,
} from './remote.js';
export { locateNS, resolve, type NameServerApi, type LocateOptions } from './naming.js';
export { DAEMON_NAME, NAMESERVER_NAME, NS_PORT, PyroURI } from './uri.js';
export { PythonException } from './exceptions.js';
