import {
  FencedInstanceIdError,
  InconsistentGroupProtocolError,
  MemberIdRequiredError,
  RebalanceInProgressError,
  StaleGenerationError,
  type StrandError,
  UnknownMemberIdError,
} from '@strand/wire';

/** One (name, opaque metadata) pair a Kafka member offers in JoinGroup, in preference order. */
export interface Protocol {
  name: string;
  metadata: Buffer;
}

/** What a member says in JoinGroup. */
export interface ClassicMemberMeta {
  memberId: string;
  instanceId: string;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: Protocol[];
}

export interface ClassicJoin extends ClassicMemberMeta {
  protocolType: string;
  /** JoinGroup v4+: a member without an id first gets MEMBER_ID_REQUIRED with its id. */
  requireKnownMemberId: boolean;
}

export interface ClassicMember extends ClassicMemberMeta {
  /** What the leader assigned it in this generation (opaque; empty until the leader's sync). */
  assignment: Buffer;
  lastSeen: number;
  /** Has a JoinGroup waiting for this rebalance to complete. */
  awaitingJoin: boolean;
  /** Has a SyncGroup waiting for the leader's. */
  awaitingSync: boolean;
}

export type ClassicState = 'EMPTY' | 'PREPARING_REBALANCE' | 'COMPLETING_REBALANCE' | 'STABLE';

export interface ClassicJoinAnswer {
  generation: number;
  memberId: string;
  leaderId: string;
  protocolType: string;
  protocol: string;
  /** Every member with its metadata for the chosen protocol: for the leader only. */
  members: { memberId: string; instanceId: string; metadata: Buffer }[];
  /** The leader need not assign again (a static leader came back into a stable group). */
  skipAssignment: boolean;
}

export interface ClassicSyncAnswer {
  protocolType: string;
  protocol: string;
  assignment: Buffer;
}

export interface ClassicSync {
  memberId: string;
  instanceId: string;
  generation: number;
  /** '' when the request does not say (SyncGroup before v5). */
  protocolType: string;
  protocol: string;
  /** From the leader: each member's assignment. */
  assignments: Map<string, Buffer>;
}

/** What a waiting JoinGroup or SyncGroup of a member hears: its answer or why there is none. */
export type Outcome =
  | { memberId: string; call: 'join'; answer: ClassicJoinAnswer }
  | { memberId: string; call: 'sync'; answer: ClassicSyncAnswer }
  | { memberId: string; call: 'join' | 'sync'; error: StrandError };

/** What a step asks of its caller: persist the record first (when `persist`), then deliver. */
export interface Effects {
  persist: boolean;
  outcomes: Outcome[];
}

/** What survives a coordinator leader change. */
export interface ClassicRecord {
  kind: 'classic';
  group: string;
  generation: number;
  protocolType: string;
  protocol: string;
  leader: string;
  /** The leader's assignment of this generation is in (false: the generation awaits it). */
  synced: boolean;
  members: (ClassicMemberMeta & { assignment: Buffer })[];
}

const EMPTY = Buffer.alloc(0);

/**
 * A consumer group of Kafka clients (the classic protocol, client-side assignment) as a pure
 * state machine: the coordinator keeps each member's opaque protocol metadata, picks a
 * protocol every member supports, hands the leader everyone's metadata and every member what
 * the leader assigned it. Time enters as `now`; the caller persists and answers per `Effects`.
 */
export class ClassicGroup {
  state: ClassicState = 'EMPTY';
  protocolType = '';
  protocol = '';
  leader = '';
  readonly members = new Map<string, ClassicMember>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, until when they may join with them. */
  private readonly pending = new Map<string, number>();
  private deadline = 0;
  private delayUntil = 0;
  private syncDeadline = 0;
  private out: Outcome[] = [];
  private dirty = false;

  constructor(
    readonly id: string,
    private readonly opts: { initialDelayMs: number },
    public generation = 0,
  ) {}

