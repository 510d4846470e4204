import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, isNoSpaceError, StorageFullError, StrandError } from '@strand/wire';

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
  if (isNoSpaceError(err)) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ENOSPC';
    return new StorageFullError(`${what}: disk full (${code})`);
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

export interface FileContent {
  path: string;
  data: Buffer;
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the new content:
 * write a temp file, fsync it, rename over the target, fsync the directory.
 */
export function writeFileAtomic(path: string, data: Buffer): Promise<void> {
  return writeFilesAtomic([{ path, data }]);
}

/**
 * Replaces several files of one directory, each atomically (old or new content after a
 * crash, in the order given), with one directory sync for all of them. With `durable: false`
 * nothing is synced: after a power failure each file may be its old content, its new one or
 * damaged — for files that check themselves (a CRC) and whose loss costs only time.
 */
export async function writeFilesAtomic(
  files: readonly FileContent[],
  opts: { durable: boolean } = { durable: true },
): Promise<void> {
  for (const { path, data } of files) {
    const fd = await openP(`${path}.tmp`, 'w');
    try {
      await writeFully(fd, data, 0);
      if (opts.durable) await fsyncP(fd);
    } finally {
      await closeP(fd);
    }
  }
  for (const { path } of files) await fs.promises.rename(`${path}.tmp`, path);
  const first = files[0];
  if (first && opts.durable) await fsyncDir(dirname(first.path));
}

export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await fs.promises.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Unlinks a file; one that is not there is fine (fs.rm would stat it first). */
export async function removeIfExists(path: string): Promise<void> {
  try {
    await fs.promises.unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
