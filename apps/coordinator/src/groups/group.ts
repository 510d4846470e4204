import {
  InvalidRequestError,
  RebalanceInProgressError,
  StaleGenerationError,
  UnknownMemberIdError,
} from '@strand/wire';
import {
  type AssignorMember,
  type AssignorName,
  assign,
  incremental,
  isCooperative,
  ownersOf,
  sortTps,
  type TopicPartition,
} from './assignors.js';
import { topicsMatching } from './pattern.js';

export interface Subscription {
  topics: string[];
  pattern: string;
  patternFlags: string;
}

/** What a member tells the coordinator when it joins. */
export interface MemberMeta {
  memberId: string;
  instanceId: string;
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  subscription: Subscription;
  assignors: AssignorName[];
}

export interface Member extends MemberMeta {
  assignment: TopicPartition[];
  lastSeen: number;
  /** Rejoined during the rebalance in progress (and waiting for its answer). */
  joined: boolean;
}

export type GroupState = 'EMPTY' | 'PREPARING_REBALANCE' | 'STABLE';

/** What survives a coordinator leader change: the last completed generation. */
export interface GroupRecord {
  group: string;
  generation: number;
  protocol: string;
  leader: string;
  members: (MemberMeta & { assignment: TopicPartition[] })[];
  topicCounts: Record<string, number>;
  heldBack: boolean;
}

export interface JoinAnswer {
  generation: number;
  memberId: string;
  leaderId: string;
  protocol: string;
  members: number;
}

export interface GroupOptions {
  /** An empty group waits this long for more members before its first generation. */
  initialDelayMs: number;
}

/** All topics and their partition counts, as the coordinator sees them now. */
export type Catalog = ReadonlyMap<string, number>;

/**
 * One consumer group as a pure state machine: time comes in as `now`, topics as a catalog,
 * and the caller does the I/O (persisting a completed generation before answering joins).
 * The coordinator computes every assignment itself.
 */
export class Group {
  state: GroupState = 'EMPTY';
  generation = 0;
  protocol = '';
  leader = '';
  readonly members = new Map<string, Member>();
  private deadline = 0;
  private delayUntil = 0;
  private topicCounts = new Map<string, number>();
  private heldBack = false;

  constructor(
    readonly id: string,
    private readonly opts: GroupOptions,
  ) {}

  static restore(record: GroupRecord, opts: GroupOptions, now: number): Group {
    const g = new Group(record.group, opts);
    g.generation = record.generation;
    g.protocol = record.protocol;
    g.leader = record.leader;
    g.topicCounts = new Map(Object.entries(record.topicCounts));
    g.heldBack = record.heldBack;
    // Every member gets a full session from now to find the new coordinator.
    for (const m of record.members)
      g.members.set(m.memberId, { ...m, lastSeen: now, joined: false });
    g.state = g.members.size > 0 ? 'STABLE' : 'EMPTY';
    return g;
  }

  record(): GroupRecord {
    return {
      group: this.id,
      generation: this.generation,
      protocol: this.protocol,
      leader: this.leader,
      members: [...this.members.values()].map(({ lastSeen: _l, joined: _j, ...rest }) => rest),
      topicCounts: Object.fromEntries(this.topicCounts),
      heldBack: this.heldBack,
    };
  }

