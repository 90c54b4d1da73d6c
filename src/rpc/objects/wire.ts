/**
 * Pyro4's wire message (protocol version 48, Pyro4 4.82), as a pure codec: bytes in, message out, no I/O.
 * A message is a 24-byte header, then annotation chunks, then the (serialized) data:
 *
 *   byte  0      4      6      8      10     12            16     18     20     22     24
 *         +------+------+------+------+------+-------------+------+------+------+------+
 *         | PYRO | ver  | type | flags| seq  | data size   | ser  | ann  | rsvd | csum |
 *         +------+------+------+------+------+-------------+------+------+------+------+
 *         magic 'PYRO'; ver 48; u16 big-endian fields except data size (i32 big-endian, 0 .. 2^31-1);
 *         ser: serializer id; ann: total bytes of the annotation chunks; rsvd: 0;
 *         csum = (type + ver + data size + ann + ser + flags + seq + 0x34E9) & 0xFFFF
 *
 *   annotation chunk:  | id (4 ASCII bytes) | length (u16 BE) | value (length bytes) |   ... repeated
 *     'HMAC'  HMAC-SHA1(key, data + every other annotation value in key order)  (both directions)
 *     'CORR'  correlation id, 16 uuid bytes            'STRM'  remote iterator id (item streaming)
 *     'BLBI'  marshal'd (info, object id, method) of a keep-serialized blob
 *   data: data size bytes, zlib-compressed when the 'compressed' flag is set.
 *
 *   types: 1 connect  2 connectok  3 connectfail  4 invoke  5 result  6 ping
 *   flags: 1 exception  2 compressed  4 oneway  8 batch  16 meta-data on connect  32 items streaming
 *          64 keep-serialized
 *   serializer ids: 1 serpent  2 json  3 marshal  4 pickle  5 dill  6 msgpack  7 cloudpickle
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { FrameError, RpcAuthError } from '../../errors.js';

export const PROTOCOL_VERSION = 48;
export const HEADER_SIZE = 24;
const MAGIC = 0x5059524f; // 'PYRO'
const CHECKSUM_MAGIC = 0x34e9;
const MAGIC_BYTES = Buffer.from('PYRO', 'latin1');

export const MSG = { CONNECT: 1, CONNECTOK: 2, CONNECTFAIL: 3, INVOKE: 4, RESULT: 5, PING: 6 } as const;
export const FLAG = {
  EXCEPTION: 1,
  COMPRESSED: 2,
  ONEWAY: 4,
  BATCH: 8,
  META_ON_CONNECT: 16,
  ITEMSTREAMRESULT: 32,
  KEEPSERIALIZED: 64,
} as const;
export const SERIALIZER_ID = { serpent: 1, json: 2, marshal: 3, pickle: 4, dill: 5, msgpack: 6, cloudpickle: 7 } as const;
export type SerializerName = keyof typeof SERIALIZER_ID;

export function serializerName(id: number): SerializerName | undefined {
  for (const [name, value] of Object.entries(SERIALIZER_ID)) if (value === id) return name as SerializerName;
  return undefined;
}

export interface PyroMessage {
  type: number;
  flags: number;
  seq: number;
  serializerId: number;
  /** Annotation chunks by their 4-letter id (without 'HMAC', which the codec adds and checks). */
  annotations: Map<string, Buffer>;
  data: Buffer;
}

export interface PyroHeader {
  type: number;
  flags: number;
  seq: number;
  dataSize: number;
  serializerId: number;
  annotationsSize: number;
}

function hmacOf(key: Buffer, data: Buffer, annotations: Map<string, Buffer>): Buffer {
  const mac = createHmac('sha1', key).update(data);
  for (const id of [...annotations.keys()].sort()) if (id !== 'HMAC') mac.update(annotations.get(id) as Buffer);
  return mac.digest();
}

/** Encodes a message; with a key, adds the 'HMAC' chunk over the data and the other annotations. */
export function encodeMessage(msg: PyroMessage, hmacKey?: Buffer): Buffer {
  const chunks: [string, Buffer][] = [];
  for (const [id, value] of msg.annotations) if (id !== 'HMAC') chunks.push([id, value]);
  if (hmacKey) chunks.push(['HMAC', hmacOf(hmacKey, msg.data, msg.annotations)]);
  let annSize = 0;
  for (const [id, value] of chunks) {
    if (id.length !== 4 || !/^[\x20-\x7e]{4}$/.test(id)) throw new FrameError(`annotation id '${id}' must be 4 ASCII characters`);
    if (value.length > 0xffff) throw new FrameError(`annotation '${id}' is ${value.length} bytes; at most 65535 fit in a chunk`);
    annSize += 6 + value.length;
  }
  if (annSize > 0xffff) throw new FrameError(`annotations take ${annSize} bytes; at most 65535 fit in a Pyro header`);
  if (msg.data.length > 0x7fffffff) throw new FrameError('message data over 2 GiB cannot be sent in a Pyro message');
  const out = Buffer.allocUnsafe(HEADER_SIZE + annSize + msg.data.length);
  out.writeUInt32BE(MAGIC, 0);
  out.writeUInt16BE(PROTOCOL_VERSION, 4);
  out.writeUInt16BE(msg.type, 6);
  out.writeUInt16BE(msg.flags, 8);
  out.writeUInt16BE(msg.seq & 0xffff, 10);
  out.writeInt32BE(msg.data.length, 12);
  out.writeUInt16BE(msg.serializerId, 16);
  out.writeUInt16BE(annSize, 18);
  out.writeUInt16BE(0, 20);
  const sum = msg.type + PROTOCOL_VERSION + msg.data.length + annSize + msg.serializerId + msg.flags + (msg.seq & 0xffff) + CHECKSUM_MAGIC;
  out.writeUInt16BE(sum & 0xffff, 22);
  let at = HEADER_SIZE;
  for (const [id, value] of chunks) {
    out.write(id, at, 'latin1');
    out.writeUInt16BE(value.length, at + 4);
    value.copy(out, at + 6);
    at += 6 + value.length;
  }
  msg.data.copy(out, at);
  return out;
}

