/**
 * Direct RPC over TCP or TLS, no broker (zerorpc-like): `createTcpDriver(url, options)`, the RpcDriverFactory
 * of the `tcp://` and `tls://` schemes. Frames: `../framing.ts`; bodies: `body.ts`; handshake: `handshake.ts`.
 *
 * Features
 *   call and cast to one server; many calls in flight on one connection, replies in any order; frames made
 *   in the same tick leave in one write; lazy connect; reconnect with back-off (calls in flight when the
 *   connection drops fail with RpcConnectionError, new calls wait for the reconnect up to their timeout);
 *   server heartbeats restart a long call's timeout; TLS with optional client certificates; a shared
 *   secret proven both ways (HMAC challenge-response); bad peers are refused alone (GOAWAY, then close).
 *   Not here: fanout (`address.fanout` is refused: a connection reaches one server), topics (ignored).
 *
 * Connection string
 *   tcp://host:port        plain TCP (TLS when options.tls is given)
 *   tls://host:port        TLS (options.tls holds ca, cert, key, ...; without it the system CAs verify the server)
 *   tcp://127.0.0.1:0      listen: any free port; RpcListener.address tells which (tcp://127.0.0.1:40123)
 *   tcp://[::1]:4000       IPv6
 *
 * Options (RpcDriverOptions and TcpDriverOptions)
 *   secret             string | Buffer: both ends must have the same; every other peer is refused (RpcAuthError)
 *   tls                ca, cert, key, pfx, ... as tls.createSecureContext; requestCert (server: ask for and verify
 *                      client certificates against ca); rejectUnauthorized (default true); servername (client)
 *   maxMessageSize     largest body in bytes, both directions (default 16 MiB)
 *   codec              'json' (default) | 'msgpack' | a registered name: the body codec of calls this side sends
 *   bodyCodecs         more BodyCodec (protobuf stubs use codec id 3)
 *   connectTimeout     ms a cast waits for a connection (default 10000)
 *   handshakeTimeout   ms a connection has to complete the greeting and the secret check (default 10000)
 *   frameTimeout       server: ms a frame may stay incomplete (slow loris) before the peer is refused (default 30000)
 *   drainTimeout       server: ms close() waits for running calls before closing their connections (default 30000)
 *   maxInFlight        server: calls of one connection running at once before it stops reading that connection (default 4096)
 *   reconnectDelay, reconnectDelayMax   back-off between failed connects, ms (defaults 50, 2000)
 */
import { RpcError } from '../../errors.js';
import type { RpcDriver, RpcDriverFactory, RpcListener } from '../types.js';
import { TcpClient } from './client.js';
import { tcpSettings, type TcpDriverOptions } from './options.js';
import { listenTcp } from './server.js';

export type { BodyCodec, BodyKind } from './body.js';
export type { TcpDriverOptions } from './options.js';

const fanoutRefused = (url: string): RpcError =>
  new RpcError(`a fanout cast needs a broker: ${url} reaches a single server; use a broker driver (amqp://, redis://) for fanout`);

export const createTcpDriver: RpcDriverFactory = (url, options = {}): RpcDriver => {
  const settings = tcpSettings(url, options as TcpDriverOptions);
  let client: TcpClient | undefined;
  const listeners = new Set<RpcListener>();
  const clientOf = (): TcpClient => (client ??= new TcpClient(settings));
  return {
    call: (address, request, callOptions) =>
      address.fanout ? Promise.reject(fanoutRefused(settings.url)) : clientOf().call(request, callOptions),
    cast: async (address, request) => {
      if (address.fanout) throw fanoutRefused(settings.url);
      await clientOf().cast(request);
    },
    listen: async (_address, handler, listenOptions) => {
      const listener = await listenTcp(settings, handler, listenOptions);
      listeners.add(listener);
      return {
        get address() {
          return listener.address;
        },
        close: async () => {
          listeners.delete(listener);
          await listener.close();
        },
      };
    },
    close: async () => {
      await Promise.all([client?.close(), ...[...listeners].map((l) => l.close())]);
      listeners.clear();
    },
  };
};
