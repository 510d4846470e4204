import type { RaftNode } from '../raft/raft.js';
import { type Entry, Role } from '../raft/types.js';

/** A broken Raft safety property, named after the Raft paper's. */
export class InvariantViolation extends Error {}

function fingerprint(e: Entry): string {
  let h = 0;
  for (const b of e.data) h = (Math.imul(h, 31) + b) | 0;
  return `${e.term}:${e.type}:${e.data.length}:${h}`;
}

/** Watches every node continuously and throws at the first violated property. */
export class SafetyChecker {
  /** term -> leader: Election Safety. */
  private readonly leaders = new Map<number, number>();
  /** index -> fingerprint of the committed entry: no committed entry ever changes. */
  private readonly committed = new Map<number, string>();
  /** index -> fingerprint of the applied entry: State Machine Safety. */
  private readonly applied = new Map<number, string>();
  /** node -> (term, last index, its fingerprint) as leader: Leader Append-Only. */
  private readonly leaderLogs = new Map<number, { term: number; last: number; print: string }>();
  /** node -> highest committed index already recorded. */
  private readonly recorded = new Map<number, number>();
  /** leader -> (term, commit, voters) last seen: where its commit index moved from. */
  private readonly leaderCommits = new Map<
    number,
    { term: number; commit: number; voters: number[] }
  >();

  observe(nodes: RaftNode[]): void {
    for (const n of nodes) {
      // The coordinator asks `leader === id` for "this node leads" on every call (cheaper
      // than its status): true exactly when the role is leader.
      if ((n.leader === n.id) !== (n.role === Role.Leader))
        throw new InvariantViolation(
          `leader field: node ${n.id} is ${n.role} and names ${n.leader} as leader`,
        );
      if (n.role === Role.Leader) this.checkLeader(n);
      else this.leaderLogs.delete(n.id);
      this.recordCommitted(n);
    }
  }

  /**
   * Only voters count toward commit: whenever a leader's commit index moves, a majority of
   * its voters hold the entry (a learner's copy never makes up the numbers). A step in which
   * the voters changed is not judged: the commit may have moved under either set, and a
   * removed voter's progress is gone.
   */
  checkCommitQuorum(nodes: RaftNode[]): void {
    for (const n of nodes) {
      if (n.role !== Role.Leader) continue;
      const s = n.status();
      const prior = this.leaderCommits.get(n.id);
      this.leaderCommits.set(n.id, { term: s.term, commit: s.commit, voters: s.voters });
      if (!prior || prior.term !== s.term || s.commit <= prior.commit) continue;
      if (prior.voters.join() !== s.voters.join()) continue;
      const holding = s.voters.filter((v) => (s.progress?.get(v)?.match ?? 0) >= s.commit);
      if (holding.length < Math.floor(s.voters.length / 2) + 1)
        throw new InvariantViolation(
          `commit quorum: leader ${n.id} committed ${s.commit} held by voters [${holding}] of [${s.voters}] (learners [${s.learners}])`,
        );
    }
  }

  /** Called as the driver applies an entry. */
  applyEntry(node: number, e: Entry): void {
    const f = fingerprint(e);
    const prev = this.applied.get(e.index);
    if (prev !== undefined && prev !== f) {
      throw new InvariantViolation(
        `state machine safety: node ${node} applied ${f} at ${e.index}, another node applied ${prev}`,
      );
    }
    this.applied.set(e.index, f);
  }

  /** Log Matching: equal (index, term) means identical entries and identical prefixes. */
  checkLogMatching(nodes: RaftNode[]): void {
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) {
        const a = nodes[i]!.log;
        const b = nodes[j]!.log;
        const lo = Math.max(a.firstIndex(), b.firstIndex());
        const hi = Math.min(a.lastIndex(), b.lastIndex());
        let matched = false;
        for (let k = hi; k >= lo; k--) {
          const ea = a.slice(k, k + 1)[0]!;
          const eb = b.slice(k, k + 1)[0]!;
          if (ea.term === eb.term) matched = true;
          if (matched && fingerprint(ea) !== fingerprint(eb)) {
            throw new InvariantViolation(
              `log matching: nodes ${nodes[i]!.id} and ${nodes[j]!.id} differ at ${k} below a matching entry`,
            );
          }
        }
      }
    }
  }

  private checkLeader(n: RaftNode): void {
    const known = this.leaders.get(n.term);
    if (known !== undefined && known !== n.id) {
      throw new InvariantViolation(
        `election safety: nodes ${known} and ${n.id} both lead term ${n.term}`,
      );
    }
    if (known === undefined) {
      this.leaders.set(n.term, n.id);
      // Leader Completeness: a new leader holds every entry committed before its term.
      for (const [index, f] of this.committed) {
        if (index <= n.log.snapshotIndex) continue;
        const e = n.log.slice(index, index + 1)[0];
        if (!e || fingerprint(e) !== f) {
          throw new InvariantViolation(
            `leader completeness: leader ${n.id} of term ${n.term} lacks committed entry ${index}`,
          );
        }
      }
    }
    // Overwriting or dropping any entry would also remove the last one seen: check that one.
    const prior = this.leaderLogs.get(n.id);
    if (prior && prior.term === n.term && prior.last > n.log.snapshotIndex) {
      const e = n.log.slice(prior.last, prior.last + 1)[0];
      if (!e || fingerprint(e) !== prior.print) {
        throw new InvariantViolation(
          `leader append-only: leader ${n.id} changed entry ${prior.last} in term ${n.term}`,
        );
      }
    }
    const last = n.log.lastIndex();
    const lastEntry = n.log.slice(last, last + 1)[0];
    if (lastEntry) this.leaderLogs.set(n.id, { term: n.term, last, print: fingerprint(lastEntry) });
  }

  private recordCommitted(n: RaftNode): void {
    const done = this.recorded.get(n.id) ?? 0;
    if (n.log.committed <= done) {
      if (n.log.committed < done) this.recorded.set(n.id, n.log.committed); // restarted
      return;
    }
    this.recorded.set(n.id, n.log.committed);
    const from = Math.max(n.log.firstIndex(), done + 1);
    for (const e of n.log.slice(from, n.log.committed + 1)) {
      const f = fingerprint(e);
      const prev = this.committed.get(e.index);
      if (prev !== undefined && prev !== f) {
        throw new InvariantViolation(
          `committed entry ${e.index} changed on node ${n.id}: ${prev} -> ${f}`,
        );
      }
      this.committed.set(e.index, f);
    }
  }
}
