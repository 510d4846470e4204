import type { KvNode } from '@strand/kv';
import type { Readiness } from '@strand/ops';

/**
 * A coordinator is ready once it is part of a quorum with a known leader (itself or
 * another): it can then serve writes and linearizable reads, forwarding what the leader must
 * answer. A node cut off from the majority loses its leader within an election timeout
 * (PreVote: it stops believing in the old one) and turns unready.
 */
export function coordinatorReadiness(node: KvNode): Readiness {
  const s = node.status();
  const leader = s.leader > 0;
  return {
    ready: leader,
    checks: {
      quorum: {
        ok: leader,
        detail: leader
          ? `leader ${s.leader}${s.leader === s.id ? ' (this node)' : ''} at term ${s.term}`
          : `no leader known at term ${s.term}`,
      },
    },
    role: s.role,
    leader: s.leader,
    term: s.term,
    commitIndex: s.commit,
    appliedIndex: s.applied,
  };
}
