import {
  MemberExistsError,
  MembershipRefusedError,
  UnavailableError,
  UnknownMemberError,
} from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { TestNet } from './net.test-util.js';
import { decodeConfChange } from './raft.js';
import { type ConfChange, ConfChangeType, EntryType, MessageType } from './types.js';

/** Applies the conf changes each node has committed (as a driver does), then settles. */
function applyConf(net: TestNet): void {
  for (const [id, entries] of net.applied) {
    for (const e of entries)
      if (e.type === EntryType.ConfChange) net.node(id).applyConfChange(decodeConfChange(e.data));
    net.applied.set(
      id,
      entries.filter((e) => e.type !== EntryType.ConfChange),
    );
  }
  net.settle();
}

function change(net: TestNet, leader: number, cc: ConfChange): void {
  net.node(leader).proposeConfChange(cc);
  net.settle();
  applyConf(net);
  net.tick(2);
  applyConf(net);
}

const learner = (nodeId: number): ConfChange => ({ type: ConfChangeType.AddLearner, nodeId });
const promote = (nodeId: number): ConfChange => ({ type: ConfChangeType.AddNode, nodeId });
const remove = (nodeId: number): ConfChange => ({ type: ConfChangeType.RemoveNode, nodeId });

/** Three voters led by 1, with learner 4 added and caught up. */
function withLearner(): TestNet {
  const net = new TestNet([1, 2, 3]);
  net.elect(1);
  net.propose(1, 'before');
  net.add(4, [1, 2, 3], { learners: [4] });
  change(net, 1, learner(4));
  return net;
}

describe('learners', () => {
  it('get the log but never campaign and never count toward commit', () => {
    const net = withLearner();
    expect(net.node(1).confState()).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(net.node(4).confState()).toEqual({ voters: [1, 2, 3], learners: [4] });
    expect(net.appliedText(4)).toEqual(['before']);
    // With the other voters cut off, the leader and the learner alone commit nothing.
    for (const v of [2, 3]) net.isolate(v);
    const commit = net.node(1).log.committed;
    net.node(1).propose(new TextEncoder().encode('unsafe'));
    net.settle();
    expect(net.node(4).log.lastIndex()).toBe(net.node(1).log.lastIndex());
    expect(net.node(1).log.committed).toBe(commit);
    expect(net.appliedText(4)).not.toContain('unsafe');
    // A learner that hears from no leader never asks for votes.
    net.isolate(4);
    let votes = 0;
    for (let i = 0; i < 100; i++) {
      net.node(4).tick();
      votes += net.countType(MessageType.PreVote) + net.countType(MessageType.Vote);
      net.settle();
    }
    expect(votes).toBe(0);
    expect(net.node(4).role).toBe('follower');
    net.heal();
    net.tick(3);
    expect(net.appliedText(4)).toContain('unsafe');
  });

  it('is promoted to voter only once caught up', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.add(4, [1, 2, 3], { learners: [4] });
    net.isolate(4);
    change(net, 1, learner(4));
    for (let i = 0; i < 20; i++) net.propose(1, `w${i}`);
    net.tick(12); // 4 has not answered for an election timeout
    expect(() => net.node(1).proposeConfChange(promote(4))).toThrow(MembershipRefusedError);
    expect(() => net.node(1).proposeConfChange(promote(4))).toThrow(/not caught up/);
    net.heal();
    net.tick(3);
    change(net, 1, promote(4));
    expect(net.node(1).confState()).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    expect(net.node(4).confState()).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    // Now it counts: with 2 and 3 away, 1 and 4 are not a quorum of 4; with 3 away they are
    // three of four.
    net.isolate(2);
    net.isolate(3);
    const commit = net.node(1).log.committed;
    net.node(1).propose(new TextEncoder().encode('needs-3'));
    net.settle();
    expect(net.node(1).log.committed).toBe(commit);
    net.heal();
    net.isolate(3);
    net.tick(2);
    expect(net.node(1).log.committed).toBe(net.node(1).log.lastIndex());
  });

  it('catch up from a snapshot that carries the learners', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 10; i++) net.propose(1, `w${i}`);
    net.node(1).compact(net.snapshotOf(1, 'state'));
    net.add(4, [1, 2, 3], { learners: [4] });
    change(net, 1, learner(4));
    net.tick(3);
    expect(net.node(4).log.snapshotIndex).toBeGreaterThan(0);
    expect(net.node(4).confState()).toEqual({ voters: [1, 2, 3], learners: [4] });
  });
});

describe('membership changes', () => {
  it('refuse what does not fit the membership, and more than one at a time', () => {
    const net = withLearner();
    expect(() => net.node(1).proposeConfChange(learner(2))).toThrow(MemberExistsError);
    expect(() => net.node(1).proposeConfChange(learner(4))).toThrow(MemberExistsError);
    expect(() => net.node(1).proposeConfChange(promote(2))).toThrow(MemberExistsError);
    expect(() => net.node(1).proposeConfChange(remove(9))).toThrow(UnknownMemberError);
    net.node(1).proposeConfChange(remove(4));
    expect(() => net.node(1).proposeConfChange(learner(5))).toThrow(UnavailableError);
    net.settle();
    applyConf(net);
    expect(net.node(1).confState()).toEqual({ voters: [1, 2, 3], learners: [] });
  });

  it('refuse removing a voter when the ones left that answer are no quorum', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    net.tick(12); // 3 has not answered for an election timeout
    expect(() => net.node(1).proposeConfChange(remove(2))).toThrow(
      /removing 2 would leave 2 voter\(s\) of which 1 answered lately/,
    );
    expect(net.node(1).confState().voters).toEqual([1, 2, 3]);
    // Removing the dead one keeps a quorum of live voters: allowed.
    change(net, 1, remove(3));
    expect(net.node(1).confState().voters).toEqual([1, 2]);
    expect(() => net.node(1).proposeConfChange(remove(1))).not.toThrow();
  });

  it('a leader that removes itself steps down after the change is applied; the rest elect', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.node(1).proposeConfChange(remove(1));
    net.settle();
    expect(net.node(1).role).toBe('leader'); // committed, not yet applied
    applyConf(net);
    expect(net.node(1).role).toBe('follower');
    const next = net.awaitLeader([1]);
    expect([2, 3]).toContain(next.id);
    net.propose(next.id, 'after');
    expect(net.appliedText(next.id === 2 ? 3 : 2)).toContain('after');
    // The removed node never campaigns again.
    net.tick(40);
    expect(net.node(1).role).toBe('follower');
  });
});
