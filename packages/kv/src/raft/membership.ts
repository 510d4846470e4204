import { MemberExistsError, MembershipRefusedError, UnknownMemberError } from '@strand/wire';
import { type ConfChange, ConfChangeType, type NodeId } from './types.js';

/** What the leader knows when it checks a proposed configuration change. */
export interface ConfView {
  voters: ReadonlySet<NodeId>;
  learners: ReadonlySet<NodeId>;
  /** Heard from within the last election timeout (the leader itself always is). */
  isActive(id: NodeId): boolean;
  /** The highest index known to be replicated on `id`. */
  match(id: NodeId): number;
  lastIndex: number;
}

/** A learner is ready for promotion once it holds 90% of the leader's log (as etcd asks). */
const CAUGHT_UP = 0.9;

/**
 * Refuses a change that is malformed for this membership or that would cost the cluster its
 * quorum (etcd's strict reconfiguration check): after it, the voters the leader has heard
 * from lately must still be a majority of the voters. Throws a typed error naming why.
 */
export function checkConfChange(v: ConfView, cc: ConfChange): void {
  const id = cc.nodeId;
  const role = v.voters.has(id) ? 'a voter' : v.learners.has(id) ? 'a learner' : undefined;
  switch (cc.type) {
    case ConfChangeType.AddLearner:
      if (role) throw new MemberExistsError(`coordinator ${id} is ${role} already`);
      return;
    case ConfChangeType.AddNode: {
      if (v.voters.has(id)) throw new MemberExistsError(`coordinator ${id} is a voter already`);
      if (v.learners.has(id)) {
        const match = v.match(id);
        if (!v.isActive(id) || match < Math.floor(v.lastIndex * CAUGHT_UP))
          throw new MembershipRefusedError(
            `learner ${id} is not caught up with the leader (it has ${match} of ${v.lastIndex} entries${v.isActive(id) ? '' : ' and has not answered lately'}): promote it once it has`,
          );
      }
      requireActiveQuorum(v, new Set([...v.voters, id]), `promoting ${id}`);
      return;
    }
    case ConfChangeType.RemoveNode: {
      if (!role) throw new UnknownMemberError(`coordinator ${id} is not a member`);
      if (role === 'a learner') return; // a learner never counts for quorum
      const rest = new Set([...v.voters].filter((x) => x !== id));
      if (rest.size === 0) throw new MembershipRefusedError('cannot remove the last voter');
      requireActiveQuorum(v, rest, `removing ${id}`);
      return;
    }
  }
}

function requireActiveQuorum(v: ConfView, voters: ReadonlySet<NodeId>, what: string): void {
  const active = [...voters].filter((id) => v.isActive(id)).length;
  const need = Math.floor(voters.size / 2) + 1;
  if (active < need)
    throw new MembershipRefusedError(
      `${what} would leave ${voters.size} voter(s) of which ${active} answered lately, fewer than the ${need} a quorum needs: bring the others back first`,
    );
}
