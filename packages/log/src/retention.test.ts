import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, simpleBatch, tempDir } from './batches.test-util.js';
import { PartitionLog } from './partition-log.js';
import { type RetainedSegment, segmentsToDelete } from './retention.js';

const seg = (
  baseOffset: number,
  nextOffset: number,
  maxTimestamp: number,
  lastAppendTime = 10_000,
): RetainedSegment => ({
  baseOffset,
  nextOffset,
  size: 100,
  maxTimestamp,
  lastAppendTime,
});

describe('segmentsToDelete (pure rule)', () => {
  const base = {
    now: 10_000,
    retentionMs: 1000,
    retentionBytes: -1,
    bound: 1000,
    logStartOffset: 0,
  };

  it('deletes by the newest timestamp, oldest first, and stops at the first keeper', () => {
    const segs = [seg(0, 10, 8000), seg(10, 20, 9500), seg(20, 30, 8500), seg(30, 40, 1)];
    expect(segmentsToDelete(segs, base)).toBe(1);
  });

  it('never deletes the active segment', () => {
    expect(segmentsToDelete([seg(0, 10, 1)], base)).toBe(0);
    expect(segmentsToDelete([seg(0, 10, 1), seg(10, 20, 1)], base)).toBe(1);
  });

  it('never deletes a segment that reaches the bound', () => {
    const segs = [seg(0, 10, 1), seg(10, 20, 1), seg(20, 30, 1)];
    expect(segmentsToDelete(segs, { ...base, bound: 19 })).toBe(1);
    expect(segmentsToDelete(segs, { ...base, bound: 20 })).toBe(2);
    expect(segmentsToDelete(segs, { ...base, bound: 9 })).toBe(0);
  });

  it('does not let a future timestamp pin a segment forever', () => {
    // Records stamped far in the future, last appended at t=5000.
    const segs = [seg(0, 10, 10 ** 13, 5000), seg(10, 20, 9900)];
    expect(segmentsToDelete(segs, base)).toBe(1);
    expect(segmentsToDelete(segs, { ...base, now: 5500 })).toBe(0);
  });

  it('deletes by size until the rest fits retentionBytes', () => {
    const segs = [seg(0, 10, 9999), seg(10, 20, 9999), seg(20, 30, 9999), seg(30, 40, 9999)];
    const bySize = { ...base, retentionMs: -1, retentionBytes: 250 };
    expect(segmentsToDelete(segs, bySize)).toBe(1);
    expect(segmentsToDelete(segs, { ...bySize, retentionBytes: 200 })).toBe(2);
    expect(segmentsToDelete(segs, { ...bySize, retentionBytes: 0 })).toBe(3);
  });

  it('deletes segments wholly below the log start offset', () => {
    const segs = [seg(0, 10, 9999), seg(10, 20, 9999), seg(20, 30, 9999)];
    expect(segmentsToDelete(segs, { ...base, retentionMs: -1, logStartOffset: 15 })).toBe(1);
  });
});

describe('retention on a real log', () => {
  const dirs: { cleanup: () => void }[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  it('by time, with future timestamps, keeping the active segment and the bound', async () => {
    const d = tempDir();
    dirs.push(d);
    const clock = manualClock(1_000_000);
    const log = await PartitionLog.open(
      d.path,
      { segmentBytes: 1024, retentionMs: 60_000 },
      { now: clock.now },
    );
    for (let i = 0; i < 6; i++) await log.append(simpleBatch(1, 400, clock.now()));
    await log.append(simpleBatch(1, 400, clock.now() + 10 ** 9)); // a client clock far ahead
    for (let i = 0; i < 3; i++) await log.append(simpleBatch(1, 400, clock.now()));
    const segments = log.segmentCount;
    expect(segments).toBeGreaterThan(3);
    expect(await log.applyRetention()).toBe(0);
    clock.advance(61_000);
    expect(await log.applyRetention(4)).toBe(2); // the bound keeps offset 4 and later
    expect(log.logStartOffset).toBe(4);
    expect(await log.applyRetention()).toBe(segments - 3);
    expect(log.segmentCount).toBe(1); // only the active one, though everything expired
    expect(log.logStartOffset).toBe(log.segmentInfo()[0]!.baseOffset);
    await log.close();
  });

  it('by size, oldest first, and reads below the new start are out of range', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = await PartitionLog.open(d.path, { segmentBytes: 1024, retentionBytes: 2500 });
    for (let i = 0; i < 20; i++) await log.append(simpleBatch(1, 400, 1000 + i));
    const deleted = await log.applyRetention();
    expect(deleted).toBeGreaterThan(0);
    const total = log.segmentInfo().reduce((s, x) => s + x.size, 0);
    expect(total).toBeLessThanOrEqual(2500 + 1024);
    await expect(log.read(0, 100)).rejects.toThrow(/outside/);
    expect((await log.read(log.logStartOffset, 100)).records.length).toBeGreaterThan(0);
    await log.close();
  });
});
