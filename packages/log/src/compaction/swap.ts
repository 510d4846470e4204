import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { closeFile, fsyncDir, openFile, removeIfExists } from '../io.js';
import { scanBatches } from '../scan.js';
import { segmentFileName } from '../segment.js';

/**
 * Swapping cleaned segments in, crash-safely (Kafka's scheme). A group of old segments
 * starting at base B is rewritten into one new data file:
 *   1. `B.log.cleaned` is written and synced beside the old segments;
 *   2. it is renamed `B.log.swap` and the directory synced: the commit point;
 *   3. the old segments' index files go, and their data files except `B.log`;
 *   4. `B.log.swap` is renamed over `B.log`, the directory synced; then its index is written.
 * A start finds at most these leftovers: a `.cleaned` file is deleted (rolled back: the old
 * segments are all there); a `.swap` file is rolled forward — every old segment inside its
 * offset range goes and it becomes `B.log`. The range is [B, the swap's last offset + 1): the
 * cleaner always keeps the last batch of a group, so the new segment ends where the old ones
 * did and never covers a segment it did not replace.
 */
export const CLEANED = '.log.cleaned';
export const SWAP = '.log.swap';
export const GAPS_MARKER = 'compacted';

export const cleanedPath = (dir: string, base: number) => join(dir, segmentFileName(base, CLEANED));
export const swapPath = (dir: string, base: number) => join(dir, segmentFileName(base, SWAP));

/**
 * Told before each durable step of a swap, which waits for it: tests throw from it to crash
 * there, or do something else meanwhile.
 */
export type StepHook = (step: string) => void | Promise<void>;

/** Step 2: the commit. */
export async function commitCleaned(dir: string, base: number, step?: StepHook): Promise<void> {
  await step?.('commit');
  await fsp.rename(cleanedPath(dir, base), swapPath(dir, base));
  await fsyncDir(dir);
}

/** Steps 3 and 4, for the old segments at `oldBases` (the first one is `base`). */
export async function completeSwap(
  dir: string,
  base: number,
  oldBases: number[],
  step?: StepHook,
): Promise<void> {
  const remove = async (name: string) => {
    await step?.(`remove ${name}`);
    await removeIfExists(join(dir, name));
  };
  for (const b of oldBases) {
    await remove(segmentFileName(b, '.index'));
    await remove(segmentFileName(b, '.timeindex'));
    if (b !== base) await remove(segmentFileName(b, '.log'));
  }
  await step?.('rename');
  await fsp.rename(swapPath(dir, base), join(dir, segmentFileName(base, '.log')));
  await fsyncDir(dir);
}

/**
 * On start, before the segments are opened: rolls half-done cleans back (`.cleaned`) or
 * forward (`.swap`). Returns whether anything was found.
 */
export async function recoverSwaps(dir: string): Promise<boolean> {
  const names = await fsp.readdir(dir);
  let found = false;
  for (const n of names)
    if (n.endsWith(CLEANED)) {
      await removeIfExists(join(dir, n));
      found = true;
    }
  const bases = (ext: string) =>
    names
      .filter((n) => n.length === 20 + ext.length && n.endsWith(ext) && /^\d{20}/.test(n))
      .map((n) => Number(n.slice(0, 20)))
      .sort((a, b) => a - b);
  const logs = bases('.log');
  for (const base of bases(SWAP)) {
    found = true;
    const end = await endOf(swapPath(dir, base), base);
    await completeSwap(
      dir,
      base,
      logs.filter((b) => b >= base && b < end),
    );
  }
  if (found) await fsyncDir(dir);
  return found;
}

/** The offset after the last valid batch of a data file. */
async function endOf(path: string, base: number): Promise<number> {
  const fd = await openFile(path, 'r');
  try {
    const size = (await fsp.stat(path)).size;
    const r = await scanBatches(fd, 0, size, base, { verifyCrc: true, dense: false });
    return r.nextOffset;
  } finally {
    await closeFile(fd);
  }
}
