/**
 * One socket of direct RPC, either side: a FrameReader for what arrives, and a FrameWriter whose frames
 * leave together once per tick (many calls or replies made in the same tick share one write).
 */
import type { Socket } from 'node:net';
import { CodecId, FrameReader, FrameType, FrameWriter } from '../framing.js';

/** Grace for a peer to read our last frame after we closed our side, before the socket is destroyed. */
const END_GRACE_MS = 2_000;

export class Wire {
  readonly reader: FrameReader;
  readonly writer: FrameWriter;
  private scheduled = false;
  private ended = false;

  constructor(
    readonly socket: Socket,
    maxBody: number,
  ) {
    this.reader = new FrameReader(maxBody);
    this.writer = new FrameWriter(maxBody);
  }

  /** Queues a frame; it is written at the end of this tick. Throws FrameError when the body is too large. */
  send(type: FrameType, id: number, codec: CodecId, body?: Buffer | string): void {
    this.writer.add(type, id, codec, body);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(flushWire, this);
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    this.scheduled = false;
    const bytes = this.writer.take();
    if (bytes !== null && !this.ended && this.socket.writable) this.socket.write(bytes);
  }

  /** Sends a GOAWAY {code, message} now; `end` also closes our side (and destroys the socket after a grace). */
  goAway(code: string, message: string, end: boolean): void {
    if (this.ended) return;
    try {
      this.writer.add(FrameType.GOAWAY, 0, CodecId.JSON, JSON.stringify({ code, message }));
    } catch {
      // A message too long for the limit: the close alone says enough.
    }
    this.flush();
    if (end) this.end();
  }

  /** Flushes and closes our side (the owner ignores what still arrives); destroyed if the peer does not close soon. */
  end(): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), END_GRACE_MS).unref();
  }

  get isEnded(): boolean {
    return this.ended;
  }
}

function flushWire(wire: Wire): void {
  wire.flush();
}
