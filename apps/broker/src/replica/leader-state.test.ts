import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LeaderState } from './leader-state.js';

describe('LeaderState', () => {
  it('the high watermark is the smallest end in the ISR and never moves back', () => {
    const s = new LeaderState(1, 0, [2, 3], 0);
    expect(s.advance([1, 2, 3], 10)).toBe(false);
    s.followerFetched(2, 7, 10, 1);
    s.followerFetched(3, 4, 10, 1);
    expect(s.advance([1, 2, 3], 10)).toBe(true);
    expect(s.highWatermark).toBe(4);
    // Broker 3 leaves the ISR: the watermark follows broker 2.
    expect(s.advance([1, 2], 10)).toBe(true);
    expect(s.highWatermark).toBe(7);
    // Broker 3 rejoining behind does not pull it back.
    s.advance([1, 2, 3], 10);
    expect(s.highWatermark).toBe(7);
  });

  it('a replica asked to join the ISR holds the watermark back until an ISR newer than the ask is known', () => {
    // The controller may have let broker 3 in while its answer was lost: were it elected, it
    // must hold everything acknowledged.
    const s = new LeaderState(1, 0, [2, 3], 0);
    s.followerFetched(2, 10, 10, 1);
    s.followerFetched(3, 6, 10, 1);
    s.askedToJoin([3], 4);
    expect(s.advance([1, 2], 10)).toBe(true);
    expect(s.highWatermark).toBe(6);
    s.isrKnown(4); // the ISR it asked at: still unsettled
    s.followerFetched(3, 8, 10, 2);
    s.advance([1, 2], 10);
    expect(s.highWatermark).toBe(8);
    // Epoch 5 is known (joined or not): the ISR alone counts again.
    s.isrKnown(5);
    expect(s.advance([1, 2], 10)).toBe(true);
    expect(s.highWatermark).toBe(10);
  });

  it('a replica asked to join that the controller fenced holds the watermark back no more', () => {
    const s = new LeaderState(1, 0, [2, 3], 0);
    s.followerFetched(2, 10, 10, 1);
    s.followerFetched(3, 6, 10, 1);
    s.askedToJoin([3], 4);
    s.advance([1, 2], 10);
    expect(s.highWatermark).toBe(6);
    s.forgetJoins((b) => b === 2); // another broker's fencing changes nothing
    expect(s.advance([1, 2], 10)).toBe(false);
    s.forgetJoins((b) => b === 3);
    expect(s.advance([1, 2], 10)).toBe(true);
    expect(s.highWatermark).toBe(10);
  });

  it('a replica asked to join that stops fetching is a laggard, so it cannot hold the watermark for good', () => {
    const s = new LeaderState(1, 0, [2, 3], 0);
    s.followerFetched(2, 10, 10, 500);
    s.followerFetched(3, 10, 10, 500);
    s.askedToJoin([3], 7);
    s.followerFetched(2, 20, 20, 1600);
    expect(s.laggards([1, 2], 1600, 1000)).toEqual([3]);
  });

  it('with the leader alone in the ISR, the watermark is its log end', () => {
    const s = new LeaderState(1, 0, [], 0);
    s.advance([1], 42);
    expect(s.highWatermark).toBe(42);
  });

  it('drops followers that have not caught up within the lag window, and lets caught-up ones back', () => {
    const s = new LeaderState(1, 0, [2, 3], 0);
    s.followerFetched(2, 10, 10, 500);
    s.followerFetched(3, 5, 10, 500);
    expect(s.laggards([1, 2, 3], 900, 1000)).toEqual([]);
    s.followerFetched(2, 10, 10, 1500);
    expect(s.laggards([1, 2, 3], 1600, 1000)).toEqual([3]);
    s.advance([1, 2], 10);
    expect(s.mayJoin(3, [1, 2])).toBe(false);
    s.followerFetched(3, 10, 10, 1700);
    expect(s.mayJoin(3, [1, 2])).toBe(true);
    expect(s.mayJoin(2, [1, 2])).toBe(false);
  });

  it('keeps hw <= leader end and hw <= every ISR member end, whatever the fetch order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(2, 3), fc.integer({ min: 0, max: 100 })), {
          maxLength: 30,
        }),
        (fetches) => {
          const s = new LeaderState(1, 0, [2, 3], 0);
          let leaderEnd = 0;
          const ends = new Map<number, number>();
          for (const [id, add] of fetches) {
            leaderEnd += add;
            const offset = Math.min(leaderEnd, (ends.get(id) ?? 0) + add);
            ends.set(id, offset);
            s.followerFetched(id, offset, leaderEnd, 0);
            s.advance([1, 2, 3], leaderEnd);
            expect(s.highWatermark).toBeLessThanOrEqual(leaderEnd);
            for (const b of [2, 3]) expect(s.highWatermark).toBeLessThanOrEqual(ends.get(b) ?? 0);
          }
        },
      ),
    );
  });
});