  /**
   * A member joins (or rejoins). Returns its member id, an answer when there is one at once
   * (a known member with nothing new while the group is stable), and whether the group
   * record changed (a static member's new id).
   */
  join(
    meta: MemberMeta,
    now: number,
    newId: () => string,
  ): { memberId: string; answer?: JoinAnswer; dirty: boolean } {
    this.checkProtocols(meta);
    let existing = meta.memberId ? this.members.get(meta.memberId) : undefined;
    let dirty = false;
    if (!existing && meta.instanceId) {
      const prior = [...this.members.values()].find((m) => m.instanceId === meta.instanceId);
      if (prior) {
        // Static membership: the instance takes its old place under a new id, fencing the old.
        const id = meta.memberId || newId();
        this.members.delete(prior.memberId);
        if (this.leader === prior.memberId) this.leader = id;
        existing = { ...prior, memberId: id };
        this.members.set(id, existing);
        dirty = true;
      }
    }
    if (existing) {
      const changed = !sameMeta(existing, meta);
      Object.assign(existing, { ...meta, memberId: existing.memberId, lastSeen: now });
      if (this.state === 'STABLE' && !changed)
        return { memberId: existing.memberId, answer: this.answer(existing.memberId), dirty };
      if (this.state === 'STABLE') this.startRebalance(now);
      existing.joined = true;
      return { memberId: existing.memberId, dirty };
    }
    const memberId = meta.memberId || newId();
    const member: Member = { ...meta, memberId, assignment: [], lastSeen: now, joined: true };
    if (this.state === 'EMPTY') {
      this.state = 'PREPARING_REBALANCE';
      this.deadline = now + meta.rebalanceTimeoutMs;
      this.delayUntil = Math.min(now + this.opts.initialDelayMs, this.deadline);
    } else if (this.state === 'STABLE') {
      this.startRebalance(now);
    } else if (this.delayUntil > 0) {
      this.delayUntil = Math.min(now + this.opts.initialDelayMs, this.deadline);
    }
    this.members.set(memberId, member);
    this.deadline = Math.max(this.deadline, now + meta.rebalanceTimeoutMs);
    return { memberId, dirty };
  }

  sync(memberId: string, generation: number): TopicPartition[] {
    const m = this.member(memberId);
    if (generation !== this.generation) throw this.stale(generation);
    return m.assignment;
  }

  heartbeat(memberId: string, generation: number, now: number): void {
    const m = this.member(memberId);
    m.lastSeen = now;
    if (this.state === 'PREPARING_REBALANCE')
      throw new RebalanceInProgressError(`group "${this.id}" is rebalancing: join again`);
    if (generation !== this.generation) throw this.stale(generation);
  }

  /** Returns true when the group record changed (the group became empty). */
  leave(memberId: string, now: number): boolean {
    this.member(memberId);
    return this.remove([memberId], now);
  }

  /** Throws unless a commit from this member at this generation is acceptable. */
  checkCommit(memberId: string, generation: number): void {
    if (memberId === '' && generation === 0) {
      if (this.members.size > 0)
        throw new UnknownMemberIdError(
          `group "${this.id}" has active members: commit as a member (or stop them first)`,
        );
      return;
    }
    this.member(memberId);
    if (generation !== this.generation) throw this.stale(generation);
  }

  /**
   * Time passes: expired sessions leave, a rebalance completes when every member rejoined
   * (or its time ran out), and a stable group whose topics changed starts a rebalance.
   * `completed` holds the answers to send once the new generation is persisted; `dirty` asks
   * for the record to be persisted anyway.
   */
  tick(now: number, catalog: Catalog): { completed?: Map<string, JoinAnswer>; dirty: boolean } {
    const expired = [...this.members.values()]
      .filter((m) => !(m.joined && this.state === 'PREPARING_REBALANCE'))
      .filter((m) => now - m.lastSeen > m.sessionTimeoutMs)
      .map((m) => m.memberId);
    let dirty = expired.length > 0 && this.remove(expired, now);
    if (this.state === 'PREPARING_REBALANCE') {
      const all = [...this.members.values()].every((m) => m.joined);
      if ((all && now >= this.delayUntil) || now >= this.deadline) {
        const late = [...this.members.values()].filter((m) => !m.joined).map((m) => m.memberId);
        if (late.length > 0) dirty = this.remove(late, now) || dirty;
        if (this.members.size > 0) return { completed: this.complete(now, catalog), dirty: true };
      }
    } else if (this.state === 'STABLE' && (this.heldBack || this.drifted(catalog))) {
      this.startRebalance(now);
    }
    return { dirty };
  }

  /** The topics a member reads now: named ones that exist, plus those its pattern matches. */
  topicsOf(m: MemberMeta, catalog: Catalog): string[] {
    const out = new Set(m.subscription.topics.filter((t) => catalog.has(t)));
    if (m.subscription.pattern) {
      const { pattern, patternFlags } = m.subscription;
      for (const t of topicsMatching(pattern, patternFlags, catalog)) out.add(t);
    }
    return [...out].sort();
  }

  // ---- internals ----

