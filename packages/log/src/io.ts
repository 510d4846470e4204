import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, StrandError } from '@strand/wire';

const writeP = promisify(fs.write);
const readP = promisify(fs.read);
const fsyncP = promisify(fs.fsync);
const fdatasyncP = promisify(fs.fdatasync);
const ftruncateP = promisify(fs.ftruncate);
const openP = promisify(fs.open);
const closeP = promisify(fs.close);

/** Turns an fs error into a typed StrandError; ENOSPC and EDQUOT become STORAGE_FULL. */
export function storageError(err: unknown, what: string): StrandError {
  if (err instanceof StrandError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StrandError(ErrorCode.StorageFull, `${what}: disk full (${code})`, true);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StrandError(ErrorCode.Internal, `${what}: ${message}`);
}

/** Writes all of `buf` at `position`, looping over short writes. */
export async function writeFully(fd: number, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await writeP(fd, buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** Reads up to `length` bytes at `position`; returns fewer only at end of file. */
export async function readAt(fd: number, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await readP(fd, buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

export const fsync = (fd: number): Promise<void> => fsyncP(fd);
export const fdatasync = (fd: number): Promise<void> => fdatasyncP(fd);
export const ftruncate = (fd: number, len: number): Promise<void> => ftruncateP(fd, len);
export const openFile = (path: string, flags: string): Promise<number> => openP(path, flags);
export const closeFile = (fd: number): Promise<void> => closeP(fd);

/** fsync a directory so that creates, renames and unlinks inside it survive a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await openP(dir, 'r');
  try {
    await fsyncP(fd);
  } finally {
    await closeP(fd);
  }
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the new content:
 * write a temp file, fsync it, rename over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const fd = await openP(tmp, 'w');
  try {
    await writeFully(fd, data, 0);
    await fsyncP(fd);
  } finally {
    await closeP(fd);
  }
  await fs.promises.rename(tmp, path);
  await fsyncDir(dirname(path));
}

export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await fs.promises.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function removeIfExists(path: string): Promise<void> {
  await fs.promises.rm(path, { force: true });
}
