/**
 * celeriac's length-prefixed frames for direct RPC (`tcp://`, `tls://`): pure encode and parse, no socket.
 * A parser takes buffers and returns whole frames or "need more"; every violation is a FrameError.
 *
 *   0      2      3      4       5       6             10             14           14+len   15+len
 *   +------+------+------+-------+-------+-------------+--------------+ +----------+ +-----+
 *   | 'cr' | ver  | type | codec | flags | request id  | body length  | | body     | | end |
 *   +------+------+------+-------+-------+-------------+--------------+ +----------+ +-----+
 *    2 oct  octet  octet  octet   octet   uint32 BE     uint32 BE        len octets   0xCE
 *
 * magic   0x63 0x72 ('cr'): anything else (an HTTP request, TLS to a plain port) is refused at once.
 * ver     1.
 * type    1 HELLO    S→C  id 0  json {protocol, auth, nonce?}: the server's greeting (and challenge)
 *         2 AUTH     C→S  id 0  json {nonce, proof}: the client's answer (shared secret only)
 *         3 WELCOME  S→C  id 0  json {proof}: the server's proof; the connection is open
 *         4 REQUEST  C→S  id n  body = the request; one REPLY or ERROR with the same id answers it
 *         5 CAST     C→S  id n  body = the request; no answer
 *         6 REPLY    S→C  id n  body = the result
 *         7 ERROR    S→C  id n  body = RemoteErrorInfo (the method raised)
 *         8 HEARTBEAT S→C id n  empty: call n still runs (the caller restarts its timeout)
 *         9 GOAWAY   both id 0  json {code, message}: the sender closes (a refusal, a bad frame, a shutdown)
 * codec   0 raw (opaque bytes), 1 json (utf-8), 2 msgpack, 3 protobuf (bytes for a registered body codec).
 * flags   reserved, 0 in version 1.
 * id      which call a frame belongs to: many calls run at once on one connection, replies in any order.
 * length  of the body only; larger than the limit (maxMessageSize) is refused before the body is read.
 * end     0xCE: a frame whose end octet is elsewhere lies about its length.
 */
import { FrameError } from '../errors.js';

export const MAGIC_0 = 0x63;
export const MAGIC_1 = 0x72;
export const FRAME_VERSION = 1;
export const FRAME_END = 0xce;
export const HEADER_SIZE = 14;
/** Header plus end octet: the bytes a frame adds to its body. */
export const FRAME_OVERHEAD = HEADER_SIZE + 1;
/** The default largest body (16 MiB). */
export const DEFAULT_MAX_BODY = 16 * 1024 * 1024;

