import type { KeyValue } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { msg } from '../raft/raft.js';
import { type Message, MessageType, type Snapshot } from '../raft/types.js';
import { SnapshotView } from '../store/snapshot-view.js';
import { FollowerSnapshots } from './follower-snapshots.js';

const kv: KeyValue = {
  key: Buffer.from('k'),
  value: Buffer.from('v'),
  createRevision: 1,
  modRevision: 1,
  version: 1,
  lease: 0,
};
const toJson = (r: KeyValue) => ({ ...r, key: r.key.toString(), value: r.value.toString() });

/** A node's side of it: its applied index, a clock, and what went out. */
function harness() {
  const state = { applied: 10, now: 0, captures: 0, sending: false };
  const sent: Message[] = [];
  const snapshots = new FollowerSnapshots({
    capture: () => {
      state.captures++;
      return {
        metadata: { index: state.applied, term: 2, confState: { voters: [1, 2, 3], learners: [] } },
        view: new SnapshotView([kv], (r) => JSON.stringify(toJson(r)), { revision: state.applied }),
      };
    },
    send: (m) => sent.push(m),
    sending: () => state.sending,
    now: () => state.now,
  });
  return { state, sent, snapshots };
}

/** The core's request: a snapshot at its compaction point, whose data the rows hold. */
const ask = (to: number, index: number): Message & { snapshot: Snapshot } => ({
  ...msg({ type: MessageType.Snap, from: 1, to, term: 2 }),
  snapshot: {
    metadata: { index, term: 2, confState: { voters: [1, 2, 3], learners: [] } },
    data: new Uint8Array(0),
  },
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('FollowerSnapshots', () => {
  it('builds one snapshot, at the applied index, for every follower that asks while it is built', async () => {
    const { state, sent, snapshots } = harness();
    snapshots.request(ask(2, 8));
    snapshots.request(ask(2, 8));
    snapshots.request(ask(3, 9));
    expect(sent).toHaveLength(0); // built off the call: nothing goes out synchronously
    await settle();
    expect(state.captures).toBe(1);
    expect(sent.map((m) => m.to)).toEqual([2, 3]);
    for (const m of sent) {
      expect(m.snapshot!.metadata.index).toBe(10);
      expect(JSON.parse(Buffer.from(m.snapshot!.data).toString())).toEqual({
        keys: [toJson(kv)],
        revision: 10,
      });
    }
  });

  it('does not send the same snapshot to a follower again until it had time to arrive', async () => {
    const { state, sent, snapshots } = harness();
    snapshots.request(ask(2, 8));
    await settle();
    expect(sent).toHaveLength(1);
    // The core asks again on every heartbeat answer while the follower installs it.
    state.now += 1_000;
    snapshots.request(ask(2, 8));
    expect(sent).toHaveLength(1);
    // Lost on the way: sent again after the wait, from what was built.
    state.now += 10_000;
    snapshots.request(ask(2, 8));
    expect(sent).toHaveLength(2);
    expect(sent[1]!.snapshot).toBe(sent[0]!.snapshot);
    expect(state.captures).toBe(1);
  });

  it('sends none again while the transport is still sending the last one, however long', async () => {
    const { state, sent, snapshots } = harness();
    snapshots.request(ask(2, 8));
    await settle();
    state.sending = true;
    state.now += 60_000;
    snapshots.request(ask(2, 8));
    expect(sent).toHaveLength(1);
    state.sending = false; // sent, or its stream broke: the next ask goes
    snapshots.request(ask(2, 8));
    expect(sent).toHaveLength(2);
  });

  it('sends no newer one either while the first is on its way (the leader compacted meanwhile)', async () => {
    const { state, sent, snapshots } = harness();
    snapshots.request(ask(2, 8));
    await settle();
    state.applied = 30;
    state.now += 1_000;
    snapshots.request(ask(2, 25));
    await settle();
    expect(sent).toHaveLength(1);
    expect(state.captures).toBe(1);
  });

  it('once the follower answers it installed one, builds and sends the next at once', async () => {
    const { state, sent, snapshots } = harness();
    snapshots.request(ask(2, 8));
    snapshots.request(ask(3, 8));
    await settle();
    snapshots.answered(2, 9); // an answer from before the snapshot: not it
    snapshots.answered(2, 10);
    state.applied = 30;
    state.now += 1_000;
    snapshots.request(ask(2, 25));
    snapshots.request(ask(3, 25)); // 3 has not answered: still waits
    await settle();
    expect(state.captures).toBe(2);
    expect(sent.map((m) => [m.to, m.snapshot!.metadata.index])).toEqual([
      [2, 10],
      [3, 10],
      [2, 30],
    ]);
  });

  it('builds again when asked, while building, for a point past the one being built', async () => {
    const { state, sent, snapshots } = harness();
    snapshots.request(ask(2, 8));
    state.applied = 30; // applied and compacted before the first build ended
    snapshots.request(ask(3, 25));
    await settle();
    expect(state.captures).toBe(2);
    expect(sent.map((m) => [m.to, m.snapshot!.metadata.index])).toEqual([
      [2, 10],
      [3, 30],
    ]);
  });

  it('sends nothing when no point can be taken, and builds when asked next', async () => {
    const state = { now: 0 };
    const sent: Message[] = [];
    let none = true;
    const source = new FollowerSnapshots({
      capture: () =>
        none
          ? undefined
          : {
              metadata: ask(2, 10).snapshot.metadata,
              view: new SnapshotView([], (r) => JSON.stringify(toJson(r)), {}),
            },
      send: (m) => sent.push(m),
      sending: () => false,
      now: () => state.now,
    });
    source.request(ask(2, 8));
    await settle();
    expect(sent).toHaveLength(0);
    none = false;
    source.request(ask(2, 8));
    await settle();
    expect(sent).toHaveLength(1);
  });
});
