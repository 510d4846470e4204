import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** Which app a data folder belongs to. */
export type DataFolderKind = 'coordinator' | 'broker';

/** The data folder layout each app writes today; a folder says which one it holds. */
export const DATA_FORMAT_VERSION: Readonly<Record<DataFolderKind, number>> = {
  coordinator: 1,
  broker: 1,
};

export const DATA_FORMAT_FILE = 'strand-data-format.json';

/** Files only one kind of folder has: a folder from before format files is told by them. */
const SIGNS: Readonly<Record<DataFolderKind, readonly string[]>> = {
  coordinator: ['CURRENT', 'IDENTITY'],
  broker: ['broker.token', 'logs'],
};

/** A data folder this process must not open: another app's, or a layout it does not know. */
export class DataFolderError extends Error {
  readonly code = 'UNSUPPORTED_DATA_FOLDER';
}

/**
 * Checks that `dir` is a `kind` data folder in a layout this release understands, and marks
 * it so (a new folder, or one from before format files). Throws DataFolderError naming what
 * it found; changes nothing then.
 */
export function checkDataFormat(dir: string, kind: DataFolderKind): void {
  mkdirSync(dir, { recursive: true });
  const current = DATA_FORMAT_VERSION[kind];
  const found = readFormat(dir);
  if (found === undefined) {
    const names = new Set(readdirSync(dir));
    const looksLike = (k: DataFolderKind) => SIGNS[k].some((f) => names.has(f));
    const other = (Object.keys(SIGNS) as DataFolderKind[]).find(
      (k) => k !== kind && looksLike(k) && !looksLike(kind),
    );
    if (other)
      throw new DataFolderError(
        `${dir} is a Strand ${other}'s data folder, not a ${kind}'s: give this ${kind} a folder of its own`,
      );
    try {
      writeFormat(dir, kind, current);
    } catch (err) {
      // A full disk must not keep a node from starting: the mark is written at a later start.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
    }
    return;
  }
  if (found.kind !== kind)
    throw new DataFolderError(
      `${dir} is a Strand ${found.kind}'s data folder, not a ${kind}'s: give this ${kind} a folder of its own`,
    );
  if (found.version > current)
    throw new DataFolderError(
      `${dir} holds ${kind} data format ${found.version}, newer than this release understands (${current}): run the Strand release that wrote it, or a newer one`,
    );
}

function readFormat(dir: string): { kind: DataFolderKind; version: number } | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, DATA_FORMAT_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const p = parsed as { kind?: unknown; version?: unknown } | undefined;
  if (
    (p?.kind !== 'coordinator' && p?.kind !== 'broker') ||
    typeof p.version !== 'number' ||
    !Number.isInteger(p.version) ||
    p.version < 1
  )
    throw new DataFolderError(
      `${join(dir, DATA_FORMAT_FILE)} is not a Strand data format file (expected {"kind":"coordinator"|"broker","version":N}): the folder is not one Strand wrote, or the file was damaged`,
    );
  return { kind: p.kind, version: p.version };
}

/** Written beside the data, then renamed and synced: a crash leaves the old file or the new. */
function writeFormat(dir: string, kind: DataFolderKind, version: number): void {
  const path = join(dir, DATA_FORMAT_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ kind, version })}\n`);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