  private member(memberId: string): Member {
    const m = this.members.get(memberId);
    if (!m)
      throw new UnknownMemberIdError(
        `member "${memberId}" is not in group "${this.id}" (its session may have expired): join again`,
      );
    return m;
  }

  private stale(generation: number): StaleGenerationError {
    return new StaleGenerationError(
      `generation ${generation} is stale: group "${this.id}" is at generation ${this.generation}`,
    );
  }

  private answer(memberId: string): JoinAnswer {
    return {
      generation: this.generation,
      memberId,
      leaderId: this.leader,
      protocol: this.protocol,
      members: this.members.size,
    };
  }

  private startRebalance(now: number): void {
    this.state = 'PREPARING_REBALANCE';
    this.delayUntil = 0;
    for (const m of this.members.values()) m.joined = false;
    this.deadline =
      now + Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
  }

  private remove(ids: string[], now: number): boolean {
    for (const id of ids) this.members.delete(id);
    if (this.leader && !this.members.has(this.leader)) this.leader = '';
    if (this.members.size === 0) {
      const was = this.state;
      this.state = 'EMPTY';
      this.topicCounts.clear();
      this.heldBack = false;
      return was !== 'EMPTY' || ids.length > 0;
    }
    if (this.state === 'STABLE') this.startRebalance(now);
    return false;
  }

  private checkProtocols(meta: MemberMeta): void {
    if (meta.assignors.length === 0)
      throw new InvalidRequestError('a member must name at least one assignor');
    const others = [...this.members.values()].filter(
      (m) => m.memberId !== meta.memberId && (!meta.instanceId || m.instanceId !== meta.instanceId),
    );
    const common = this.common(others);
    if (others.length > 0 && !meta.assignors.some((a) => common.includes(a)))
      throw new InvalidRequestError(
        `no assignor in common with group "${this.id}" (its members accept ${common.join(', ') || 'none in common'}; this member ${meta.assignors.join(', ')})`,
      );
  }

  private common(members: MemberMeta[]): AssignorName[] {
    const first = members[0];
    if (!first) return [];
    return first.assignors.filter((a) => members.every((m) => m.assignors.includes(a)));
  }

  private complete(now: number, catalog: Catalog): Map<string, JoinAnswer> {
    const members = [...this.members.values()];
    if (!this.leader || !this.members.has(this.leader)) this.leader = members[0]!.memberId;
    const leader = this.members.get(this.leader)!;
    const common = this.common([leader, ...members.filter((m) => m !== leader)]);
    const protocol: AssignorName = common[0] ?? leader.assignors[0]!;
    const input: AssignorMember[] = members.map((m) => ({
      memberId: m.memberId,
      sortKey: m.instanceId || m.memberId,
      topics: this.topicsOf(m, catalog),
      owned: m.assignment,
    }));
    const counts = new Map<string, number>();
    for (const m of input) for (const t of m.topics) counts.set(t, catalog.get(t) ?? 0);
    const target = assign(protocol, input, counts);
    let assignment = target;
    this.heldBack = false;
    if (isCooperative(protocol)) {
      const step = incremental(target, ownersOf(input));
      assignment = step.assignment;
      this.heldBack = step.heldBack > 0;
    }
    for (const m of members) {
      m.assignment = sortTps(assignment.get(m.memberId) ?? []);
      m.joined = false;
      m.lastSeen = now;
    }
    this.generation++;
    this.protocol = protocol;
    this.state = 'STABLE';
    this.topicCounts = counts;
    this.delayUntil = 0;
    return new Map(members.map((m) => [m.memberId, this.answer(m.memberId)]));
  }

  private drifted(catalog: Catalog): boolean {
    const now = new Map<string, number>();
    for (const m of this.members.values())
      for (const t of this.topicsOf(m, catalog)) now.set(t, catalog.get(t) ?? 0);
    if (now.size !== this.topicCounts.size) return true;
    for (const [t, n] of now) if (this.topicCounts.get(t) !== n) return true;
    return false;
  }
}

function sameMeta(a: MemberMeta, b: MemberMeta): boolean {
  return (
    a.subscription.pattern === b.subscription.pattern &&
    a.subscription.patternFlags === b.subscription.patternFlags &&
    a.subscription.topics.join(',') === b.subscription.topics.join(',') &&
    a.assignors.join(',') === b.assignors.join(',')
  );
}
