import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { type FileContent, readFileIfExists, writeFileAtomic } from './io.js';

/**
 * Per-partition checkpoint, replaced atomically:
 * - `recoveryPoint`: every batch below it is synced and its segment's index is durable, so
 *   a start only needs to verify from there (after a clean close it is the log end, and the
 *   active segment's index describes all of its data: nothing is verified);
 * - `logStartOffset`: the first offset readers may see (retention and deleteRecords move it).
 * A line of JSON followed by its CRC32C; a damaged file reads as absent (verify everything).
 */
export interface Checkpoint {
  recoveryPoint: number;
  logStartOffset: number;
}

const CHECKPOINT = 'checkpoint';
/** Left by earlier versions at a clean close; the checkpoint alone says as much now. */
const OLD_CLEAN_SHUTDOWN_MARKER = '.clean-shutdown';

export async function readCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const raw = await readFileIfExists(join(dir, CHECKPOINT));
  if (!raw) return undefined;
  const text = raw.toString('utf8');
  const [json, crc] = text.trimEnd().split('\n');
  if (json === undefined || crc === undefined) return undefined;
  if (String(crc32c(Buffer.from(json)) >>> 0) !== crc) return undefined;
  try {
    const parsed = JSON.parse(json) as Partial<Checkpoint>;
    if (
      !Number.isSafeInteger(parsed.recoveryPoint) ||
      !Number.isSafeInteger(parsed.logStartOffset)
    ) {
      return undefined;
    }
    return { recoveryPoint: parsed.recoveryPoint!, logStartOffset: parsed.logStartOffset! };
  } catch {
    return undefined;
  }
}

/** The checkpoint file's path and content (to be written with other files at once). */
export function checkpointFile(dir: string, cp: Checkpoint): FileContent {
  const json = JSON.stringify(cp);
  const body = `${json}\n${crc32c(Buffer.from(json)) >>> 0}\n`;
  return { path: join(dir, CHECKPOINT), data: Buffer.from(body) };
}

export async function writeCheckpoint(dir: string, cp: Checkpoint): Promise<void> {
  const { path, data } = checkpointFile(dir, cp);
  await writeFileAtomic(path, data);
}

/** Files of a partition directory that only earlier versions read: safe to remove. */
export function isObsoleteFile(name: string): boolean {
  return name === OLD_CLEAN_SHUTDOWN_MARKER;
}