export const FrameType = {
  HELLO: 1,
  AUTH: 2,
  WELCOME: 3,
  REQUEST: 4,
  CAST: 5,
  REPLY: 6,
  ERROR: 7,
  HEARTBEAT: 8,
  GOAWAY: 9,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const CodecId = { RAW: 0, JSON: 1, MSGPACK: 2, PROTOBUF: 3 } as const;
export type CodecId = (typeof CodecId)[keyof typeof CodecId];

const TYPE_NAMES = ['', 'HELLO', 'AUTH', 'WELCOME', 'REQUEST', 'CAST', 'REPLY', 'ERROR', 'HEARTBEAT', 'GOAWAY'];
const CODEC_NAMES = ['raw', 'json', 'msgpack', 'protobuf'];

export const frameTypeName = (type: number): string => TYPE_NAMES[type] || `unknown type ${type}`;
export const codecName = (codec: number): string => CODEC_NAMES[codec] ?? `unknown codec ${codec}`;

export interface Frame {
  type: FrameType;
  codec: CodecId;
  id: number;
  /** A view into the received bytes (no copy). */
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);
const MAX_ID = 0xffffffff;

/** Checks the header at `offset` (14 bytes must be there) and returns the body length it announces. */
function checkHeader(buf: Buffer, offset: number, maxBody: number): number {
  if (buf[offset] !== MAGIC_0 || buf[offset + 1] !== MAGIC_1) {
    const start = buf.subarray(offset, offset + 4).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
    throw new FrameError(
      `not a celeriac frame (it starts with '${start}', expected 'cr'): the peer does not speak celeriac's ` +
        `direct RPC (is it an HTTP client, or TLS talking to a plain tcp:// port?)`,
    );
  }
  const version = buf[offset + 2] as number;
  if (version !== FRAME_VERSION) {
    throw new FrameError(`frame version ${version} is not supported (this side speaks ${FRAME_VERSION}): upgrade the older peer`);
  }
  const type = buf[offset + 3] as number;
  if (type < FrameType.HELLO || type > FrameType.GOAWAY) {
    throw new FrameError(`unknown frame type ${type}: the peer speaks a newer or a different protocol`);
  }
  const codec = buf[offset + 4] as number;
  if (codec > CodecId.PROTOBUF) {
    throw new FrameError(`unknown body codec ${codec} in a ${frameTypeName(type)} frame: known are 0 raw, 1 json, 2 msgpack, 3 protobuf`);
  }
  const flags = buf[offset + 5] as number;
  if (flags !== 0) {
    throw new FrameError(`unknown frame flags 0x${flags.toString(16)} in a ${frameTypeName(type)} frame: the peer speaks a newer protocol`);
  }
  const length = buf.readUInt32BE(offset + 10);
  if (length > maxBody) {
    throw new FrameError(
      `a ${frameTypeName(type)} frame announces ${length} bytes, more than the limit of ${maxBody}: ` +
        `send less, or raise maxMessageSize on both ends`,
    );
  }
  return length;
}

/**
 * Parses one frame at `offset`: the frame, or null when more bytes are needed. Throws FrameError as soon as
 * the header is wrong (a body larger than `maxBody` is refused from its header alone).
 */
export function parseFrame(buf: Buffer, offset = 0, maxBody = DEFAULT_MAX_BODY): Frame | null {
  if (buf.length - offset < HEADER_SIZE) return null;
  const length = checkHeader(buf, offset, maxBody);
  const end = offset + HEADER_SIZE + length;
  if (buf.length <= end) return null;
  if (buf[end] !== FRAME_END) {
    throw new FrameError(
      `a ${frameTypeName(buf[offset + 3] as number)} frame does not end where its length (${length} bytes) says: ` +
        `the peer lies about the length or writes corrupt frames`,
    );
  }
  return {
    type: buf[offset + 3] as FrameType,
    codec: buf[offset + 4] as CodecId,
    id: buf.readUInt32BE(offset + 6),
    body: length === 0 ? EMPTY : buf.subarray(offset + HEADER_SIZE, end),
  };
}

/**
 * Reassembles frames from the chunks a stream delivers. Bytes of an incomplete frame wait until the frame
 * is whole (copied once, whatever the number of chunks). After a FrameError the stream is unusable: close it.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before parsing again: a header, or the whole current frame once its header is known. */
  private need = HEADER_SIZE;

  constructor(private readonly maxBody = DEFAULT_MAX_BODY) {}

  /** Bytes held of a frame not yet complete (0 between frames). */
  get pending(): number {
    return this.buffered;
  }

  /** Bytes the incomplete frame needs in all (its header, then its full size once the header is known). */
  get expected(): number {
    return this.need;
  }

  /** Adds a chunk; returns the frames it completes (often none, or several). */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let offset = 0;
    // First finish the frame that waits, copying only its own bytes out of this chunk.
    while (this.buffered > 0) {
      const missing = this.need - this.buffered;
      const available = chunk.length - offset;
      if (available < missing) {
        if (available > 0) this.chunks.push(offset === 0 ? chunk : chunk.subarray(offset));
        this.buffered += available;
        return frames;
      }
      this.chunks.push(chunk.subarray(offset, offset + missing));
      offset += missing;
      const joined = Buffer.concat(this.chunks, this.need);
      if (this.need === HEADER_SIZE) {
        // The header is whole: check it now (a too-large frame is refused before its body arrives).
        this.need = FRAME_OVERHEAD + checkHeader(joined, 0, this.maxBody);
        this.chunks = [joined];
        this.buffered = HEADER_SIZE;
      } else {
        frames.push(parseFrame(joined, 0, this.maxBody) as Frame);
        this.chunks = [];
        this.buffered = 0;
        this.need = HEADER_SIZE;
      }
    }
    // Between frames: parse straight out of the chunk, without copying.
    for (;;) {
      const frame = parseFrame(chunk, offset, this.maxBody);
      if (frame === null) break;
      frames.push(frame);
      offset += FRAME_OVERHEAD + frame.body.length;
    }
    const rest = chunk.length - offset;
    if (rest > 0) {
      this.chunks.push(offset === 0 ? chunk : chunk.subarray(offset));
      this.buffered = rest;
      // parseFrame has checked a whole header already; wait for exactly the frame it announces.
      this.need = rest >= HEADER_SIZE ? FRAME_OVERHEAD + chunk.readUInt32BE(offset + 10) : HEADER_SIZE;
    }
    return frames;
  }
}

