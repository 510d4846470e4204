import { describe, expect, it } from 'vitest';
import {
  batchStays,
  cleanable,
  groupSegments,
  OffsetMap,
  recordPass,
  survives,
  tombstoneExpired,
} from './plan.js';

const seg = (baseOffset: number, nextOffset: number, size = 100, time = 1000) => ({
  baseOffset,
  nextOffset,
  size,
  maxTimestamp: time,
  lastAppendTime: time,
});
const policy = {
  now: 10_000,
  bound: Number.POSITIVE_INFINITY,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minCleanableDirtyRatio: 0.5,
};

describe('cleanable', () => {
  const segs = [seg(0, 10), seg(10, 20), seg(20, 30), seg(30, 40), seg(40, 45)];

  it('splits clean and dirty at cleanedTo and never reaches the active segment', () => {
    const c = cleanable(segs, 20, policy);
    expect(c).toMatchObject({
      firstDirty: 2,
      firstUncleanable: 4,
      cleanBytes: 200,
      dirtyBytes: 200,
    });
    expect(c.dirtyRatio).toBe(0.5);
    expect(c.due).toBe(true);
    expect(cleanable(segs, 20, { ...policy, minCleanableDirtyRatio: 0.6 }).due).toBe(false);
  });

  it('stops at the bound (high watermark) and at segments younger than the min lag', () => {
    expect(cleanable(segs, 0, { ...policy, bound: 25 }).firstUncleanable).toBe(2);
    const young = [seg(0, 10, 100, 1000), seg(10, 20, 100, 9500), seg(20, 30)];
    expect(cleanable(young, 0, { ...policy, minCompactionLagMs: 1000 }).firstUncleanable).toBe(1);
  });

  it('a clean log is not due; an overdue one is, whatever its ratio', () => {
    expect(cleanable(segs, 40, policy)).toMatchObject({ dirtyBytes: 0, due: false });
    const p = { ...policy, minCleanableDirtyRatio: 0.99 };
    expect(cleanable(segs, 30, p).due).toBe(false);
    expect(cleanable(segs, 30, { ...p, maxCompactionLagMs: 5000 }).due).toBe(true);
  });

  it('max.compaction.lag.ms dates a segment by its first batch, not its newest one', () => {
    // The oldest dirty segment's first record waited 9 s; its newest only 1 s.
    const span = { ...seg(0, 10, 100, 9000), firstBatchTime: 1000 };
    // A ratio no log reaches: only the lag can make it due.
    const p = { ...policy, minCleanableDirtyRatio: 1.1, maxCompactionLagMs: 5000 };
    expect(cleanable([span, seg(10, 20)], 0, p).due).toBe(true);
    // Unknown first time: the newest stands in (late, never early).
    expect(cleanable([{ ...span, firstBatchTime: undefined }, seg(10, 20)], 0, p).due).toBe(false);
    // A first timestamp in the future counts from the last append.
    const future = { ...seg(0, 10, 100, 9000), firstBatchTime: 99_000 };
    expect(cleanable([future, seg(10, 20)], 0, p).due).toBe(false);
  });

  it('a cleanedTo inside a segment (after a truncation) makes that segment dirty', () => {
    expect(cleanable(segs, 15, policy).firstDirty).toBe(1);
  });
});

