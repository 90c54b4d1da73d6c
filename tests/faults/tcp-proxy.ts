// A TCP proxy for partition tests (node:net): forwards to a target, and can stop forwarding WITHOUT closing any
// socket (a blackhole: both sides stop reading, so bytes wait in kernel buffers as in a real partition, and
// connections made meanwhile are accepted but carry nothing), then resume.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private blackholed = false;
  /** Connections accepted so far (each reconnect of a client is one). */
  accepted = 0;

  constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  /** Starts listening on 127.0.0.1 (a free port); returns the port. */
  async listen(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('proxy has no TCP address');
    return address.port;
  }

  private accept(client: Socket): void {
    this.accepted++;
    const upstream = connect(this.targetPort, this.targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    // Plain 'data' forwarding, not pipe(): pipe() resumes a paused source on the sink's 'drain', which would
    // end a blackhole early. (Backpressure does not matter for the few bytes of a test.)
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (this.blackholed) this.hold(pair);
  }

  private hold([a, b]: [Socket, Socket]): void {
    a.pause();
    b.pause();
  }

  /** Stops forwarding in both directions; sockets stay open, new connections are accepted and held. */
  blackhole(): void {
    this.blackholed = true;
    for (const pair of this.pairs) this.hold(pair);
  }

  /** Forwards again (what waited in the buffers flows on). */
  heal(): void {
    this.blackholed = false;
    for (const [a, b] of this.pairs) {
      a.resume();
      b.resume();
    }
  }

  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