  static restore(r: ClassicRecord, opts: { initialDelayMs: number }, now: number): ClassicGroup {
    const g = new ClassicGroup(r.group, opts, r.generation);
    g.protocolType = r.protocolType;
    g.protocol = r.protocol;
    g.leader = r.leader;
    // Every member gets a full session from now to find the new coordinator.
    for (const m of r.members)
      g.members.set(m.memberId, { ...m, lastSeen: now, awaitingJoin: false, awaitingSync: false });
    if (g.members.size === 0) return g;
    g.state = 'STABLE';
    // A generation whose assignment never arrived cannot go on: its members join again.
    if (!r.synced) g.startRebalance(now);
    return g;
  }

  record(): ClassicRecord {
    return {
      kind: 'classic',
      group: this.id,
      generation: this.generation,
      protocolType: this.protocolType,
      protocol: this.protocol,
      leader: this.leader,
      synced: this.state === 'STABLE',
      members: [...this.members.values()].map(
        ({ lastSeen: _l, awaitingJoin: _j, awaitingSync: _s, ...rest }) => rest,
      ),
    };
  }

  /** A JoinGroup. Throws what the member must hear at once (MEMBER_ID_REQUIRED among them). */
  join(req: ClassicJoin, now: number, newId: () => string): { memberId: string } & Effects {
    if (!req.memberId) {
      const prior = req.instanceId ? this.byInstance(req.instanceId) : undefined;
      if (prior) return this.replaceStatic(prior, req, now, newId);
      this.checkProtocols(req);
      if (!req.instanceId && req.requireKnownMemberId) {
        const id = newId();
        this.pending.set(id, now + req.sessionTimeoutMs);
        throw new MemberIdRequiredError(id);
      }
      return this.addMember(newId(), req, now);
    }
    if (this.pending.delete(req.memberId)) {
      this.checkProtocols(req);
      return this.addMember(req.memberId, req, now);
    }
    const m = this.known(req.memberId, req.instanceId);
    this.checkProtocols(req, m.memberId);
    const changed = !sameProtocols(m.protocols, req.protocols);
    Object.assign(m, meta(req, m.memberId), { instanceId: m.instanceId, lastSeen: now });
    const rebalance =
      this.state === 'STABLE'
        ? changed || m.memberId === this.leader
        : this.state === 'COMPLETING_REBALANCE' && changed;
    if (this.state === 'STABLE' || this.state === 'COMPLETING_REBALANCE') {
      if (!rebalance) {
        this.emit({ memberId: m.memberId, call: 'join', answer: this.joinAnswer(m.memberId) });
        return { memberId: m.memberId, ...this.effects() };
      }
      this.startRebalance(now);
    }
    m.awaitingJoin = true;
    return { memberId: m.memberId, ...this.effects() };
  }

  /** A SyncGroup: the leader's carries every member's assignment. */
  sync(req: ClassicSync, now: number): Effects {
    const m = this.known(req.memberId, req.instanceId);
    if (req.generation !== this.generation) throw this.stale(req.generation);
    if (
      (req.protocolType && req.protocolType !== this.protocolType) ||
      (req.protocol && req.protocol !== this.protocol)
    )
      throw new InconsistentGroupProtocolError(
        `group "${this.id}" uses ${this.protocolType}/${this.protocol}, not ${req.protocolType}/${req.protocol}`,
      );
    m.lastSeen = now;
    if (this.state === 'PREPARING_REBALANCE') throw this.rebalancing();
    if (this.state === 'STABLE') {
      this.emit({ memberId: m.memberId, call: 'sync', answer: this.syncAnswer(m) });
      return this.effects();
    }
    m.awaitingSync = true;
    if (m.memberId === this.leader) {
      for (const x of this.members.values())
        x.assignment = req.assignments.get(x.memberId) ?? EMPTY;
      this.state = 'STABLE';
      this.dirty = true;
      for (const x of this.members.values()) {
        if (!x.awaitingSync) continue;
        x.awaitingSync = false;
        this.emit({ memberId: x.memberId, call: 'sync', answer: this.syncAnswer(x) });
      }
    }
    return this.effects();
  }