/** Parses and checks a 24-byte header: magic, version, checksum, sizes. Throws FrameError when it lies. */
export function decodeHeader(buf: Buffer, offset = 0): PyroHeader {
  if (buf.length - offset < HEADER_SIZE) throw new FrameError('a Pyro header is 24 bytes; fewer arrived');
  if (buf.readUInt32BE(offset) !== MAGIC) {
    throw new FrameError(`not a Pyro message: it starts with ${JSON.stringify(buf.subarray(offset, offset + 4).toString('latin1'))}, not 'PYRO'`);
  }
  const version = buf.readUInt16BE(offset + 4);
  if (version !== PROTOCOL_VERSION) {
    throw new FrameError(`Pyro protocol version ${version} is not supported: this is Pyro4's protocol 48 (Pyro4 4.x; Pyro5 speaks 502)`);
  }
  const h: PyroHeader = {
    type: buf.readUInt16BE(offset + 6),
    flags: buf.readUInt16BE(offset + 8),
    seq: buf.readUInt16BE(offset + 10),
    dataSize: buf.readInt32BE(offset + 12),
    serializerId: buf.readUInt16BE(offset + 16),
    annotationsSize: buf.readUInt16BE(offset + 18),
  };
  const sum = (h.type + version + h.dataSize + h.annotationsSize + h.serializerId + h.flags + h.seq + CHECKSUM_MAGIC) & 0xffff;
  if (sum !== buf.readUInt16BE(offset + 22)) throw new FrameError('Pyro header checksum mismatch: the header is corrupt or forged');
  if (h.dataSize < 0) throw new FrameError(`Pyro header gives a negative data size (${h.dataSize})`);
  if (h.type < MSG.CONNECT || h.type > MSG.PING) throw new FrameError(`unknown Pyro message type ${h.type}`);
  return h;
}

export interface DecodeOptions {
  /** Largest data + annotations accepted, in bytes (a larger header closes the connection). */
  maxMessageSize: number;
  hmacKey?: Buffer | undefined;
}

export interface Decoded {
  message: PyroMessage;
  /** Bytes of `buf` the message used. */
  size: number;
  /** Set when the HMAC does not match the key (or one side has no key): the message must not be acted upon. */
  authError?: RpcAuthError;
}

/**
 * Decodes one message from the start of `buf` (at `offset`), or returns null when more bytes are needed.
 * Throws FrameError for a header that lies; an HMAC that does not match (or a key on one side only) is `authError`.
 */
export function decodeMessage(buf: Buffer, options: DecodeOptions, offset = 0): Decoded | null {
  if (buf.length - offset < HEADER_SIZE) {
    // Fail early on a wrong magic, so junk is refused without waiting for 24 bytes.
    const n = Math.min(4, buf.length - offset);
    if (n > 0 && buf.compare(MAGIC_BYTES, 0, n, offset, offset + n) !== 0) {
      throw new FrameError(`not a Pyro message: it starts with ${JSON.stringify(buf.toString('latin1', offset, offset + n))}, not 'PYRO'`);
    }
    return null;
  }
  const h = decodeHeader(buf, offset);
  const body = h.dataSize + h.annotationsSize;
  if (body > options.maxMessageSize) {
    throw new FrameError(`Pyro message of ${body} bytes is larger than the ${options.maxMessageSize} allowed (maxMessageSize)`);
  }
  if (buf.length - offset < HEADER_SIZE + body) return null;
  const annotations = new Map<string, Buffer>();
  let at = offset + HEADER_SIZE;
  const annEnd = at + h.annotationsSize;
  while (at < annEnd) {
    if (annEnd - at < 6) throw new FrameError('Pyro annotation chunks do not add up to the size in the header');
    const id = buf.toString('latin1', at, at + 4);
    const len = buf.readUInt16BE(at + 4);
    if (at + 6 + len > annEnd) throw new FrameError(`Pyro annotation '${id}' runs past the annotations size in the header`);
    annotations.set(id, buf.subarray(at + 6, at + 6 + len));
    at += 6 + len;
  }
  const data = buf.subarray(annEnd, annEnd + h.dataSize);
  const authError = checkHmac(options.hmacKey, data, annotations);
  annotations.delete('HMAC');
  return {
    message: { type: h.type, flags: h.flags, seq: h.seq, serializerId: h.serializerId, annotations, data },
    size: HEADER_SIZE + body,
    ...(authError ? { authError } : {}),
  };
}

/** Checks the 'HMAC' chunk against the key: an RpcAuthError when it differs, or when only one side has a key. */
function checkHmac(key: Buffer | undefined, data: Buffer, annotations: Map<string, Buffer>): RpcAuthError | undefined {
  const mac = annotations.get('HMAC');
  if (mac && key) {
    const expected = hmacOf(key, data, annotations);
    if (mac.length === expected.length && timingSafeEqual(mac, expected)) return undefined;
    return new RpcAuthError('Pyro message HMAC mismatch: the peer uses another HMAC key (secret); give both sides the same key');
  }
  if (!mac && !key) return undefined;
  return new RpcAuthError(
    mac
      ? 'the peer signs its messages with an HMAC key but this side has none: set the same secret here (Pyro4: _pyroHmacKey)'
      : 'the peer sent a message without HMAC but this side requires one: give the peer the same secret (Pyro4: _pyroHmacKey)',
  );
}