/**
 * Builds frames into one growing buffer so that many frames leave in one write. `take()` hands out the bytes
 * written since the last take (a view: the writer never writes over bytes it has handed out).
 */
export class FrameWriter {
  private buf: Buffer;
  private start = 0;
  private end = 0;

  constructor(
    private readonly maxBody = DEFAULT_MAX_BODY,
    private readonly blockSize = 64 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(blockSize);
  }

  /** Bytes written and not yet taken. */
  get size(): number {
    return this.end - this.start;
  }

  /** Appends one frame. A body larger than the limit throws FrameError and leaves the writer unchanged. */
  add(type: FrameType, id: number, codec: CodecId, body: Buffer | string = EMPTY): void {
    if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new FrameError(`request id ${id} is not a uint32`);
    const most = typeof body === 'string' ? body.length * 3 : body.length;
    this.reserve(FRAME_OVERHEAD + Math.min(most, this.maxBody + 1));
    const buf = this.buf;
    const at = this.end;
    let length: number;
    if (typeof body === 'string') {
      length = body.length === 0 ? 0 : buf.write(body, at + HEADER_SIZE, Math.min(most, this.maxBody + 1), 'utf8');
      if (length > this.maxBody || most > this.maxBody + 1) length = Math.max(length, Buffer.byteLength(body, 'utf8'));
    } else {
      length = body.length;
      if (length <= this.maxBody) body.copy(buf, at + HEADER_SIZE);
    }
    if (length > this.maxBody) {
      throw new FrameError(
        `a ${frameTypeName(type)} body of ${length} bytes is larger than the limit of ${this.maxBody}: ` +
          `send less, or raise maxMessageSize on both ends`,
      );
    }
    buf[at] = MAGIC_0;
    buf[at + 1] = MAGIC_1;
    buf[at + 2] = FRAME_VERSION;
    buf[at + 3] = type;
    buf[at + 4] = codec;
    buf[at + 5] = 0;
    buf.writeUInt32BE(id, at + 6);
    buf.writeUInt32BE(length, at + 10);
    buf[at + HEADER_SIZE + length] = FRAME_END;
    this.end = at + FRAME_OVERHEAD + length;
  }

  /** The frames added since the last take, or null when there are none. */
  take(): Buffer | null {
    if (this.end === this.start) return null;
    const out = this.buf.subarray(this.start, this.end);
    this.start = this.end;
    return out;
  }

  private reserve(bytes: number): void {
    if (this.buf.length - this.end >= bytes) return;
    // Bytes handed out stay with their reader; pending bytes move to a fresh block.
    const fresh = Buffer.allocUnsafe(Math.max(this.blockSize, bytes + (this.end - this.start)));
    this.buf.copy(fresh, 0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
    this.buf = fresh;
  }
}

/** One frame as a fresh buffer (handshakes, tests; the hot path uses a FrameWriter). */
export function encodeFrame(type: FrameType, id: number, codec: CodecId, body: Buffer | string = EMPTY, maxBody = DEFAULT_MAX_BODY): Buffer {
  const writer = new FrameWriter(maxBody, FRAME_OVERHEAD + (typeof body === 'string' ? body.length * 3 : body.length));
  writer.add(type, id, codec, body);
  return writer.take() as Buffer;
}
