/**
 * Compressed task bodies (Celery's task_compression): kombu names the compressor in the `compression`
 * header and compresses the serialized body. Decompression is bounded: a body that inflates past
 * maxMessageSize (a "zip bomb", whose small size lies about what it holds) is refused, never expanded.
 *
 *   header value            kombu name   here
 *   application/x-gzip      zlib, gzip   inflated (zlib or gzip framing, detected)
 *   application/x-brotli    brotli       inflated
 *   application/x-bz2, application/x-lzma, application/zstd   refused with a clear error
 */
import { brotliDecompressSync, unzipSync } from 'node:zlib';
import { ContentDisallowedError, MessageTooLargeError, ProtocolError } from '../errors.js';

const MAX_OUTPUT = 2 ** 31 - 1;

/** The body as serialized: `body` itself when no `compression` header is set, else inflated (at most `max` bytes; 0 = no limit). */
export function decompressBody(headers: Record<string, unknown>, body: Buffer, max: number): Buffer {
  const kind = headers['compression'];
  if (kind === undefined || kind === null || kind === '') return body;
  if (typeof kind !== 'string') throw new ProtocolError(`header 'compression' must be a content type such as 'application/x-gzip', got ${JSON.stringify(kind)?.slice(0, 80)}`);
  const options = { maxOutputLength: max > 0 ? Math.min(max, MAX_OUTPUT) : MAX_OUTPUT };
  const inflate = kind === 'application/x-gzip' ? unzipSync : kind === 'application/x-brotli' ? brotliDecompressSync : undefined;
  if (!inflate) {
    throw new ContentDisallowedError(`cannot decompress a '${kind.slice(0, 80)}' body: send with compression 'gzip' (zlib) or 'brotli', or none`);
  }
  try {
    return inflate(body, options);
  } catch (cause) {
    const message = (cause as Error).message;
    if ((cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new MessageTooLargeError(`compressed body inflates past maxMessageSize (${max} bytes): refused`, { cause });
    }
    throw new ProtocolError(`body does not decompress as ${kind}: ${message}`, { cause });
  }
}
