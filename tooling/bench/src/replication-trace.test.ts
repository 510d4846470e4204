import { describe, expect, it } from 'vitest';
import { breakdown, parseTrace } from './replication-trace.js';

describe('replication trace breakdown', () => {
  it('splits a batch along the follower the watermark waited for, within the window', () => {
    const lines = [
      // Broker 1 leads p-0; follower 2 came back at 9, follower 3 (the last) at 14.
      {
        kind: 'leader',
        broker: 1,
        partition: 'p-0',
        end: 10,
        received: 100,
        appended: 101,
        committed: 114.5,
        followers: { 2: [103, 109], 3: [104, 114] },
      },
      { kind: 'follower', broker: 3, partition: 'p-0', to: 5, got: 90, appended: 91 },
      { kind: 'follower', broker: 3, partition: 'p-0', to: 10, got: 106, appended: 110 },
      { kind: 'follower', broker: 2, partition: 'p-0', to: 10, got: 105, appended: 106 },
      // Outside the window.
      {
        kind: 'leader',
        broker: 1,
        partition: 'p-0',
        end: 20,
        received: 500,
        appended: 501,
        committed: 600,
        followers: {},
      },
    ];
    const text = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"kind":"lea`;
    const byStage = Object.fromEntries(
      breakdown(parseTrace(text), 0, 200).map((s) => [s.stage, [s.count, s.p50]]),
    );
    expect(byStage).toEqual({
      'leader append': [1, 1],
      'wait for the follower fetch': [1, 3],
      'answer to the follower': [1, 2],
      'follower append': [1, 4],
      'follower fetch back to the leader': [1, 4],
      'watermark moves': [1, 0.5],
      'arrival to committed': [1, 14.5],
    });
  });
});
