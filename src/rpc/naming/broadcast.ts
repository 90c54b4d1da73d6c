/**
 * Name server discovery on the local network segment, Pyro4's protocol: a client sends the UDP datagram
 * `GET_NSURI` to the broadcast port (9091) and the name server's responder answers with its URI as latin-1
 * text (`PYRO:Pyro.NameServer@host:port`). A name server bound to 0.0.0.0 answers with the address of the
 * interface that reaches the asker. Off unless asked for (`celeriac ns --broadcast`).
 */
import { createSocket, type Socket } from 'node:dgram';
import { NamingError } from '../../errors.js';

/** Pyro4's NS_BCPORT. */
export const BROADCAST_PORT = 9091;
export const DISCOVERY_REQUEST = 'GET_NSURI';
/** Pyro4's BROADCAST_ADDRS default: the limited broadcast address and 0.0.0.0 (this host). */
export const DEFAULT_BROADCAST_ADDRESSES: readonly string[] = ['255.255.255.255', '0.0.0.0'];

export interface BroadcastResponderOptions {
  /** The name server's URI; when its host is 0.0.0.0 each answer names the interface that reaches the asker. */
  uri: string;
  /** Address to bind (default '' = every interface, as Pyro4's NS_BCHOST). */
  host?: string;
  /** UDP port (default 9091; 0 picks a free one). */
  port?: number;
}

export interface BroadcastResponder {
  /** The bound address and port. */
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

/** Starts answering `GET_NSURI` datagrams. Rejects when the port cannot be bound. */
export async function startBroadcastResponder(options: BroadcastResponderOptions): Promise<BroadcastResponder> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port: options.port ?? BROADCAST_PORT, ...(options.host ? { address: options.host } : {}) }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.setBroadcast(true);
  // A datagram that cannot be answered (the asker vanished) must not stop the responder.
  socket.on('error', () => undefined);
  socket.on('message', (data, from) => {
    if (data.toString('latin1') !== DISCOVERY_REQUEST) return;
    void answerFor(options.uri, from.address).then((answer) => socket.send(Buffer.from(answer, 'latin1'), from.port, from.address, () => undefined));
  });
  const bound = socket.address();
  let closed: Promise<void> | undefined;
  return {
    address: { host: bound.address, port: bound.port },
    close: () => (closed ??= new Promise<void>((resolve) => socket.close(() => resolve()))),
  };
}

/** The URI to send to `asker`: 0.0.0.0 replaced by the local address of the interface that reaches it. */
async function answerFor(uri: string, asker: string): Promise<string> {
  const m = /^(PYRO:[^@]+@)0\.0\.0\.0(:\d+)$/i.exec(uri);
  if (!m) return uri;
  const probe = createSocket('udp4');
  try {
    // Connecting a UDP socket sends nothing; it only picks the route (and so the local address).
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.connect(53, asker, () => resolve());
    });
    return `${m[1] ?? ''}${probe.address().address}${m[2] ?? ''}`;
  } catch {
    return uri;
  } finally {
    probe.close();
  }
}

export interface DiscoverOptions {
  /** UDP port the responders listen on (default 9091). */
  port?: number;
  /** Where to send the request (default Pyro4's: 255.255.255.255 and 0.0.0.0). */
  addresses?: readonly string[];
  /** ms to wait for an answer per attempt (default 700, as Pyro4). */
  timeout?: number;
  /** How many rounds of requests (default 3, as Pyro4). */
  attempts?: number;
  signal?: AbortSignal;
}

/**
 * Finds a name server by broadcast: resolves with the first answer (its URI). Rejects with NamingError when
 * no responder answered in `attempts` rounds.
 */
export async function discoverNameServer(options: DiscoverOptions = {}): Promise<string> {
  const port = options.port ?? BROADCAST_PORT;
  const addresses = options.addresses ?? DEFAULT_BROADCAST_ADDRESSES;
  const timeout = options.timeout ?? 700;
  const attempts = options.attempts ?? 3;
  const socket: Socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.setBroadcast(true);
    socket.on('error', () => undefined);
    for (let round = 0; round < attempts; round++) {
      const answer = new Promise<string | undefined>((resolve) => {
        const done = (value: string | undefined): void => {
          clearTimeout(timer);
          socket.off('message', onMessage);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(value);
        };
        const onMessage = (data: Buffer): void => {
          const text = data.toString('latin1');
          if (/^PYRO:/i.test(text)) done(text);
        };
        const onAbort = (): void => done(undefined);
        const timer = setTimeout(() => done(undefined), timeout);
        socket.on('message', onMessage);
        options.signal?.addEventListener('abort', onAbort, { once: true });
      });
      // An address this host cannot send to (no broadcast route in a sandbox) is skipped, as Pyro4 does.
      for (const address of addresses) socket.send(DISCOVERY_REQUEST, port, address, () => undefined);
      const uri = await answer;
      if (uri) return uri;
      if (options.signal?.aborted) break;
    }
  } finally {
    socket.close();
  }
  throw new NamingError(
    `no name server answered a broadcast on UDP port ${port} (sent to ${addresses.join(', ')}): start one with 'celeriac ns --broadcast' (or 'python3 -m Pyro4.naming' on an address that is not 127.x), or give its host and port`,
  );
}
