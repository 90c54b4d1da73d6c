/**
 * The dashboard's Server-Sent Events streams. GET /api/events: every event as JSON, one frame each (Flower's
 * stream), written in one chunk per turn of the event loop; a client that cannot keep up (over 4 MiB
 * unsent) misses events and is told how many. GET /api/live: at most four ticks a second saying how many
 * events came since the last, which is all the page needs to redraw at any event rate.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_UNSENT = 4 << 20;
const TICK_MS = 250;
const KEEP_ALIVE_MS = 15_000;

interface Stream {
  res: ServerResponse;
  dropped: number;
}

export class LiveStreams {
  private readonly events = new Set<Stream>();
  private readonly ticks = new Set<ServerResponse>();
  private pending: string[] = [];
  private flushing = false;
  private sequence = 0;
  private since = 0;
  private readonly timers: NodeJS.Timeout[];

  constructor() {
    this.timers = [
      setInterval(() => this.tick(), TICK_MS),
      // Comments keep idle streams (and the proxies between) open.
      setInterval(() => {
        for (const s of this.events) s.res.write(': keep-alive\n\n');
        for (const res of this.ticks) res.write(': keep-alive\n\n');
      }, KEEP_ALIVE_MS),
    ];
    for (const t of this.timers) t.unref();
  }

  private open(req: IncomingMessage, res: ServerResponse, hello: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(hello);
  }

  /** GET /api/events */
  addEventStream(req: IncomingMessage, res: ServerResponse): void {
    this.open(req, res, ': celeriac events\n\n');
    const stream: Stream = { res, dropped: 0 };
    this.events.add(stream);
    req.on('close', () => this.events.delete(stream));
  }

  /** GET /api/live */
  addTickStream(req: IncomingMessage, res: ServerResponse): void {
    this.open(req, res, ': celeriac live\n\n');
    this.ticks.add(res);
    req.on('close', () => this.ticks.delete(res));
  }

  get clients(): number {
    return this.events.size + this.ticks.size;
  }

  /** Queues one event for the streams. */
  publish(event: object): void {
    this.since++;
    if (this.events.size === 0) return;
    this.pending.push(`id: ${++this.sequence}\ndata: ${JSON.stringify(event)}\n\n`);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushing = false;
    const frames = this.pending;
    this.pending = [];
    if (frames.length === 0) return;
    const chunk = frames.join('');
    for (const s of this.events) {
      if (s.res.writableLength > MAX_UNSENT) {
        s.dropped += frames.length;
        continue;
      }
      if (s.dropped) {
        s.res.write(`: ${s.dropped} events dropped (this client read too slowly)\n\n`);
        s.dropped = 0;
      }
      s.res.write(chunk);
    }
  }

  private tick(): void {
    if (this.since === 0) return;
    const frame = `data: ${JSON.stringify({ events: this.since })}\n\n`;
    this.since = 0;
    for (const res of this.ticks) if (res.writableLength < MAX_UNSENT) res.write(frame);
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.events) s.res.end();
    for (const res of this.ticks) res.end();
    this.events.clear();
    this.ticks.clear();
  }
}
