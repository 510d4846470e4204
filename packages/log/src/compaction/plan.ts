import { newestTimeOf, type RetainedSegment } from '../retention.js';

/**
 * The log cleaner's decisions, pure: which part of a log may be cleaned, whether it is dirty
 * enough to be worth it, how its segments are grouped into new ones, and which records
 * survive. The cleaner (cleaner.ts) does the reading and writing around them.
 *
 * A log is split at two offsets: below `cleanedTo` lies the clean section (rewritten by an
 * earlier pass: at most one record per key, apart from records newer than what that pass saw),
 * from it up to `firstUncleanable` the dirty section. The active segment, data at or above the
 * bound (the high watermark) and segments younger than min.compaction.lag.ms are never cleaned.
 */

export interface CleanPolicy {
  now: number;
  /** Never clean data at or above this offset (the high watermark). */
  bound: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  minCleanableDirtyRatio: number;
}

export interface Cleanable {
  /** Index of the first segment of the dirty section. */
  firstDirty: number;
  /** Index of the first segment that may not be cleaned (at most the active one's). */
  firstUncleanable: number;
  cleanBytes: number;
  dirtyBytes: number;
  /** dirty / (clean + dirty), 0 for an empty log. */
  dirtyRatio: number;
  /** Worth cleaning now: dirty enough, or some record waited longer than max.compaction.lag.ms. */
  due: boolean;
}

/** Where the dirty section of `segments` (oldest first, the last one active) starts and ends. */
export function cleanable(
  segments: readonly RetainedSegment[],
  cleanedTo: number,
  p: CleanPolicy,
): Cleanable {
  const active = segments.length - 1;
  let firstDirty = 0;
  while (firstDirty < active && segments[firstDirty]!.nextOffset <= cleanedTo) firstDirty++;
  let firstUncleanable = firstDirty;
  while (firstUncleanable < active) {
    const s = segments[firstUncleanable]!;
    if (s.nextOffset > p.bound || p.now - newestTimeOf(s) < p.minCompactionLagMs) break;
    firstUncleanable++;
  }
  const sum = (from: number, to: number) =>
    segments.slice(from, to).reduce((n, s) => n + s.size, 0);
  const cleanBytes = sum(0, firstDirty);
  const dirtyBytes = sum(firstDirty, firstUncleanable);
  const total = cleanBytes + dirtyBytes;
  const dirtyRatio = total === 0 ? 0 : dirtyBytes / total;
  const oldest = segments[firstDirty];
  const overdue =
    oldest !== undefined &&
    firstUncleanable > firstDirty &&
    p.now - oldestTimeOf(oldest) > p.maxCompactionLagMs;
  const due = dirtyBytes > 0 && (dirtyRatio >= p.minCleanableDirtyRatio || overdue);
  return { firstDirty, firstUncleanable, cleanBytes, dirtyBytes, dirtyRatio, due };
}

/**
 * How long the oldest record of a segment has waited to be cleaned: dated by its first
 * batch, as Kafka does (a future timestamp is clamped to the last append, like retention's).
 */
function oldestTimeOf(s: RetainedSegment): number {
  const first = s.firstBatchTime;
  if (first === undefined || first < 0) return newestTimeOf(s);
  return Math.min(first, s.lastAppendTime);
}

/** Offsets span at most this within one segment (relative offsets are u32 in the index). */
const MAX_SPAN = 2 ** 31 - 2 ** 20;

/**
 * Consecutive runs of segments (indexes into `segments`, first..last inclusive) each rewritten
 * into one new segment: together at most `maxBytes` before cleaning (so the new one is no
 * larger than a segment may be) and spanning fewer than 2^31 offsets. A run is never empty.
 */
