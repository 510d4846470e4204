import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../topic/metadata.js';
import { CommittedOffsets, GroupKeys } from './group-keys.js';
import { encodeCommittedOffset } from './offset-record.js';

const key = GroupKeys.offset('g', 'orders', 3);

describe('committed offset records', () => {
  it('round-trip in the compact layout, metadata and leader epoch included', () => {
    for (const o of [
      { offset: 0, metadata: '', commitTimestamp: 0, leaderEpoch: -1 },
      {
        offset: 2 ** 53 - 1,
        metadata: 'ünïcode ✓',
        commitTimestamp: 1_764_633_600_000,
        leaderEpoch: 7,
      },
      { offset: 42, metadata: 'x'.repeat(4096), commitTimestamp: 5, leaderEpoch: 2 ** 31 - 1 },
    ]) {
      const value = encodeCommittedOffset(o);
      expect(value.length).toBe(21 + Buffer.byteLength(o.metadata));
      expect(decodeRecord(CommittedOffsets, { key, value })).toEqual({ ok: true, record: o });
    }
  });

  it('still read in the JSON layout written before (no leader epoch there: -1)', () => {
    const value = Buffer.from(JSON.stringify({ offset: 9, metadata: 'm', commitTimestamp: 3 }));
    expect(decodeRecord(CommittedOffsets, { key, value })).toEqual({
      ok: true,
      record: { offset: 9, metadata: 'm', commitTimestamp: 3, leaderEpoch: -1 },
    });
  });

  it('refuses short, unknown, negative and non-UTF-8 records with a reason', () => {
    const good = encodeCommittedOffset({
      offset: 1,
      metadata: 'ab',
      commitTimestamp: 1,
      leaderEpoch: 0,
    });
    const negative = Buffer.from(good);
    negative.writeBigInt64BE(-5n, 1);
    const huge = Buffer.from(good);
    huge.writeBigInt64BE(2n ** 60n, 1);
    const badUtf8 = Buffer.concat([good.subarray(0, 21), Buffer.from([0xc3, 0x28])]);
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(0), /empty/],
      [good.subarray(0, 20), /cut short/],
      [Buffer.from([2, ...good.subarray(1)]), /layout 2 is not known/],
      [negative, /offset/],
      [huge, /out of range/],
      [badUtf8, /unreadable/],
    ];
    for (const [value, why] of cases) {
      const r = decodeRecord(CommittedOffsets, { key, value });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(why);
    }
  });

  it('never throws on random or mutated bytes (seeded fuzz)', () => {
    let seed = 77;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const base = encodeCommittedOffset({
      offset: 10,
      metadata: 'meta',
      commitTimestamp: 2,
      leaderEpoch: 1,
    });
    for (let i = 0; i < 5000; i++) {
      const value =
        i % 2 === 0
          ? Buffer.from(
              Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)),
            )
          : Buffer.from(base.map((x) => (rand() < 0.1 ? Math.floor(rand() * 256) : x)));
      const r = decodeRecord(CommittedOffsets, { key, value });
      if (r.ok) {
        expect(Number.isSafeInteger(r.record.offset) && r.record.offset >= 0).toBe(true);
        expect(r.record.leaderEpoch).toBeGreaterThanOrEqual(-1);
      }
    }
  });
});
