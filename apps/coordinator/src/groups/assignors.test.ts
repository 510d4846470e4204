import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ASSIGNORS,
  type Assignment,
  type AssignorMember,
  assign,
  incremental,
  ownersOf,
  stickyAssign,
  type TopicPartition,
} from './assignors.js';

const key = (tp: TopicPartition) => `${tp.topic}/${tp.partition}`;

/** Topics t0..tk with 1..40 partitions, 1..12 members subscribed to some (or all) of them. */
const scenario = (uniform: boolean) =>
  fc
    .record({
      counts: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
      members: fc.integer({ min: 1, max: 12 }),
      subs: fc.array(fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), {
        minLength: 12,
        maxLength: 12,
      }),
    })
    .map(({ counts, members, subs }) => {
      const topics = counts.map((_, i) => `t${i}`);
      const ms: AssignorMember[] = Array.from({ length: members }, (_, i) => ({
        memberId: `m${i}`,
        sortKey: `m${String(i).padStart(2, '0')}`,
        topics: uniform ? topics : topics.filter((_, t) => subs[i]![t]),
        owned: [],
      }));
      return { counts: new Map(topics.map((t, i) => [t, counts[i]!])), members: ms };
    });

function checkExactlyOnce(
  members: AssignorMember[],
  counts: Map<string, number>,
  out: Assignment,
): void {
  const seen = new Map<string, string>();
  for (const [memberId, tps] of out) {
    const m = members.find((x) => x.memberId === memberId)!;
    for (const tp of tps) {
      expect(m.topics).toContain(tp.topic);
      expect(tp.partition).toBeLessThan(counts.get(tp.topic)!);
      expect(seen.has(key(tp))).toBe(false);
      seen.set(key(tp), memberId);
    }
  }
  for (const [topic, count] of counts) {
    const subscribed = members.some((m) => m.topics.includes(topic));
    for (let p = 0; p < count; p++) expect(seen.has(key({ topic, partition: p }))).toBe(subscribed);
  }
}

const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);

describe('assignors (property-tested)', () => {
  for (const name of ASSIGNORS) {
    it(`${name}: every subscribed partition goes to exactly one subscribed member`, () => {
      fc.assert(
        fc.property(scenario(false), ({ counts, members }) => {
          checkExactlyOnce(members, counts, assign(name, members, counts));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('range: balanced to within one per topic', () => {
    fc.assert(
      fc.property(scenario(true), ({ counts, members }) => {
        const out = assign('range', members, counts);
        for (const topic of counts.keys())
          expect(
            spread([...out.values()].map((tps) => tps.filter((t) => t.topic === topic).length)),
          ).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  for (const name of ['round-robin', 'cooperative-sticky'] as const) {
    it(`${name}: balanced to within one over all topics`, () => {
      fc.assert(
        fc.property(scenario(true), ({ counts, members }) => {
          const out = assign(name, members, counts);
          expect(spread([...out.values()].map((tps) => tps.length))).toBeLessThanOrEqual(1);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('cooperative-sticky: from any prior ownership, still exactly once, balanced, and members keep what balance allows', () => {
    fc.assert(
      fc.property(
        scenario(true),
        fc.array(fc.nat(), { maxLength: 200 }),
        fc.integer({ min: 0, max: 3 }),
        ({ counts, members }, noise, leave) => {
          // Some prior ownership, possibly overlapping and stale (partitions that no longer exist).
          const all = [...counts].flatMap(([topic, n]) =>
            Array.from({ length: n + 2 }, (_, partition) => ({ topic, partition })),
          );
          const withOwned = members.map((m, i) => ({
            ...m,
            owned: noise.filter((x) => x % members.length === i).map((x) => all[x % all.length]!),
          }));
          const present = withOwned.slice(0, Math.max(1, withOwned.length - leave));
          const out = stickyAssign(present, counts);
          checkExactlyOnce(present, counts, out);
          const sizes = [...out.values()].map((tps) => tps.length);
          expect(spread(sizes)).toBeLessThanOrEqual(1);
          const total = [...counts.values()].reduce((a, b) => a + b, 0);
          const floor = Math.floor(total / present.length);
          // The first member (in sort order) to claim a still-existing partition owns it.
          const validOwned = new Map<string, string>();
          for (const m of present)
            for (const tp of m.owned)
              if (
                tp.partition < counts.get(tp.topic)! &&
                !validOwned.has(`${tp.topic}\u0000${tp.partition}`)
              )
                validOwned.set(`${tp.topic}\u0000${tp.partition}`, m.memberId);
          for (const m of present) {
            // Each member keeps at least min(what it validly held uniquely, its fair share).
            const held = [...validOwned].filter(([, owner]) => owner === m.memberId).length;
            const kept = out
              .get(m.memberId)!
              .filter(
                (tp) => validOwned.get(`${tp.topic}\u0000${tp.partition}`) === m.memberId,
              ).length;
            expect(kept).toBeGreaterThanOrEqual(Math.min(held, floor));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('cooperative-sticky: a balanced assignment is a fixed point (nothing moves)', () => {
    fc.assert(
      fc.property(scenario(true), ({ counts, members }) => {
        const first = stickyAssign(members, counts);
        const again = stickyAssign(
          members.map((m) => ({ ...m, owned: first.get(m.memberId)! })),
          counts,
        );
        expect(again).toEqual(first);
      }),
      { numRuns: 200 },
    );
  });

  it('incremental: only partitions changing owner are held back, and only from the new owner', () => {
    fc.assert(
      fc.property(scenario(true), fc.integer({ min: 1, max: 4 }), ({ counts, members }, extra) => {
        const before = stickyAssign(members, counts);
        const owned = members.map((m) => ({ ...m, owned: before.get(m.memberId)! }));
        const joined = [
          ...owned,
          ...Array.from({ length: extra }, (_, i) => ({
            memberId: `new${i}`,
            sortKey: `new${i}`,
            topics: members[0]!.topics,
            owned: [],
          })),
        ];
        const target = stickyAssign(joined, counts);
        const owners = ownersOf(joined);
        const { assignment, heldBack } = incremental(target, owners);
        let moved = 0;
        for (const [memberId, tps] of target) {
          const now = assignment.get(memberId)!;
          for (const tp of tps) {
            const owner = owners.get(`${tp.topic}\u0000${tp.partition}`);
            const changes = owner !== undefined && owner !== memberId;
            if (changes) moved++;
            expect(now.some((x) => key(x) === key(tp))).toBe(!changes);
          }
        }
        expect(heldBack).toBe(moved);
      }),
      { numRuns: 200 },
    );
  });

  it('range and round-robin on a known case', () => {
    const members: AssignorMember[] = ['a', 'b', 'c'].map((id) => ({
      memberId: id,
      sortKey: id,
      topics: ['x', 'y'],
      owned: [],
    }));
    const counts = new Map([
      ['x', 4],
      ['y', 2],
    ]);
    const r = assign('range', members, counts);
    expect(r.get('a')!.map(key)).toEqual(['x/0', 'x/1', 'y/0']);
    expect(r.get('c')!.map(key)).toEqual(['x/3']);
    const rr = assign('round-robin', members, counts);
    expect(rr.get('a')!.map(key)).toEqual(['x/0', 'x/3']);
    expect(rr.get('b')!.map(key)).toEqual(['x/1', 'y/0']);
  });
});
