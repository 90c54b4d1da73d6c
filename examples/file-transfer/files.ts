// A file server over RPC: `celeriac serve examples/file-transfer/files.ts --tcp :4243` serves the files of
// FILES_ROOT (default: the current directory) in chunks; names are confined to that folder.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat as statFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

const ROOT = resolve(process.env['FILES_ROOT'] ?? '.');
/** Largest chunk handed out by read(): a frame stays small and a slow link interleaves other calls. */
export const MAX_CHUNK = 1 << 20;

function pathOf(name: string): string {
  const path = resolve(ROOT, name);
  if (path !== ROOT && !path.startsWith(ROOT + sep)) throw new RangeError(`'${name}' is outside the served folder`);
  return path;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Size and SHA-256 of a file, so a client knows how much to fetch and can check what it got. */
export async function stat({ name }: { name: string }): Promise<{ size: number; sha256: string; mtimeMs: number }> {
  const path = pathOf(name);
  const info = await statFile(path);
  if (!info.isFile()) throw new RangeError(`'${name}' is not a file`);
  return { size: info.size, sha256: await sha256(path), mtimeMs: info.mtimeMs };
}

/** Up to `length` bytes of a file from `offset`, base64-encoded (JSON carries no raw bytes). */
export async function read({ name, offset, length }: { name: string; offset: number; length: number }): Promise<{ data: string; bytes: number }> {
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length <= 0) throw new RangeError('offset must be an integer >= 0 and length one > 0');
  const handle = await open(pathOf(name), 'r');
  try {
    const buffer = Buffer.alloc(Math.min(length, MAX_CHUNK));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    return { data: buffer.subarray(0, bytesRead).toString('base64'), bytes: bytesRead };
  } finally {
    await handle.close();
  }
}