  heartbeat(memberId: string, instanceId: string, generation: number, now: number): void {
    const m = this.known(memberId, instanceId);
    if (generation !== this.generation) throw this.stale(generation);
    m.lastSeen = now;
    if (this.state === 'PREPARING_REBALANCE') throw this.rebalancing();
  }

  /** LeaveGroup of one or more members; each gets its own answer (undefined: it left). */
  leave(
    who: { memberId: string; instanceId: string }[],
    now: number,
  ): { results: (StrandError | undefined)[] } & Effects {
    const gone: ClassicMember[] = [];
    const results = who.map(({ memberId, instanceId }) => {
      if (!instanceId && this.pending.delete(memberId)) return undefined;
      const m = instanceId ? this.byInstance(instanceId) : this.members.get(memberId);
      if (!m) return this.unknown(memberId || instanceId);
      if (instanceId && memberId && m.memberId !== memberId) return this.fenced(instanceId);
      gone.push(m);
      return undefined;
    });
    this.remove(gone, now, (m) => this.unknown(m.memberId));
    return { results, ...this.effects() };
  }

  /** Throws unless a commit from this member at this generation is acceptable. */
  checkCommit(memberId: string, generation: number, now: number, instanceId = ''): void {
    if (generation < 0 && this.members.size === 0) return; // offsets kept for an outside consumer
    const m = this.known(memberId, instanceId);
    // The member has the new generation's join answer but not yet its assignment.
    if (this.state === 'COMPLETING_REBALANCE') throw this.rebalancing();
    if (generation !== this.generation) throw this.stale(generation);
    m.lastSeen = now;
  }

  /** Time passes: sessions expire, rebalances complete or time out. */
  tick(now: number): Effects {
    for (const [id, until] of this.pending) if (now > until) this.pending.delete(id);
    const expired = [...this.members.values()].filter(
      (m) => !m.awaitingJoin && !m.awaitingSync && now - m.lastSeen > m.sessionTimeoutMs,
    );
    this.remove(expired, now);
    if (this.state === 'PREPARING_REBALANCE') {
      const all = [...this.members.values()].every((m) => m.awaitingJoin);
      if ((all && this.pending.size === 0 && now >= this.delayUntil) || now >= this.deadline)
        this.completeJoin(now);
    } else if (this.state === 'COMPLETING_REBALANCE' && now >= this.syncDeadline) {
      // The leader's assignment never came: whoever did not sync is taken for gone.
      this.remove(
        [...this.members.values()].filter((m) => !m.awaitingSync),
        now,
      );
    }
    return this.effects();
  }

  /** The metadata a member offered for the group's protocol (or its first, before one is chosen). */
  metadataOf(m: ClassicMember): Buffer {
    return (m.protocols.find((p) => p.name === this.protocol) ?? m.protocols[0])?.metadata ?? EMPTY;
  }

  // ---- internals ----

  private addMember(
    memberId: string,
    req: ClassicJoin,
    now: number,
  ): { memberId: string } & Effects {
    const m: ClassicMember = {
      ...meta(req, memberId),
      assignment: EMPTY,
      lastSeen: now,
      awaitingJoin: false,
      awaitingSync: false,
    };
    this.members.set(memberId, m);
    if (this.state === 'EMPTY') {
      this.protocolType = req.protocolType;
      this.state = 'PREPARING_REBALANCE';
      this.deadline = now + req.rebalanceTimeoutMs;
      this.delayUntil = Math.min(now + this.opts.initialDelayMs, this.deadline);
    } else if (this.state === 'PREPARING_REBALANCE') {
      if (this.delayUntil > 0)
        this.delayUntil = Math.min(now + this.opts.initialDelayMs, this.deadline);
    } else {
      this.startRebalance(now);
    }
    m.awaitingJoin = true;
    return { memberId, ...this.effects() };
  }

