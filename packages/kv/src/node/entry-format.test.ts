import { describe, expect, it } from 'vitest';
import { type FormatView, formatToActivate } from './entry-format.js';

const view = (over: Partial<FormatView>): FormatView => ({
  active: 0,
  members: [1, 2, 3],
  self: 1,
  selfMax: 1,
  heard: new Map([
    [2, 1],
    [3, 1],
  ]),
  ...over,
});

describe('which entry format the leader activates', () => {
  it('activates the newest format every member reads', () => {
    expect(formatToActivate(view({}))).toBe(1);
    expect(formatToActivate(view({ members: [1], heard: new Map() }))).toBe(1);
  });

  it('waits for a member that reads less, or that it has not heard from (it may be old)', () => {
    expect(
      formatToActivate(
        view({
          heard: new Map([
            [2, 1],
            [3, 0],
          ]),
        }),
      ),
    ).toBeUndefined();
    expect(formatToActivate(view({ heard: new Map([[2, 1]]) }))).toBeUndefined();
    // A learner counts as much as a voter: members lists both.
    expect(formatToActivate(view({ members: [1, 2, 3, 4] }))).toBeUndefined();
  });

  it('never goes past what the leader itself reads, and never back', () => {
    expect(formatToActivate(view({ selfMax: 0 }))).toBeUndefined();
    expect(
      formatToActivate(
        view({
          heard: new Map([
            [2, 5],
            [3, 9],
          ]),
        }),
      ),
    ).toBe(1);
    expect(formatToActivate(view({ active: 1 }))).toBeUndefined();
    expect(
      formatToActivate(
        view({
          active: 1,
          heard: new Map([
            [2, 0],
            [3, 0],
          ]),
        }),
      ),
    ).toBeUndefined();
  });

  it('only counts members: one removed does not hold the cluster back', () => {
    expect(
      formatToActivate(
        view({
          members: [1, 2],
          heard: new Map([
            [2, 1],
            [3, 0],
          ]),
        }),
      ),
    ).toBe(1);
  });
});
