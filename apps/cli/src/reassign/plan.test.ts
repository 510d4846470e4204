import { InvalidReplicationFactorError } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Assignment, changedAssignments, planAssignment } from './plan.js';

/** Kafka-style ring placement (as the controller makes it): partition p on brokers p, p+1, ... */
function ring(topic: string, partitions: number, rf: number, brokers: number[]): Assignment[] {
  return Array.from({ length: partitions }, (_, p) => ({
    topic,
    partition: p,
    replicas: Array.from({ length: rf }, (_, r) => brokers[(p + r) % brokers.length]!),
  }));
}
const counts = (plan: Assignment[], pick: (a: Assignment) => number[]) => {
  const n = new Map<number, number>();
  for (const a of plan) for (const b of pick(a)) n.set(b, (n.get(b) ?? 0) + 1);
  return n;
};
const replicaCounts = (plan: Assignment[]) => counts(plan, (a) => a.replicas);
const leaderCounts = (plan: Assignment[]) => counts(plan, (a) => [a.replicas[0]!]);
/** Replicas that must copy the log: new members of each partition. */
const copies = (before: Assignment[], after: Assignment[]) =>
  after.reduce(
    (n, a, i) => n + a.replicas.filter((b) => !before[i]!.replicas.includes(b)).length,
    0,
  );
const brokers = (...ids: number[]) => ids.map((id) => ({ id }));

describe('planAssignment: balance', () => {
  it('a new broker takes its share: counts even, leaders even, no more copies than needed', () => {
    const before = ring('t', 12, 3, [1, 2, 3]);
    const after = planAssignment(before, { brokers: brokers(1, 2, 3, 4) });
    expect([...replicaCounts(after).values()]).toEqual([9, 9, 9, 9]);
    expect([...leaderCounts(after).values()].sort()).toEqual([3, 3, 3, 3]);
    expect(copies(before, after)).toBe(9); // broker 4's nine replicas, nothing else
    for (const a of after) expect(new Set(a.replicas).size).toBe(3);
  });

  it('a balanced cluster has nothing to do', () => {
    const before = ring('t', 8, 2, [1, 2, 3, 4]);
    expect(
      changedAssignments(before, planAssignment(before, { brokers: brokers(1, 2, 3, 4) })),
    ).toEqual([]);
  });

  it('spreads each partition over as many racks as there are, keeping the counts even', () => {
    const racked = [1, 2, 3, 4, 5, 6].map((id) => ({ id, rack: `r${Math.ceil(id / 2)}` }));
    const before = ring('t', 6, 3, [1, 2, 3, 4, 5, 6]); // 1,2,3: racks r1, r1, r2
    const after = planAssignment(before, { brokers: racked });
    const rackOf = (b: number) => racked.find((r) => r.id === b)!.rack;
    for (const a of after) expect(new Set(a.replicas.map(rackOf)).size).toBe(3);
    expect([...replicaCounts(after).values()]).toEqual([3, 3, 3, 3, 3, 3]);
    expect([...leaderCounts(after).values()]).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('refuses a partition with more replicas than brokers', () => {
    expect(() => planAssignment(ring('t', 2, 3, [1, 2, 3]), { brokers: brokers(1, 2) })).toThrow(
      InvalidReplicationFactorError,
    );
  });

  it('for any cluster: replication factors kept, replicas distinct and on the given brokers, counts within one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 7 })), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.array(fc.constantFrom('', 'a', 'b', 'c'), { minLength: 7, maxLength: 7 }),
        (n, shapes, rackNames) => {
          const live = Array.from({ length: n }, (_, i) => ({ id: i + 1, rack: rackNames[i] }));
          const before = shapes
            .filter(([rf]) => rf <= n)
            .map(([rf, start], p) => ({
              topic: 't',
              partition: p,
              replicas: Array.from({ length: rf }, (_, r) => ((start + r) % 8) + 1),
            }));
          const after = planAssignment(before, { brokers: live });
          for (const [i, a] of after.entries()) {
            expect(a.replicas).toHaveLength(before[i]!.replicas.length);
            expect(new Set(a.replicas).size).toBe(a.replicas.length);
            for (const b of a.replicas) expect(b).toBeLessThanOrEqual(n);
          }
          const c = [...live.map((b) => replicaCounts(after).get(b.id) ?? 0)];
          expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('planAssignment: drain (replaceOnly)', () => {
  it("moves only the drained broker's replicas, each to the emptiest broker, in its place", () => {
    const before = ring('t', 12, 3, [1, 2, 3, 4]);
    const after = planAssignment(before, { brokers: brokers(1, 2, 3), replaceOnly: true });
    expect([...replicaCounts(after).values()]).toEqual([12, 12, 12]);
    expect(copies(before, after)).toBe(9);
    for (const [i, a] of after.entries()) {
      const was = before[i]!.replicas;
      if (!was.includes(4)) expect(a.replicas).toEqual(was);
      else expect(a.replicas.filter((b, k) => b !== was[k])).toHaveLength(1); // only 4's slot changed
    }
  });

  it("leaves a fenced broker's replicas where they are, and refuses when no live broker is left for one", () => {
    const before = [
      { topic: 't', partition: 0, replicas: [4, 2, 3] },
      { topic: 't', partition: 1, replicas: [1, 2, 3] },
    ];
    // 4 drains, 3 is fenced (restarting): only 4's replica moves, to 1.
    const after = planAssignment(before, { brokers: brokers(1, 2), keep: [3], replaceOnly: true });
    expect(after.map((a) => a.replicas)).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    expect(() =>
      planAssignment([{ topic: 't', partition: 0, replicas: [4, 1, 2] }], {
        brokers: brokers(1, 2),
        keep: [3],
        replaceOnly: true,
      }),
    ).toThrow(InvalidReplicationFactorError);
  });

  it('keeps racks apart where it can', () => {
    const racked = [
      { id: 1, rack: 'a' },
      { id: 2, rack: 'b' },
      { id: 3, rack: 'b' },
    ];
    // broker 4 (rack a) goes; its replica of [4, 2] must not land on 3 (rack b again).
    const after = planAssignment([{ topic: 't', partition: 0, replicas: [4, 2] }], {
      brokers: racked,
      replaceOnly: true,
    });
    expect(after[0]!.replicas).toEqual([1, 2]);
  });
});
