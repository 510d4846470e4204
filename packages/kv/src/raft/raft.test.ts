import { NotLeaderError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { prng } from '../sim/prng.js';
import { TestNet } from './net.test-util.js';
import { decodeConfChange, encodeConfChange, RaftNode } from './raft.js';
import { ConfChangeType, EntryType, MessageType, Role } from './types.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('Raft paper properties', () => {
  it('Election Safety: at most one leader is elected in a given term', () => {
    const rand = prng(3);
    const leaderOf = new Map<number, number>();
    for (let round = 0; round < 30; round++) {
      const net = new TestNet([1, 2, 3, 4, 5], { seed: round, preVote: round % 2 === 0 });
      for (let step = 0; step < 40; step++) {
        // Random campaigns and random isolation keep elections contested.
        if (rand() < 0.3) net.node(1 + Math.floor(rand() * 5)).campaign();
        if (rand() < 0.2) {
          net.heal();
          net.isolate(1 + Math.floor(rand() * 5));
        }
        net.tick();
        for (const l of net.leaders()) {
          const key = round * 1000 + l.term;
          const known = leaderOf.get(key);
          expect(known === undefined || known === l.id).toBe(true);
          leaderOf.set(key, l.id);
        }
      }
    }
    expect(leaderOf.size).toBeGreaterThan(30);
  });

  it('Leader Append-Only: a leader never overwrites or deletes entries in its log', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    const before = net
      .node(1)
      .log.slice(1, net.node(1).log.lastIndex() + 1)
      .map((e) => `${e.term}/${e.index}`);
    // A stale candidate with a conflicting view cannot make the leader drop entries.
    net.isolate(1);
    net.node(1).propose(text('b'));
    net.settle();
    net.heal();
    net.tick(3);
    const after = net
      .node(1)
      .log.slice(1, before.length + 1)
      .map((e) => `${e.term}/${e.index}`);
    if (net.node(1).role === 'leader') expect(after).toEqual(before);
    expect(net.node(1).log.lastIndex()).toBeGreaterThanOrEqual(before.length);
  });

  it('Log Matching: after divergence, logs agree up to the last common entry and converge', () => {
    const net = new TestNet([1, 2, 3, 4, 5]);
    net.elect(1);
    net.propose(1, 'shared');
    // The old leader, cut off, appends entries nobody else sees.
    net.isolate(1);
    net.node(1).propose(text('lost-1'));
    net.node(1).propose(text('lost-2'));
    net.settle();
    const next = net.awaitLeader([1]).id;
    net.propose(next, 'new-1');
    net.propose(next, 'new-2');
    net.heal();
    net.tick(5);
    const logs = [1, 2, 3, 4, 5].map((id) =>
      net
        .node(id)
        .log.slice(1, net.node(id).log.lastIndex() + 1)
        .map((e) => `${e.term}:${new TextDecoder().decode(e.data)}`),
    );
    for (const log of logs) expect(log).toEqual(logs[next - 1]);
    expect(logs[0]!.join()).not.toMatch(/lost/);
  });

  it('Leader Completeness: a committed entry is in the log of every later leader', () => {
    const net = new TestNet([1, 2, 3, 4, 5]);
    net.elect(1);
    net.propose(1, 'committed');
    const index = net.node(1).log.committed;
    let current = 1;
    for (let round = 0; round < 4; round++) {
      net.isolate(current);
      const leader = net.awaitLeader([current]);
      expect(new TextDecoder().decode(leader.log.slice(index, index + 1)[0]!.data)).toBe(
        'committed',
      );
      net.heal();
      current = leader.id;
    }
  });

  it('State Machine Safety: every node applies the same entry at each index', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    for (let i = 0; i < 10; i++) net.propose(1, `cmd-${i}`);
    net.isolate(3);
    for (let i = 10; i < 15; i++) net.propose(1, `cmd-${i}`);
    net.heal();
    net.tick(3);
    const applied = [1, 2, 3].map((id) => net.appliedText(id));
    expect(applied[0]).toHaveLength(15);
    expect(applied[1]).toEqual(applied[0]);
    expect(applied[2]).toEqual(applied[0]);
  });
});