describe('groupSegments', () => {
  it('groups consecutive segments up to the size bound, never an empty group', () => {
    const segs = [
      seg(0, 10, 400),
      seg(10, 20, 400),
      seg(20, 30, 400),
      seg(30, 40, 2000),
      seg(40, 50, 10),
    ];
    expect(groupSegments(segs, 0, 5, 1000)).toEqual([
      [0, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    expect(groupSegments(segs, 1, 3, 10_000)).toEqual([[1, 2]]);
  });

  it('keeps a group within 2^31 offsets', () => {
    const segs = [
      seg(0, 2 ** 30),
      seg(2 ** 30, 2 ** 31 - 2 ** 21),
      seg(2 ** 31 - 2 ** 21, 2 ** 31 + 5),
    ];
    expect(groupSegments(segs, 0, 3, 10_000)).toEqual([
      [0, 1],
      [2, 2],
    ]);
  });
});

describe('tombstones and passes', () => {
  const passes: [number, number][] = [
    [100, 1000],
    [200, 5000],
  ];
  it('a tombstone goes once the first pass that cleaned it is older than the retention', () => {
    expect(tombstoneExpired(50, passes, 1999, 1000)).toBe(false);
    expect(tombstoneExpired(50, passes, 2000, 1000)).toBe(true);
    expect(tombstoneExpired(150, passes, 2000, 1000)).toBe(false);
    expect(tombstoneExpired(150, passes, 6000, 1000)).toBe(true);
    expect(tombstoneExpired(250, passes, 1e9, 1000)).toBe(false); // never cleaned yet
  });

  it('merging passes only ever keeps tombstones longer', () => {
    let ps: [number, number][] = [];
    for (let i = 1; i <= 100; i++) ps = recordPass(ps, [i * 10, i * 100], 8);
    expect(ps.length).toBeLessThanOrEqual(8);
    for (let o = 0; o < 1000; o += 7)
      for (let now = 0; now < 12_000; now += 500) {
        const exact = tombstoneExpired(
          o,
          [[Math.ceil((o + 1) / 10) * 10, Math.ceil((o + 1) / 10) * 100]],
          now,
          300,
        );
        if (!exact) expect(tombstoneExpired(o, ps, now, 300)).toBe(false);
      }
    expect(recordPass(ps, [5, 1])).toEqual(ps); // an end that does not move adds nothing
  });
});

describe('survives and batchStays', () => {
  const map = new OffsetMap(1 << 20);
  map.put(Buffer.from('a'), 10);
  const latest = (k: Buffer) => map.latest(k);
  const never = () => false;

  it('keeps the latest record of a key, keyless records, and live tombstones', () => {
    expect(survives({ offset: 5, key: Buffer.from('a'), tombstone: false }, latest, never)).toBe(
      false,
    );
    expect(survives({ offset: 10, key: Buffer.from('a'), tombstone: false }, latest, never)).toBe(
      true,
    );
    expect(survives({ offset: 3, key: Buffer.from('b'), tombstone: false }, latest, never)).toBe(
      true,
    );
    expect(survives({ offset: 3, key: null, tombstone: false }, latest, never)).toBe(true);
    expect(survives({ offset: 10, key: Buffer.from('a'), tombstone: true }, latest, never)).toBe(
      true,
    );
    expect(
      survives({ offset: 10, key: Buffer.from('a'), tombstone: true }, latest, () => true),
    ).toBe(false);
  });

  it('an emptied batch stays when it ends its group or is its producer’s newest', () => {
    const newest = (pid: number) => (pid === 7 ? 19 : undefined);
    expect(batchStays(29, -1, 30, newest)).toBe(true);
    expect(batchStays(19, 7, 30, newest)).toBe(true);
    expect(batchStays(9, 7, 30, newest)).toBe(false);
    expect(batchStays(9, -1, 30, newest)).toBe(false);
  });

  it('the key map counts its bytes and holds keys exactly', () => {
    const m = new OffsetMap(190);
    m.put(Buffer.from([0xff, 0x00]), 1);
    m.put(Buffer.from([0xff, 0x01]), 2);
    m.put(Buffer.from([0xff, 0x00]), 3);
    expect(m.size).toBe(2);
    expect(m.latest(Buffer.from([0xff, 0x00]))).toBe(3);
    expect(m.usedBytes).toBe(2 * (2 + OffsetMap.ENTRY_OVERHEAD));
    expect(m.full).toBe(false);
    m.put(Buffer.from('x'), 4);
    expect(m.full).toBe(true);
  });
});
