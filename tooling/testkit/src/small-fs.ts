import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A filesystem of a few MiB of its own, to fill up (a tmpfs, mounted by root). */
export interface SmallFilesystem {
  path: string;
  /** Writes filler files until the filesystem refuses more (ENOSPC), leaving `leaveBytes` or less. */
  fill(leaveBytes?: number): void;
  /** Removes the filler: the space comes back. */
  unfill(): void;
  freeBytes(): number;
  /** Unmounts it (lazily: a process still holding a file there does not block it). */
  cleanup(): void;
}

/**
 * Mounts a tmpfs of `bytes`. Where that is impossible (not root, no mount permission) it returns
 * the reason instead, so a test can say why it does not run; under CI (CI=true, which runs as
 * root) it throws, so a disk-full test never silently stops running there.
 */
export function mountSmallFilesystem(bytes: number): SmallFilesystem | string {
  const path = mkdtempSync(join(tmpdir(), 'strand-small-fs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', path], {
      stdio: 'pipe',
    });
  } catch (err) {
    rmSync(path, { recursive: true, force: true });
    const why = `cannot mount a tmpfs here (needs root): ${(err as Error).message.split('\n')[0]}`;
    if (process.env.CI) throw new Error(why);
    return why;
  }
  const fillers: string[] = [];
  const freeBytes = () => {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  };
  return {
    path,
    freeBytes,
    fill(leaveBytes = 0) {
      const file = join(path, `filler-${fillers.length}`);
      fillers.push(file);
      const fd = openSync(file, 'w');
      try {
        for (const chunk of [1024 * 1024, 4096]) {
          const zeros = Buffer.alloc(chunk);
          while (freeBytes() - chunk >= leaveBytes) {
            try {
              writeSync(fd, zeros);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
              break;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    unfill() {
      for (const f of fillers.splice(0)) rmSync(f, { force: true });
    },
    cleanup() {
      try {
        execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
    },
  };
}