describe('Raft extensions', () => {
  it('PreVote: a partitioned node that rejoins does not disrupt the leader', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    const term = net.node(1).term;
    net.isolate(3);
    net.tick(50); // node 3 keeps pre-voting and never raises its term
    expect(net.node(3).term).toBe(term);
    net.heal();
    net.tick(2);
    expect(net.node(1).role).toBe('leader');
    expect(net.node(1).term).toBe(term);
  });

  it('CheckQuorum: a leader that cannot reach a quorum steps down', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.isolate(1);
    net.tick(25);
    expect(net.node(1).role).not.toBe('leader');
    expect(() => net.node(1).propose(text('x'))).toThrow(NotLeaderError);
  });

  it('ReadIndex: reads get the commit index once leadership is confirmed, from the leader and followers', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.node(1).readIndex(text('r1'));
    net.settle();
    net.node(2).readIndex(text('r2'));
    net.settle();
    expect(net.readStates.get(1)!.map((r) => r.index)).toEqual([net.node(1).log.committed]);
    expect(net.readStates.get(2)!.map((r) => new TextDecoder().decode(r.context))).toEqual(['r2']);
    // An isolated leader cannot confirm a read.
    net.isolate(1);
    net.node(1).readIndex(text('r3'));
    net.settle();
    expect(net.readStates.get(1)).toHaveLength(1);
  });

  it('leader transfer hands leadership to a caught-up follower', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.propose(1, 'a');
    net.node(1).transferLeadership(3);
    net.settle();
    expect(net.node(3).role).toBe('leader');
    expect(net.node(1).role).toBe('follower');
  });

  it('adds and removes voters one at a time', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.add(4, [1, 2, 3, 4]);
    net.node(1).proposeConfChange({ type: ConfChangeType.AddNode, nodeId: 4 });
    net.settle();
    for (const id of [1, 2, 3, 4]) {
      for (const e of net.applied.get(id)!) {
        if (e.type === EntryType.ConfChange) net.node(id).applyConfChange(decodeConfChange(e.data));
      }
      net.applied.set(id, []);
    }
    net.propose(1, 'after-add');
    net.tick(2);
    expect(net.node(1).confState().voters).toEqual([1, 2, 3, 4]);
    expect(net.appliedText(4)).toContain('after-add');
    net.node(1).proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1 });
    net.settle();
    for (const e of net.applied.get(1)!) {
      if (e.type === EntryType.ConfChange)
        expect(net.node(1).applyConfChange(decodeConfChange(e.data)).voters).toEqual([2, 3, 4]);
    }
    expect(net.node(1).role).toBe('follower');
    expect(
      decodeConfChange(encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 9 })).nodeId,
    ).toBe(9);
  });

  it('a follower behind the compacted log catches up through a snapshot', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 20; i++) net.propose(1, `cmd-${i}`);
    net.node(1).compact(net.snapshotOf(1, 'state-at-20'));
    net.node(2).compact(net.snapshotOf(2, 'state-at-20'));
    net.heal();
    let snapshot: string | undefined;
    for (let i = 0; i < 5 && snapshot === undefined; i++) {
      net.node(1).tick();
      const n3 = net.node(3);
      // Deliver by hand so the snapshot in node 3's Ready can be seen.
      net.settle();
      if (n3.log.snapshotIndex > 0) snapshot = 'installed';
    }
    expect(snapshot).toBe('installed');
    expect(net.node(3).log.committed).toBe(net.node(1).log.committed);
    net.propose(1, 'after');
    expect(net.appliedText(3)).toContain('after');
  });

  it('fast back-off finds the divergence point in few round trips', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    net.isolate(3);
    for (let i = 0; i < 50; i++) net.propose(1, `x${i}`);
    net.heal();
    const before = net.delivered;
    net.tick(1);
    // Without a hint, a probe per missing entry would take ~50 round trips.
    expect(net.delivered - before).toBeLessThan(30);
    expect(net.node(3).log.lastIndex()).toBe(net.node(1).log.lastIndex());
    expect(MessageType.App).toBe(5);
  });
});