export function groupSegments(
  segments: readonly Pick<RetainedSegment, 'baseOffset' | 'nextOffset' | 'size'>[],
  from: number,
  to: number,
  maxBytes: number,
): [number, number][] {
  const groups: [number, number][] = [];
  let i = from;
  while (i < to) {
    const first = i;
    let bytes = segments[i]!.size;
    i++;
    while (
      i < to &&
      bytes + segments[i]!.size <= maxBytes &&
      segments[i]!.nextOffset - segments[first]!.baseOffset <= MAX_SPAN
    ) {
      bytes += segments[i]!.size;
      i++;
    }
    groups.push([first, i - 1]);
  }
  return groups;
}

/**
 * When the passes of the cleaner ran: each pass cleaned everything below `end` at `time`.
 * Ends never decrease. A tombstone may go once the first pass that cleaned it is older
 * than delete.retention.ms (consumers that read to the end within that time saw it).
 */
export type CleanPass = [end: number, time: number];

export function tombstoneExpired(
  offset: number,
  passes: readonly CleanPass[],
  now: number,
  deleteRetentionMs: number,
): boolean {
  const first = passes.find(([end]) => end > offset);
  return first !== undefined && now - first[1] >= deleteRetentionMs;
}

/** Keeps the pass list short by merging neighbours; a merge only ever keeps tombstones longer. */
export function recordPass(passes: readonly CleanPass[], pass: CleanPass, max = 64): CleanPass[] {
  const out = [...passes];
  const last = out[out.length - 1];
  if (last && last[0] >= pass[0]) return out;
  out.push(pass);
  while (out.length > max) {
    // Merge the pair whose later time is smallest: [max end, later time] of the two.
    let best = 0;
    for (let i = 1; i < out.length - 1; i++) if (out[i + 1]![1] < out[best + 1]![1]) best = i;
    out.splice(best, 2, [out[best + 1]![0], out[best + 1]![1]]);
  }
  return out;
}

/**
 * Latest offset per key over the dirty section, within a memory budget (keys are kept whole,
 * so two keys never collide). Each entry is costed at its key's length plus a fixed overhead.
 */
export class OffsetMap {
  private readonly map = new Map<string, number>();
  private bytes = 0;
  static readonly ENTRY_OVERHEAD = 64;

  constructor(readonly budget: number) {}

  get size(): number {
    return this.map.size;
  }
  get usedBytes(): number {
    return this.bytes;
  }
  get full(): boolean {
    return this.bytes >= this.budget;
  }

  put(key: Buffer, offset: number): void {
    const k = key.toString('latin1');
    if (!this.map.has(k)) this.bytes += key.length + OffsetMap.ENTRY_OVERHEAD;
    this.map.set(k, offset);
  }

  latest(key: Buffer): number | undefined {
    return this.map.get(key.toString('latin1'));
  }
}

export interface RecordFacts {
  offset: number;
  /** null: a record without a key (kept: only keyed records are compacted). */
  key: Buffer | null;
  tombstone: boolean;
}

/**
 * Whether a record survives: it does unless the map knows a later record of its key, or it
 * is a tombstone whose delete.retention.ms ran out since it was first cleaned.
 */
export function survives(
  r: RecordFacts,
  latest: (key: Buffer) => number | undefined,
  tombstoneGone: (offset: number) => boolean,
): boolean {
  if (r.key === null) return true;
  const newest = latest(r.key);
  if (newest !== undefined && newest > r.offset) return false;
  return !(r.tombstone && tombstoneGone(r.offset));
}

/**
 * Whether a batch stays even when none of its records does: the last batch of a new segment
 * (it keeps the segment's end offset, so segments stay contiguous and a follower fetching
 * there finds a batch), and a producer's newest batch (its sequence numbers let the producer
 * state, rebuilt from the log, still recognise a retry). Such a batch stays empty.
 */
export function batchStays(
  lastOffset: number,
  producerId: number,
  groupEnd: number,
  newestBatchOf: (producerId: number) => number | undefined,
): boolean {
  if (lastOffset === groupEnd - 1) return true;
  return producerId >= 0 && newestBatchOf(producerId) === lastOffset;
}
