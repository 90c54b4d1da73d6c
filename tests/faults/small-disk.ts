// A small file system for disk-full tests: a 2 MiB tmpfs (we run as root), else a loop-mounted ext4 image.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** How it was made, for the test log. */
  kind: 'tmpfs' | 'loop ext4';
  unmount(): void;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'pipe' });
}

/** Mounts a small file system of `mib` MiB; returns why not when neither way is permitted here. */
export function mountSmallDisk(mib = 2): SmallDisk | string {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-full-'));
  const reasons: string[] = [];
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir]);
    return { dir, kind: 'tmpfs', unmount: () => unmount(dir) };
  } catch (err) {
    reasons.push(`mount -t tmpfs: ${(err as Error).message.split('\n')[0]}`);
  }
  const image = `${dir}.img`;
  try {
    run('truncate', ['-s', `${Math.max(mib, 4)}M`, image]);
    run('mkfs.ext4', ['-q', '-F', image]);
    run('mount', ['-o', 'loop', image, dir]);
    return { dir, kind: 'loop ext4', unmount: () => { unmount(dir); rmSync(image, { force: true }); } };
  } catch (err) {
    reasons.push(`loop-mounted ext4: ${(err as Error).message.split('\n')[0]}`);
    rmSync(image, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
  return `no small file system can be mounted here (${reasons.join('; ')}): run the test as root on a machine that allows mount`;
}

function unmount(dir: string): void {
  try {
    run('umount', [dir]);
  } catch {
    run('umount', ['-l', dir]);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Writes `path` until the file system refuses (ENOSPC), to the last KiB; returns the bytes written. */
export function fillDisk(path: string): number {
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (const size of [64 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0x61);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