describe('takeHeartbeats', () => {
  it("gives a leader's queued heartbeats, and only them, ahead of the Ready that would carry them", () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    const leader = net.node(1);
    leader.propose(text('x')); // an entry and its appends wait in the Ready too
    leader.tick();
    const beats = leader.takeHeartbeats();
    expect(beats.map((m) => [m.type, m.to, m.term])).toEqual([
      [MessageType.Heartbeat, 2, leader.term],
      [MessageType.Heartbeat, 3, leader.term],
    ]);
    const rd = leader.ready();
    expect(rd.messages.some((m) => m.type === MessageType.Heartbeat)).toBe(false);
    expect(rd.messages.some((m) => m.type === MessageType.App)).toBe(true);
    expect(leader.takeHeartbeats()).toEqual([]);
  });

  it('gives none on a follower, nor on a new leader before the Ready with its term is acknowledged', () => {
    const net = new TestNet([1, 2, 3]);
    const n1 = net.node(1);
    n1.campaign();
    // Node 1's Readies are taken but never acknowledged: its new term is not durable.
    let rd = n1.ready();
    for (let round = 0; round < 4 && n1.role !== Role.Leader; round++) {
      for (const m of rd.messages) net.node(m.to).step(m);
      for (const id of [2, 3]) {
        const other = net.node(id);
        while (other.hasReady()) {
          const ord = other.ready();
          for (const m of ord.messages) if (m.to === 1) n1.step(m);
          other.advance(ord);
        }
      }
      rd = n1.ready();
    }
    expect(n1.role).toBe(Role.Leader);
    n1.tick();
    expect(n1.takeHeartbeats()).toEqual([]);
    net.node(2).tick();
    expect(net.node(2).takeHeartbeats()).toEqual([]);
    // Once a Ready carrying the term is acknowledged they come: those still queued too.
    n1.advance(rd);
    n1.tick();
    expect(n1.takeHeartbeats().map((m) => m.to)).toEqual([2, 3, 2, 3]);
  });
});

describe('fastForwardElection', () => {
  /** Ticks until the node asks for (pre-)votes or leads; how many it took. */
  const ticksToCampaign = (node: RaftNode, max: number): number => {
    for (let t = 1; t <= max; t++) {
      node.tick();
      let asked = false;
      if (node.hasReady()) {
        const rd = node.ready();
        asked = rd.messages.some((m) => m.type === MessageType.PreVote);
        node.advance(rd);
      }
      if (asked || node.role === Role.Leader) return t;
    }
    return Number.POSITIVE_INFINITY;
  };
  const started = (id: number, voters: number[], seed: number) =>
    new RaftNode({ id, voters, electionTick: 10, heartbeatTick: 1, random: prng(seed) });

  it('a started voter campaigns within 1 to electionTick ticks, still at random; untouched it waits at least electionTick', () => {
    const fast = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const plain = started(1, [1, 2, 3], seed);
      expect(ticksToCampaign(plain, 40)).toBeGreaterThanOrEqual(10);
      const node = started(1, [1, 2, 3], seed);
      node.fastForwardElection();
      const t = ticksToCampaign(node, 40);
      expect(t).toBeGreaterThanOrEqual(1);
      expect(t).toBeLessThanOrEqual(10);
      fast.add(t);
    }
    expect(fast.size).toBeGreaterThan(3);
  });

  it('a sole voter leads at the next tick', () => {
    const node = started(1, [1], 5);
    node.fastForwardElection();
    node.tick();
    expect(node.role).toBe(Role.Leader);
  });

  it('changes nothing on a follower that has a leader, nor on a learner', () => {
    const net = new TestNet([1, 2, 3]);
    net.elect(1);
    const follower = net.node(2);
    follower.fastForwardElection();
    expect(ticksToCampaign(follower, 9)).toBe(Number.POSITIVE_INFINITY);
    const learner = new RaftNode({
      id: 4,
      voters: [1, 2, 3],
      learners: [4],
      electionTick: 10,
      heartbeatTick: 1,
      random: prng(1),
    });
    learner.fastForwardElection();
    expect(ticksToCampaign(learner, 40)).toBe(Number.POSITIVE_INFINITY);
  });
});
