import { NO_LEADER, type PartitionRecord } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  completeReassignment,
  newPartition,
  placeReplicas,
  reconcilePartition,
  startReassignment,
} from './placement.js';

describe('placeReplicas', () => {
  it('spreads leaders evenly and never repeats a broker within a partition', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 8 }),
        (brokers, count, start, rf) => {
          fc.pre(rf <= brokers.length);
          const placed = placeReplicas(brokers, 0, count, rf, start);
          expect(placed).toHaveLength(count);
          const leaders = new Map<number, number>();
          for (const replicas of placed) {
            expect(new Set(replicas).size).toBe(rf);
            for (const b of replicas) expect(brokers).toContain(b);
            leaders.set(replicas[0]!, (leaders.get(replicas[0]!) ?? 0) + 1);
          }
          const counts = brokers.map((b) => leaders.get(b) ?? 0);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('refuses more replicas than live brokers', () => {
    expect(() => placeReplicas([1, 2], 0, 1, 3, 0)).toThrow(RangeError);
  });
});

describe('reconcilePartition', () => {
  const p = (over: Partial<PartitionRecord> = {}): PartitionRecord => ({
    ...newPartition('t', 0, [1, 2, 3]),
    ...over,
  });

  it('changes nothing while the leader and the ISR are live', () => {
    const before = p();
    expect(reconcilePartition(before, new Set([1, 2, 3]))).toBe(before);
  });

  it('elects the next live ISR member when the leader dies, bumping both epochs', () => {
    const after = reconcilePartition(p(), new Set([2, 3]));
    expect(after).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 });
  });

  it('keeps the last ISR member and goes offline rather than electing an out-of-sync replica', () => {
    const after = reconcilePartition(p({ isr: [1] }), new Set([2, 3]));
    expect(after).toMatchObject({ leader: NO_LEADER, isr: [1], leaderEpoch: 0, partitionEpoch: 1 });
    const back = reconcilePartition(after, new Set([1, 2, 3]));
    expect(back).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 1, partitionEpoch: 2 });
  });

  it('unclean election picks a live out-of-sync replica only when asked', () => {
    const before = p({ isr: [1] });
    expect(reconcilePartition(before, new Set([2, 3])).leader).toBe(NO_LEADER);
    expect(reconcilePartition(before, new Set([2, 3]), { unclean: true })).toMatchObject({
      leader: 2,
      isr: [2],
      leaderEpoch: 1,
    });
  });

  it('hands leadership back to the preferred replica once it is live and in sync', () => {
    const moved = p({ leader: 2, leaderEpoch: 3 });
    expect(reconcilePartition(moved, new Set([1, 2, 3]))).toBe(moved);
    expect(reconcilePartition(moved, new Set([1, 2, 3]), { preferred: true })).toMatchObject({
      leader: 1,
      leaderEpoch: 4,
    });
    const outOfSync = p({ leader: 2, isr: [2, 3] });
    expect(reconcilePartition(outOfSync, new Set([1, 2, 3]), { preferred: true })).toBe(outOfSync);
  });

  it('moves leadership and ISR places off a broker in controlled shutdown where another live replica can take them', () => {
    const leaving = new Set([1]);
    const moved = reconcilePartition(p(), new Set([1, 2, 3]), { preferred: true, leaving });
    expect(moved).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 });
    // A follower leaving drops out of the ISR; the leader stays.
    expect(
      reconcilePartition(p(), new Set([1, 2, 3]), { preferred: true, leaving: new Set([3]) }),
    ).toMatchObject({ leader: 1, isr: [1, 2], leaderEpoch: 0 });
    // Alone in the ISR it keeps leading (the partition stays up until it stops).
    const alone = p({ isr: [1] });
    expect(reconcilePartition(alone, new Set([1, 2, 3]), { leaving })).toBe(alone);
    // Once registered again it is not leaving: preferred election gives leadership back.
    const back = reconcilePartition({ ...moved, isr: [2, 3, 1] }, new Set([1, 2, 3]), {
      preferred: true,
    });
    expect(back).toMatchObject({ leader: 1, leaderEpoch: 2 });
  });

  it('keeps its invariants for any live set: isr ⊆ replicas, leader ∈ isr or -1, epochs never fall', () => {
    fc.assert(
      fc.property(
        fc.subarray([1, 2, 3], { minLength: 1 }),
        fc.array(fc.subarray([1, 2, 3, 4]), { maxLength: 6 }),
        (isr, lives) => {
          let cur = p({ isr });
          for (const [i, live] of lives.entries()) {
            const next = reconcilePartition(cur, new Set(live), {
              unclean: i % 2 === 0,
              preferred: i % 3 === 0,
              leaving: new Set(live.slice(0, i % 3)),
            });
            expect(next.isr.length).toBeGreaterThan(0);
            for (const b of next.isr) expect(next.replicas).toContain(b);
            if (next.leader !== NO_LEADER) expect(next.isr).toContain(next.leader);
            expect(next.leaderEpoch).toBeGreaterThanOrEqual(cur.leaderEpoch);
            expect(next.partitionEpoch).toBeGreaterThanOrEqual(cur.partitionEpoch);
            if (next.leader !== cur.leader && next.leader !== NO_LEADER)
              expect(next.leaderEpoch).toBe(cur.leaderEpoch + 1);
            cur = next;
          }
        },
      ),
    );
  });
});

describe('reassignment', () => {
  it('adds the target replicas first, and drops the old ones only once the targets are in sync', () => {
    const moving = startReassignment(newPartition('t', 0, [1]), [2, 3]);
    expect(moving).toMatchObject({
      replicas: [2, 3, 1],
      isr: [1],
      leader: 1,
      targetReplicas: [2, 3],
    });
    const live = new Set([1, 2, 3]);
    expect(completeReassignment(moving, live)).toBe(moving);
    const halfway = { ...moving, isr: [1, 2] };
    expect(completeReassignment(halfway, live)).toBe(halfway);
    const done = completeReassignment({ ...moving, isr: [1, 2, 3] }, live);
    expect(done).toMatchObject({ replicas: [2, 3], isr: [2, 3], leader: 2, leaderEpoch: 1 });
    expect(done.targetReplicas).toBeUndefined();
    expect(done.partitionEpoch).toBe(moving.partitionEpoch + 1);
  });
});
