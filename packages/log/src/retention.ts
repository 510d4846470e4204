/** What retention needs to know of a segment (oldest first; the last one is active). */
export interface RetainedSegment {
  baseOffset: number;
  nextOffset: number;
  size: number;
  maxTimestamp: number;
  lastAppendTime: number;
  /** The first batch's max timestamp, where known. */
  firstBatchTime?: number | undefined;
}

export interface RetentionPolicy {
  now: number;
  retentionMs: number;
  retentionBytes: number;
  /** Never delete data at or above this offset (the high watermark). */
  bound: number;
  logStartOffset: number;
}

/**
 * The segment's newest time for retention. A client clock in the future must not pin data
 * forever, so a max timestamp later than the segment's last append (wall clock) is clamped
 * to that append time.
 */
export function newestTimeOf(s: RetainedSegment): number {
  if (s.maxTimestamp < 0) return s.lastAppendTime;
  return Math.min(s.maxTimestamp, s.lastAppendTime);
}

/**
 * How many of the oldest segments may go: whole closed segments only, oldest first, each
 * wholly below `bound`, and each either wholly below the log start offset, older than
 * retentionMs (by its newest time) or pushing the log over retentionBytes. The active
 * (last) segment always stays.
 */
export function segmentsToDelete(segments: RetainedSegment[], p: RetentionPolicy): number {
  let total = segments.reduce((sum, s) => sum + s.size, 0);
  let count = 0;
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    if (s.nextOffset > p.bound) break;
    const belowStart = s.nextOffset <= p.logStartOffset;
    const expired = p.retentionMs >= 0 && p.now - newestTimeOf(s) > p.retentionMs;
    const oversize = p.retentionBytes >= 0 && total - s.size >= p.retentionBytes;
    if (!belowStart && !expired && !oversize) break;
    total -= s.size;
    count += 1;
  }
  return count;
}