  /** A static member back under a new id: it takes the old one's place and fences it. */
  private replaceStatic(
    prior: ClassicMember,
    req: ClassicJoin,
    now: number,
    newId: () => string,
  ): { memberId: string } & Effects {
    this.checkProtocols(req, prior.memberId);
    const memberId = newId();
    this.members.delete(prior.memberId);
    this.unpark(prior, () => this.fenced(req.instanceId));
    const m: ClassicMember = {
      ...prior,
      ...meta(req, memberId),
      lastSeen: now,
      awaitingJoin: false,
      awaitingSync: false,
    };
    this.members.set(memberId, m);
    if (this.leader === prior.memberId) this.leader = memberId;
    if (this.state === 'STABLE' && this.vote() === this.protocol) {
      this.dirty = true; // the new id must survive a coordinator change before the member hears it
      const answer = this.joinAnswer(memberId);
      this.emit({
        memberId,
        call: 'join',
        answer: { ...answer, skipAssignment: memberId === this.leader },
      });
      return { memberId, ...this.effects() };
    }
    if (this.state !== 'PREPARING_REBALANCE') this.startRebalance(now);
    m.awaitingJoin = true;
    return { memberId, ...this.effects() };
  }

  private startRebalance(now: number): void {
    for (const m of this.members.values()) {
      this.unpark(m, () => this.rebalancing());
      m.assignment = EMPTY;
    }
    this.state = 'PREPARING_REBALANCE';
    this.delayUntil = 0;
    this.deadline = now + this.maxRebalanceTimeout();
  }

  private completeJoin(now: number): void {
    const late = [...this.members.values()].filter((m) => !m.awaitingJoin);
    // Static members keep their place (they may be restarting); dynamic ones that are late leave.
    this.remove(
      late.filter((m) => !m.instanceId || late.length === this.members.size),
      now,
    );
    if (this.members.size === 0) return;
    this.generation++;
    this.protocol = this.vote();
    if (!this.members.get(this.leader)?.awaitingJoin)
      this.leader = [...this.members.values()].find((m) => m.awaitingJoin)!.memberId;
    this.state = 'COMPLETING_REBALANCE';
    this.syncDeadline = now + this.maxRebalanceTimeout();
    this.dirty = true;
    for (const m of this.members.values()) {
      m.assignment = EMPTY;
      m.lastSeen = now;
      if (!m.awaitingJoin) continue;
      m.awaitingJoin = false;
      this.emit({ memberId: m.memberId, call: 'join', answer: this.joinAnswer(m.memberId) });
    }
  }

  /** Members leave; the rest rebalance, or the group is empty (a new, memberless generation). */
  private remove(
    gone: ClassicMember[],
    now: number,
    why = (m: ClassicMember) => this.unknown(m.memberId),
  ): void {
    if (gone.length === 0) return;
    for (const m of gone) {
      this.members.delete(m.memberId);
      this.unpark(m, () => why(m));
    }
    if (!this.members.has(this.leader)) this.leader = '';
    if (this.members.size > 0) {
      if (this.state !== 'PREPARING_REBALANCE') this.startRebalance(now);
      return;
    }
    if (this.state !== 'EMPTY') this.generation++;
    this.state = 'EMPTY';
    this.protocol = '';
    this.dirty = true;
  }

