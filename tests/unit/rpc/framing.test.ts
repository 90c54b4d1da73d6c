/** Direct RPC frames: encode/parse round trips, reassembly at every split, and each lie a peer can tell. */
import { describe, expect, it } from 'vitest';
import { FrameError } from '../../../src/errors.js';
import {
  CodecId,
  FRAME_END,
  FRAME_OVERHEAD,
  FrameReader,
  FrameType,
  FrameWriter,
  HEADER_SIZE,
  encodeFrame,
  parseFrame,
  type Frame,
} from '../../../src/rpc/framing.js';

/** A small seeded PRNG (mulberry32) so that the property cases are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const plain = (f: Frame): { type: number; codec: number; id: number; body: string } => ({
  type: f.type,
  codec: f.codec,
  id: f.id,
  body: f.body.toString('hex'),
});

function randomFrames(random: () => number, count: number): { bytes: Buffer; frames: ReturnType<typeof plain>[] } {
  const writer = new FrameWriter(1 << 20, 256);
  const frames: ReturnType<typeof plain>[] = [];
  for (let i = 0; i < count; i++) {
    const type = (1 + Math.floor(random() * 9)) as FrameType;
    const codec = Math.floor(random() * 4) as CodecId;
    const id = Math.floor(random() * 0xffffffff);
    const size = random() < 0.1 ? Math.floor(random() * 5000) : Math.floor(random() * 40);
    const body = Buffer.alloc(size);
    for (let j = 0; j < size; j++) body[j] = Math.floor(random() * 256);
    if (random() < 0.3) {
      const text = `{"m":"é€😀${'x'.repeat(size % 17)}"}`;
      writer.add(type, id, codec, text);
      frames.push({ type, codec, id, body: Buffer.from(text).toString('hex') });
    } else {
      writer.add(type, id, codec, body);
      frames.push({ type, codec, id, body: body.toString('hex') });
    }
  }
  return { bytes: Buffer.from(writer.take() as Buffer), frames };
}

describe('frame encoding', () => {
  it('draws the header as documented', () => {
    const frame = encodeFrame(FrameType.REQUEST, 0x01020304, CodecId.MSGPACK, Buffer.from([0xaa, 0xbb]));
    expect([...frame]).toEqual([0x63, 0x72, 1, 4, 2, 0, 1, 2, 3, 4, 0, 0, 0, 2, 0xaa, 0xbb, FRAME_END]);
    expect(frame.length).toBe(FRAME_OVERHEAD + 2);
  });

  it('round-trips every type and codec, the largest id, empty and utf-8 string bodies', () => {
    for (const type of Object.values(FrameType)) {
      for (const codec of Object.values(CodecId)) {
        const frame = parseFrame(encodeFrame(type, 0xffffffff, codec, 'é€😀'));
        expect(frame && plain(frame)).toEqual({ type, codec, id: 0xffffffff, body: Buffer.from('é€😀').toString('hex') });
      }
    }
    const empty = parseFrame(encodeFrame(FrameType.HEARTBEAT, 7, CodecId.RAW));
    expect(empty?.body.length).toBe(0);
  });

  it('refuses ids that are not uint32 and bodies over the limit, leaving the writer unchanged', () => {
    const writer = new FrameWriter(1024, 64);
    writer.add(FrameType.REPLY, 1, CodecId.JSON, '1');
    expect(() => writer.add(FrameType.REPLY, -1, CodecId.JSON, '1')).toThrow(FrameError);
    expect(() => writer.add(FrameType.REPLY, 2 ** 32, CodecId.JSON, '1')).toThrow(FrameError);
    expect(() => writer.add(FrameType.REPLY, 2, CodecId.RAW, Buffer.alloc(1025))).toThrow(/1025 bytes is larger than the limit of 1024/);
    // 400 three-byte characters: 1200 bytes, over the limit though the string is short.
    expect(() => writer.add(FrameType.REPLY, 3, CodecId.JSON, '€'.repeat(400))).toThrow(/1200 bytes is larger than the limit of 1024/);
    expect(() => writer.add(FrameType.REPLY, 3, CodecId.JSON, '€'.repeat(100_000))).toThrow(/300000 bytes/);
    writer.add(FrameType.REPLY, 4, CodecId.JSON, 'x'.repeat(1024));
    const bytes = writer.take() as Buffer;
    const reader = new FrameReader(1024);
    expect(reader.push(bytes).map((f) => f.id)).toEqual([1, 4]);
    expect(writer.take()).toBeNull();
  });

  it('never writes over bytes it has handed out', () => {
    const writer = new FrameWriter(1 << 20, 64);
    const taken: Buffer[] = [];
    for (let i = 0; i < 100; i++) {
      writer.add(FrameType.REPLY, i, CodecId.JSON, JSON.stringify({ i, pad: 'p'.repeat(i) }));
      if (i % 3 === 0) taken.push(writer.take() as Buffer);
    }
    expect(writer.take()).toBeNull(); // the 100th frame was taken in the loop
    const reader = new FrameReader();
    const frames = taken.flatMap((chunk) => reader.push(chunk));
    expect(frames.map((f) => JSON.parse(f.body.toString()).i)).toEqual([...Array(100).keys()]);
  });
});

describe('frame reader', () => {
  it('answers "need more" until a frame is whole', () => {
    const bytes = encodeFrame(FrameType.REPLY, 9, CodecId.JSON, '[1,2,3]');
    for (let cut = 0; cut < bytes.length; cut++) expect(parseFrame(bytes.subarray(0, cut))).toBeNull();
    const reader = new FrameReader();
    expect(reader.push(bytes.subarray(0, 5))).toEqual([]);
    expect(reader.pending).toBe(5);
    expect(reader.push(bytes.subarray(5, HEADER_SIZE + 2))).toEqual([]);
    expect(reader.expected).toBe(bytes.length);
    const [frame] = reader.push(bytes.subarray(HEADER_SIZE + 2));
    expect(frame?.body.toString()).toBe('[1,2,3]');
    expect(reader.pending).toBe(0);
  });

  it('reassembles the same frames whatever the chunk boundaries (property, 200 seeded streams)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const { bytes, frames } = randomFrames(random, 1 + Math.floor(random() * 30));
      const reader = new FrameReader(1 << 20);
      const got: ReturnType<typeof plain>[] = [];
      let at = 0;
      while (at < bytes.length) {
        const size = random() < 0.3 ? 1 : 1 + Math.floor(random() * (random() < 0.5 ? 20 : 3000));
        got.push(...reader.push(bytes.subarray(at, at + size)).map(plain));
        at += size;
      }
      expect(got, `seed ${seed}`).toEqual(frames);
      expect(reader.pending).toBe(0);
    }
  });

  it('reassembles a stream split at every single byte position', () => {
    const { bytes, frames } = randomFrames(prng(42), 6);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new FrameReader(1 << 20);
      const got = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))].map(plain);
      expect(got).toEqual(frames);
    }
  });

  it('refuses a frame larger than the limit from its header alone, before the body arrives', () => {
    const header = encodeFrame(FrameType.REQUEST, 1, CodecId.JSON, Buffer.alloc(2048)).subarray(0, HEADER_SIZE);
    expect(() => new FrameReader(1024).push(header)).toThrow(/announces 2048 bytes, more than the limit of 1024/);
    // Even when the header trickles in byte by byte.
    const reader = new FrameReader(1024);
    for (let i = 0; i < HEADER_SIZE - 1; i++) expect(reader.push(header.subarray(i, i + 1))).toEqual([]);
    expect(() => reader.push(header.subarray(HEADER_SIZE - 1))).toThrow(FrameError);
    // A claim of 4 GiB is refused at the default limit of 16 MiB.
    const huge = Buffer.from(header);
    huge.writeUInt32BE(0xffffffff, 10);
    expect(() => new FrameReader().push(huge)).toThrow(/announces 4294967295 bytes/);
  });

  it('catches a frame that lies about its length, shorter or longer', () => {
    const good = encodeFrame(FrameType.REQUEST, 1, CodecId.JSON, '{"method":"add"}');
    const shorter = Buffer.from(good);
    shorter.writeUInt32BE(10, 10);
    expect(() => new FrameReader().push(shorter)).toThrow(/does not end where its length \(10 bytes\) says/);
    const longer = Buffer.from(good);
    longer.writeUInt32BE(20, 10);
    const reader = new FrameReader();
    expect(reader.push(longer)).toEqual([]); // the body might still come
    expect(() => reader.push(good)).toThrow(/lies about the length/); // the next frame shows the lie
  });

  it('refuses what is not a celeriac frame, an unknown type, codec, flags or version', () => {
    expect(() => new FrameReader().push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toThrow(/starts with 'GET '.*HTTP/);
    const frame = (): Buffer => Buffer.from(encodeFrame(FrameType.CAST, 1, CodecId.JSON, '{}'));
    const cases: [number, number, RegExp][] = [
      [3, 0, /unknown frame type 0/],
      [3, 10, /unknown frame type 10/],
      [4, 4, /unknown body codec 4/],
      [5, 1, /unknown frame flags 0x1/],
      [2, 2, /frame version 2 is not supported/],
    ];
    for (const [offset, value, message] of cases) {
      const bad = frame();
      bad[offset] = value;
      expect(() => parseFrame(bad)).toThrow(message);
      expect(() => new FrameReader().push(bad)).toThrow(FrameError);
    }
  });

  it('parses several frames from one chunk without copying their bodies', () => {
    const writer = new FrameWriter();
    for (let i = 1; i <= 50; i++) writer.add(FrameType.REPLY, i, CodecId.JSON, String(i));
    const chunk = writer.take() as Buffer;
    const frames = new FrameReader().push(chunk);
    expect(frames.map((f) => Number(f.body.toString()))).toEqual([...Array(50).keys()].map((i) => i + 1));
    expect(frames[0]?.body.buffer).toBe(chunk.buffer);
  });
});
