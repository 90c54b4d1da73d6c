/** Reading an HTTP body with a size cap (request bodies on the gateway, replies on the client), and its text. */
import type { Readable } from 'node:stream';

export type BodyRead = { ok: true; body: Buffer } | { ok: false; reason: 'too-large' | 'aborted'; error?: Error };

/**
 * Collects a body up to `limit` bytes. Past the limit it stops collecting at once (nothing more is kept)
 * and answers `too-large`; the caller decides what to do with the rest of the stream.
 */
export function readBody(stream: Readable, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyRead): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('aborted', onAborted);
      stream.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        done({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => done({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
    const onError = (error: Error): void => done({ ok: false, reason: 'aborted', error });
    const onAborted = (): void => done({ ok: false, reason: 'aborted' });
    const onClose = (): void => {
      if (!stream.readableEnded) done({ ok: false, reason: 'aborted' });
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('aborted', onAborted);
    stream.on('close', onClose);
  });
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The body as UTF-8 text, or undefined when it is not valid UTF-8. */
export function utf8(body: Buffer): string | undefined {
  try {
    return decoder.decode(body);
  } catch {
    return undefined;
  }
}
