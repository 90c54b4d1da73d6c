// The compute service of the example: its interface (what callers see) and the endpoint (what servers run),
// oslo.messaging style: keyword arguments, a version, a caller context.
import { hostname } from 'node:os';
import { Celeriac, type RpcCallContext } from 'celeriac';

/** The app both sides share: the embedded SQLite broker by default (CELERIAC_BROKER_URL to change it). */
export const app = new Celeriac('compute-rpc');

export interface ComputeApi {
  add(args: { x: number; y: number }): { sum: number; server: string };
  slow(args: { ms: number }): Promise<string>;
  reload(args: { reason: string }): void;
  log(args: { line: string }): void;
}

/** Version 1.3 of the API: callers that need 1.0 to 1.3 are served. */
export class ComputeEndpoint implements ComputeApi {
  readonly target = { version: '1.3' };
  reloads = 0;
  constructor(readonly server: string = hostname()) {}

  /** Adds two numbers and says which server did it. */
  add({ x, y }: { x: number; y: number }, ctx?: RpcCallContext): { sum: number; server: string } {
    console.log(`[${this.server}] add(${x}, ${y}) for ${String(ctx?.context['user'] ?? 'anonymous')}`);
    return { sum: x + y, server: this.server };
  }

  /** Takes its time: the server heartbeats the caller meanwhile, so the call outlives its timeout. */
  async slow({ ms }: { ms: number }): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return `${this.server} slept ${ms} ms`;
  }

  /** Reloads the configuration (sent to every server with a fanout cast). */
  reload({ reason }: { reason: string }): void {
    this.reloads++;
    console.log(`[${this.server}] reload #${this.reloads}: ${reason}`);
  }

  /** Writes a line to the server's log (a cast: nobody waits for it). */
  log({ line }: { line: string }): void {
    console.log(`[${this.server}] log: ${line}`);
  }
}
