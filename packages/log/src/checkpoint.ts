import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { fsyncDir, readFileIfExists, removeIfExists, writeFileAtomic } from './io.js';

/**
 * Per-partition checkpoint, replaced atomically:
 * - `recoveryPoint`: every batch below it is synced and its segment's index is durable, so
 *   an unclean start only needs to verify from there;
 * - `logStartOffset`: the first offset readers may see (retention and deleteRecords move it).
 * A line of JSON followed by its CRC32C; a damaged file reads as absent (verify everything).
 */
export interface Checkpoint {
  recoveryPoint: number;
  logStartOffset: number;
}

const CHECKPOINT = 'checkpoint';
const CLEAN_SHUTDOWN = '.clean-shutdown';

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

export async function writeCheckpoint(dir: string, cp: Checkpoint): Promise<void> {
  const json = JSON.stringify(cp);
  const body = `${json}\n${crc32c(Buffer.from(json)) >>> 0}\n`;
  await writeFileAtomic(join(dir, CHECKPOINT), Buffer.from(body));
}

/** Whether the last close was clean; consumes the marker so a crash from now on is unclean. */
export async function takeCleanShutdownMarker(dir: string): Promise<boolean> {
  const path = join(dir, CLEAN_SHUTDOWN);
  const present = (await readFileIfExists(path)) !== undefined;
  if (present) {
    await removeIfExists(path);
    await fsyncDir(dir);
  }
  return present;
}

export async function writeCleanShutdownMarker(dir: string): Promise<void> {
  await writeFileAtomic(join(dir, CLEAN_SHUTDOWN), Buffer.from('clean\n'));
}
