// Downloads a file from the file server in chunks, several in flight, into DEST.part; an interrupted download
// resumes where the .part file ends; the SHA-256 is checked before DEST.part becomes DEST.
// Usage: download.ts NAME DEST [tcp://127.0.0.1:4243]
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { Celeriac } from 'celeriac';

interface FilesApi {
  stat(args: { name: string }): { size: number; sha256: string; mtimeMs: number };
  read(args: { name: string; offset: number; length: number }): { data: string; bytes: number };
}

const [name, dest, url = 'tcp://127.0.0.1:4243'] = process.argv.slice(2);
if (!name || !dest) {
  console.error('usage: download.ts NAME DEST [tcp://host:port]');
  process.exit(2);
}
const CHUNK = 256 * 1024;
const IN_FLIGHT = 8;
const app = new Celeriac('file-transfer');
const secret = process.env['CELERIAC_RPC_SECRET']; // the server's --secret (celeriac serve reads the same variable)
const files = app.rpc.client<FilesApi>({ url, timeout: 30_000, ...(secret ? { driver: { secret } } : {}) });

const remote = await files.call('stat', { name });
const part = `${dest}.part`;
const start = existsSync(part) ? Math.min((await stat(part)).size, remote.size) : 0;
if (start > 0) console.log(`resuming ${name} at byte ${start} of ${remote.size}`);
const out = await open(part, start > 0 ? 'r+' : 'w');
let written = start;
try {
  // Chunks are fetched IN_FLIGHT at a time and written in order, so the .part file never has a hole.
  for (let offset = start; offset < remote.size; offset += CHUNK * IN_FLIGHT) {
    const offsets = Array.from({ length: IN_FLIGHT }, (_, i) => offset + i * CHUNK).filter((o) => o < remote.size);
    const chunks = await Promise.all(offsets.map((o) => files.call('read', { name, offset: o, length: Math.min(CHUNK, remote.size - o) })));
    for (const [i, chunk] of chunks.entries()) {
      const data = Buffer.from(chunk.data, 'base64');
      await out.write(data, 0, data.length, offsets[i]);
      written = (offsets[i] ?? 0) + data.length;
    }
    process.stdout.write(`\r${name}: ${Math.floor((written / Math.max(1, remote.size)) * 100)}% (${written}/${remote.size} bytes)`);
  }
  await out.truncate(remote.size);
} finally {
  await out.close();
  await app.close();
}
process.stdout.write('\n');

const hash = createHash('sha256');
for await (const chunk of createReadStream(part)) hash.update(chunk as Buffer);
const got = hash.digest('hex');
if (got !== remote.sha256) {
  await unlink(part);
  console.error(`checksum mismatch (got ${got}, expected ${remote.sha256}): the partial file was removed, run again`);
  process.exit(1);
}
await rename(part, dest);
console.log(`${dest}: ${remote.size} bytes, sha256 ${got} verified`);
