import type { RaftNode } from '../raft/raft.js';
import { type ConfChange, ConfChangeType, type ConfState, Role } from '../raft/types.js';
import type { Rng } from './prng.js';

export interface MemberNode {
  id: number;
  raft?: RaftNode;
}

interface Hooks {
  /** Node ids that are not members at first. */
  spares: number[];
  /** Starts a spare once its addition was accepted, as a learner of `conf`. */
  boot(id: number, conf: ConfState): void;
  proposed(refused: boolean): void;
}

/**
 * The operator of a simulated cluster: now and then asks the leader to add a spare node as a
 * learner (and starts it), to promote a learner, or to remove a member, as `strand kv member`
 * does. The leader may refuse (another change pending, a learner behind, a quorum at risk).
 * Ids are never reused, as etcd's are not: a stale incarnation's answers would count.
 */
export class MembershipOperator {
  private next: number;
  private readonly unused: number[];
  private readonly startedIds = new Set<number>();

  constructor(
    private readonly rng: Rng,
    private readonly everyMs: number,
    private readonly hooks: Hooks,
  ) {
    this.next = rng.int(50, everyMs * 2);
    this.unused = [...hooks.spares];
  }

  /** Whether node `id` may run: every original member, and spares once added. */
  started(id: number): boolean {
    return !this.hooks.spares.includes(id) || this.startedIds.has(id);
  }

  step(now: number, nodes: MemberNode[]): void {
    if (now < this.next) return;
    this.next = now + this.rng.int(1, this.everyMs * 2);
    const leader = nodes
      .flatMap((n) => (n.raft?.role === Role.Leader ? [n.raft] : []))
      .sort((a, b) => b.term - a.term)[0];
    if (!leader) return;
    const conf = leader.confState();
    const roll = this.rng.next();
    let cc: ConfChange;
    if (roll < 0.35 && this.unused.length > 0)
      cc = { type: ConfChangeType.AddLearner, nodeId: this.unused[0]! };
    else if (roll < 0.7 && conf.learners.length > 0)
      cc = { type: ConfChangeType.AddNode, nodeId: this.rng.pick(conf.learners) };
    else
      cc = {
        type: ConfChangeType.RemoveNode,
        nodeId: this.rng.pick([...conf.voters, ...conf.learners]),
      };
    try {
      leader.proposeConfChange(cc);
    } catch {
      this.hooks.proposed(true);
      return;
    }
    this.hooks.proposed(false);
    if (cc.type === ConfChangeType.AddLearner) {
      this.unused.shift();
      this.startedIds.add(cc.nodeId);
      this.hooks.boot(cc.nodeId, { voters: conf.voters, learners: [...conf.learners, cc.nodeId] });
    }
  }
}
