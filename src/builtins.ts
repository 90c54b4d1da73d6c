/**
 * The one file that names the built-in brokers, result backends and RPC drivers: URL scheme to a lazy
 * import, so an app loads only the driver it uses.
 */
import type { Plugins } from './app/celeriac.js';

export function registerBuiltins({ transports, backends, rpc }: Plugins): void {
  transports
    .register('memory', async () => (await import('./transport/memory/index.js')).createTransport)
    .register('sqlite', async () => (await import('./transport/sqlite/index.js')).createTransport)
    .register('redis', async () => (await import('./transport/redis/index.js')).createTransport)
    .register('rediss', async () => (await import('./transport/redis/index.js')).createTransport)
    .register('redis+socket', async () => (await import('./transport/redis/index.js')).createTransport)
    .register('amqp', async () => (await import('./transport/amqp/index.js')).createTransport)
    .register('amqps', async () => (await import('./transport/amqp/index.js')).createTransport)
    .register('pyamqp', async () => (await import('./transport/amqp/index.js')).createTransport);
  backends
    .register('memory', async () => (await import('./backend/memory/index.js')).createBackend)
    .register('sqlite', async () => (await import('./backend/sqlite/index.js')).createBackend)
    .register('redis', async () => (await import('./backend/redis/index.js')).createBackend)
    .register('rediss', async () => (await import('./backend/redis/index.js')).createBackend)
    .register('redis+socket', async () => (await import('./backend/redis/index.js')).createBackend)
    .register('rpc', async () => (await import('./backend/rpc/index.js')).createBackend);
  // RPC over HTTP: plain http(s) is JSON-RPC 2.0 (params by name, typed error data, batches); XML-RPC is asked for by name.
  const jsonRpc = async () => (await import('./rpc/http/index.js')).createJsonRpcDriver;
  const xmlRpc = async () => (await import('./rpc/http/index.js')).createXmlRpcDriver;
  const tcp = async () => (await import('./rpc/tcp/index.js')).createTcpDriver;
  rpc
    .register('tcp', tcp)
    .register('tls', tcp)
    .register('http', jsonRpc)
    .register('https', jsonRpc)
    .register('jsonrpc+http', jsonRpc)
    .register('jsonrpc+https', jsonRpc)
    .register('xmlrpc+http', xmlRpc)
    .register('xmlrpc+https', xmlRpc);
}
