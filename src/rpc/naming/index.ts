/**
 * The name server, wire-compatible with Pyro4 4.82's: the registry (name -> URI + metadata) in memory or SQLite,
 * the remote object 'Pyro.NameServer' on a Daemon, write protection, UDP broadcast discovery, and locating one.
 */
export { NameRegistry, compileRegex, type Registration, type ListFilter, type RemoveSpec, type RegisterOptions } from './registry.js';
export { MemoryNameStorage, type NameStorage, type NameEntry, type StorageQuery } from './storage.js';
export { SqliteNameStorage, openNameStorage } from './sqlite-storage.js';
export { NameServerObject, NAMESERVER_METADATA } from './nameserver.js';
export { startNameServer, type NameServerOptions, type RunningNameServer } from './server.js';
export { locateNameServer, type LocateNameServerOptions } from './locate.js';
export {
  startBroadcastResponder, discoverNameServer, BROADCAST_PORT, DISCOVERY_REQUEST, DEFAULT_BROADCAST_ADDRESSES,
  type BroadcastResponder, type BroadcastResponderOptions, type DiscoverOptions,
} from './broadcast.js';
