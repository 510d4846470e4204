import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { readFileIfExists, writeFileAtomic } from '../io.js';
import type { CleanPass } from './plan.js';

/**
 * What the cleaner knows of one log, in `cleaner-checkpoint` (a line of JSON and its CRC32C,
 * replaced atomically, like the log's checkpoint): the end of the clean section and when each
 * pass ran. It is written after a pass's segments were swapped in; a crash before that only
 * makes the next pass clean the same section again, and tombstones wait a little longer.
 * A missing or damaged file reads as "nothing cleaned yet".
 */
export interface CleanerState {
  cleanedTo: number;
  passes: CleanPass[];
}

const FILE = 'cleaner-checkpoint';

export const EMPTY_CLEANER_STATE: CleanerState = { cleanedTo: 0, passes: [] };

export async function readCleanerState(dir: string): Promise<CleanerState> {
  const raw = await readFileIfExists(join(dir, FILE));
  if (!raw) return EMPTY_CLEANER_STATE;
  const [json, crc] = raw.toString('utf8').trimEnd().split('\n');
  if (json === undefined || String(crc32c(Buffer.from(json)) >>> 0) !== crc)
    return EMPTY_CLEANER_STATE;
  try {
    const s = JSON.parse(json) as Partial<CleanerState>;
    const ok =
      Number.isSafeInteger(s.cleanedTo) &&
      Array.isArray(s.passes) &&
      s.passes.every(
        (p) => Array.isArray(p) && Number.isSafeInteger(p[0]) && Number.isSafeInteger(p[1]),
      );
    return ok ? { cleanedTo: s.cleanedTo!, passes: s.passes! } : EMPTY_CLEANER_STATE;
  } catch {
    return EMPTY_CLEANER_STATE;
  }
}

export function writeCleanerState(dir: string, s: CleanerState): Promise<void> {
  const json = JSON.stringify(s);
  return writeFileAtomic(
    join(dir, FILE),
    Buffer.from(`${json}\n${crc32c(Buffer.from(json)) >>> 0}\n`),
  );
}

/** The state of a log cut back to `end` (truncation): nothing at or past it was cleaned. */
export function cutCleanerState(s: CleanerState, end: number): CleanerState {
  return {
    cleanedTo: Math.min(s.cleanedTo, end),
    passes: s.passes.map(([e, t]): CleanPass => [Math.min(e, end), t]),
  };
}