  /** Kafka's vote: among the protocols every member supports, each member's first choice counts. */
  private vote(): string {
    const members = [...this.members.values()];
    const first = members.find((m) => m.memberId === this.leader) ?? members[0];
    const candidates = (first?.protocols ?? [])
      .map((p) => p.name)
      .filter((n) => members.every((m) => m.protocols.some((p) => p.name === n)));
    const votes = new Map<string, number>();
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name;
      if (choice) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0] ?? first?.protocols[0]?.name ?? '';
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  private checkProtocols(req: ClassicJoin, self?: string): void {
    if (!req.protocolType || req.protocols.length === 0)
      throw new InconsistentGroupProtocolError(
        'a member must name its protocol type and at least one protocol',
      );
    const others = [...this.members.values()].filter((m) => m.memberId !== self);
    if (others.length === 0) return;
    if (req.protocolType !== this.protocolType)
      throw new InconsistentGroupProtocolError(
        `group "${this.id}" has protocol type "${this.protocolType}", not "${req.protocolType}"`,
      );
    const common = others[0]!.protocols
      .map((p) => p.name)
      .filter((n) => others.every((m) => m.protocols.some((p) => p.name === n)));
    if (!req.protocols.some((p) => common.includes(p.name)))
      throw new InconsistentGroupProtocolError(
        `no protocol in common with group "${this.id}" (its members support ${common.join(', ') || 'none in common'}; this member ${req.protocols.map((p) => p.name).join(', ')})`,
      );
  }

  /** The member, after the checks every request of a member passes. */
  private known(memberId: string, instanceId: string): ClassicMember {
    if (instanceId) {
      const holder = this.byInstance(instanceId);
      if (holder && holder.memberId !== memberId) throw this.fenced(instanceId);
    }
    const m = this.members.get(memberId);
    if (!m) throw this.unknown(memberId);
    return m;
  }

  private byInstance(instanceId: string): ClassicMember | undefined {
    for (const m of this.members.values()) if (m.instanceId === instanceId) return m;
    return undefined;
  }

  private joinAnswer(memberId: string): ClassicJoinAnswer {
    return {
      generation: this.generation,
      memberId,
      leaderId: this.leader,
      protocolType: this.protocolType,
      protocol: this.protocol,
      members:
        memberId === this.leader
          ? [...this.members.values()].map((m) => ({
              memberId: m.memberId,
              instanceId: m.instanceId,
              metadata: this.metadataOf(m),
            }))
          : [],
      skipAssignment: false,
    };
  }

  private syncAnswer(m: ClassicMember): ClassicSyncAnswer {
    return { protocolType: this.protocolType, protocol: this.protocol, assignment: m.assignment };
  }

  /** A member's waiting calls hear `why` (it left, was fenced, or a rebalance began). */
  private unpark(m: ClassicMember, why: () => StrandError): void {
    if (m.awaitingJoin) this.emit({ memberId: m.memberId, call: 'join', error: why() });
    if (m.awaitingSync) this.emit({ memberId: m.memberId, call: 'sync', error: why() });
    m.awaitingJoin = false;
    m.awaitingSync = false;
  }

  private maxRebalanceTimeout(): number {
    return Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
  }

  private emit(o: Outcome): void {
    this.out.push(o);
  }

  private effects(): Effects {
    const e = { persist: this.dirty, outcomes: this.out };
    this.out = [];
    this.dirty = false;
    return e;
  }

  private stale(generation: number): StaleGenerationError {
    return new StaleGenerationError(
      `generation ${generation} is not the current one: group "${this.id}" is at generation ${this.generation}`,
    );
  }

  private rebalancing(): RebalanceInProgressError {
    return new RebalanceInProgressError(`group "${this.id}" is rebalancing: join again`);
  }

  private unknown(memberId: string): UnknownMemberIdError {
    return new UnknownMemberIdError(
      `member "${memberId}" is not in group "${this.id}" (its session may have expired): join again`,
    );
  }

  private fenced(instanceId: string): FencedInstanceIdError {
    return new FencedInstanceIdError(
      `group instance "${instanceId}" of group "${this.id}" joined again under another member id: this member is fenced`,
    );
  }
}

function meta(req: ClassicMemberMeta, memberId: string): ClassicMemberMeta {
  return {
    memberId,
    instanceId: req.instanceId,
    clientId: req.clientId,
    clientHost: req.clientHost,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    protocols: req.protocols,
  };
}

function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata))
  );
}
