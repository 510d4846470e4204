import { NotLeaderError, UnavailableError } from '@strand/wire';
import { RaftLog } from './log.js';
import { checkConfChange } from './membership.js';
import { Progress, ProgressState } from './progress.js';
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type ReadState,
  type Ready,
  Role,
  type Snapshot,
  type SoftState,
} from './types.js';

export interface RaftInitialState {
  hardState: HardState;
  /** The latest snapshot (with its data, which the leader sends to lagging followers). */
  snapshot?: Snapshot;
  /** Persisted entries after the snapshot. */
  entries: Entry[];
  /** The configuration as of the last applied conf change. */
  confState?: ConfState;
}

export interface RaftConfig {
  id: NodeId;
  /** Voters of a brand-new cluster (used when no confState/snapshot is given). */
  voters?: NodeId[];
  /**
   * Learners with them: a node joining a running cluster starts as a learner of the current
   * voters, then follows the log (and snapshots) from the leader.
   */
  learners?: NodeId[];
  electionTick: number;
  heartbeatTick: number;
  /** Seeded PRNG in [0, 1): the core has no other source of randomness. */
  random: () => number;
  initial?: RaftInitialState;
  /** Highest index already applied to the state machine (on restart). */
  applied?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  leader: NodeId;
  role: Role;
  voters: NodeId[];
  learners: NodeId[];
  progress?: Map<NodeId, { match: number; next: number; state: string }>;
}

interface PendingRead {
  index: number;
  context: Uint8Array;
  from: NodeId;
  acks: Set<NodeId>;
}

const EMPTY = new Uint8Array(0);

function ctxKey(ctx: Uint8Array | undefined): string {
  return ctx ? Array.from(ctx, (b) => b.toString(16).padStart(2, '0')).join('') : '';
}

/** Vote context of a leadership transfer: such a campaign may disrupt a live leader's lease. */
const FORCE = new TextEncoder().encode('transfer');
const FORCE_KEY = ctxKey(FORCE);

const VOTE_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.Vote,
  MessageType.VoteResp,
  MessageType.PreVote,
  MessageType.PreVoteResp,
]);

/** A message with every field its type does not set at 0 / empty (see Message). */
export function msg(partial: Partial<Message> & Pick<Message, 'type' | 'to'>): Message {
  return {
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...partial,
  };
}

/**
 * A pure Raft node in the style of etcd's raft: no I/O, no clock, no randomness of its own.
 * Time enters through `tick()`, input through `step()`, and work leaves through `ready()`.
 */
export class RaftNode {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  leader: NodeId = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;
  private voters = new Set<NodeId>();
  private learners = new Set<NodeId>();
  /** Ticks since this node started: when the leader last heard from each follower. */
  private ticks = 0;
  private progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private pendingReads: PendingRead[] = [];
  /** ReadIndex requests waiting for the leader's first commit in its term. */
  private deferredReads: Message[] = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private leadTransferee: NodeId = NONE;
  private pendingConfIndex = 0;
  private snapshot: Snapshot | undefined;
  private pendingSnapshot: Snapshot | undefined;
  private prevHard: HardState;
  private prevSoft: SoftState;
  private readonly cfg: Required<Omit<RaftConfig, 'initial' | 'voters' | 'learners' | 'applied'>>;

  constructor(config: RaftConfig) {
    this.id = config.id;
    this.cfg = {
      id: config.id,
      electionTick: config.electionTick,
      heartbeatTick: config.heartbeatTick,
      random: config.random,
      preVote: config.preVote ?? true,
      checkQuorum: config.checkQuorum ?? true,
      maxSizePerMsg: config.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: config.maxInflightMsgs ?? 256,
    };
    if (config.heartbeatTick < 1 || config.electionTick <= config.heartbeatTick) {
      throw new RangeError('electionTick must be greater than heartbeatTick >= 1');
    }
    const init = config.initial;
    const snap = init?.snapshot;
    this.snapshot = snap;
    const hs = init?.hardState ?? { term: 0, vote: NONE, commit: 0 };
    this.log = new RaftLog(
      snap?.metadata.index ?? 0,
      snap?.metadata.term ?? 0,
      init?.entries ?? [],
      hs.commit,
      config.applied ?? 0,
    );
    this.term = hs.term;
    this.vote = hs.vote;
    const conf = init?.confState ??
      snap?.metadata.confState ?? {
        voters: config.voters ?? [config.id],
        learners: config.learners ?? [],
      };
    this.setConf(conf);
    this.prevHard = { ...hs };
    this.becomeFollower(this.term, NONE);
    this.prevSoft = this.softState();
  }

  // ---- inputs ----

  tick(): void {
    this.ticks++;
    if (this.role === Role.Leader) this.tickLeader();
    else this.tickElection();
  }

  /**
   * Brings a node that knows no leader (typically one just started) to the shortest election
   * timeout, so it campaigns within 1 to electionTick ticks rather than electionTick to
   * 2 × electionTick: a fresh cluster gets a leader sooner, and the timeout stays randomized,
   * so candidates still rarely split the vote. A sole voter has no vote to split and campaigns
   * at the next tick. Liveness only: a node that has a leader, or already waited longer, is
   * left as it is, and a premature PreVote is refused by peers that hear from a leader.
   */
  fastForwardElection(): void {
    if (this.role === Role.Leader || this.leader !== NONE || !this.isVoter()) return;
    const target =
      this.voters.size === 1 ? this.randomizedElectionTimeout - 1 : this.cfg.electionTick - 1;
    this.electionElapsed = Math.max(this.electionElapsed, target);
  }

  /** Handles a message from a peer; stale or malformed ones are dropped, never thrown. */
  step(m: Message): void {
    if (m.term > this.term) {
      const isVoteRequest = m.type === MessageType.Vote || m.type === MessageType.PreVote;
      if (isVoteRequest && this.inLease() && !(m.context && ctxKey(m.context) === FORCE_KEY))
        return;
      if (m.type === MessageType.PreVote) {
        // Never change term for a pre-vote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // Our own pre-vote was granted at the future term: counted below.
      } else {
        const fromLeader =
          m.type === MessageType.App ||
          m.type === MessageType.Heartbeat ||
          m.type === MessageType.Snap;
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term && m.term !== 0) {
      if (m.type === MessageType.App || m.type === MessageType.Heartbeat) {
        // A deposed leader: tell it our term so it steps down (needed with PreVote/CheckQuorum).
        this.send(msg({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(msg({ type: MessageType.PreVoteResp, to: m.from, reject: true }));
      }
      return;
    }
    switch (m.type) {
      case MessageType.Hup:
        this.hup(false);
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
    }
    if (this.role === Role.Leader) this.stepLeader(m);
    else if (this.role === Role.Follower) this.stepFollower(m);
    else this.stepCandidate(m);
  }

  /** Appends a command to the log; only the leader accepts proposals. */
  propose(data: Uint8Array): void {
    this.proposeBatch([data]);
  }

  /** Appends many commands at once: one append message per follower carries them all. */
  proposeBatch(commands: Uint8Array[]): void {
    this.checkProposable();
    if (commands.length === 0) return;
    this.appendEntries(
      commands.map((data) => ({ term: this.term, index: 0, type: EntryType.Normal, data })),
    );
    this.broadcastAppend();
  }

  /**
   * Proposes one membership change. Refused (a typed error, nothing proposed) while another is
   * not yet applied, when it does not fit the membership, or when it would lose quorum.
   */
  proposeConfChange(cc: ConfChange): void {
    this.checkProposable();
    if (this.pendingConfIndex > this.log.applied) {
      throw new UnavailableError('a configuration change is already in progress');
    }
    checkConfChange(
      {
        voters: this.voters,
        learners: this.learners,
        isActive: (id) => this.isActive(id),
        match: (id) => this.progress.get(id)?.match ?? 0,
        lastIndex: this.log.lastIndex(),
      },
      cc,
    );
    this.proposeEntry({ type: EntryType.ConfChange, data: encodeConfChange(cc) });
    this.pendingConfIndex = this.log.lastIndex();
  }

  /** Asks for a linearizable read point; the answer is a ReadState in a later Ready. */
  readIndex(context: Uint8Array): void {
    if (this.role === Role.Leader) {
      this.handleReadIndex(
        msg({ type: MessageType.ReadIndex, to: this.id, from: this.id, context }),
      );
      return;
    }
    if (this.leader === NONE) throw new NotLeaderError();
    this.send(msg({ type: MessageType.ReadIndex, to: this.leader, context }));
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.leader || undefined);
    this.stepLeader(msg({ type: MessageType.TransferLeader, to: this.id, from: to }));
  }

  /** Starts an election now (tests and tools). */
  campaign(): void {
    this.hup(false);
  }

  /** Applies a committed conf change; the driver calls it when it applies the entry. */
  applyConfChange(cc: ConfChange): ConfState {
    const id = cc.nodeId;
    if (cc.type === ConfChangeType.RemoveNode) {
      this.voters.delete(id);
      this.learners.delete(id);
      this.progress.delete(id);
      if (this.leadTransferee === id) this.leadTransferee = NONE;
      // A leader that removed itself steps down; the others elect among themselves.
      if (id === this.id && this.role === Role.Leader) this.becomeFollower(this.term, NONE);
      else if (this.role === Role.Leader) this.maybeCommitAndBroadcast();
      return this.confState();
    }
    if (cc.type === ConfChangeType.AddLearner) {
      if (!this.voters.has(id)) this.learners.add(id); // never a demotion
    } else {
      this.learners.delete(id);
      this.voters.add(id);
    }
    if (this.role === Role.Leader && !this.progress.has(id)) {
      this.progress.set(id, new Progress(id, this.log.lastIndex() + 1));
      this.sendAppend(id);
    }
    return this.confState();
  }

  /** The state machine saved a snapshot at `snapshot.metadata.index`: drop the log before it. */
  compact(snapshot: Snapshot): void {
    if (snapshot.metadata.index <= this.log.snapshotIndex) return;
    this.log.compact(snapshot.metadata.index);
    this.snapshot = snapshot;
  }

  reportUnreachable(id: NodeId): void {
    const pr = this.progress.get(id);
    if (this.role === Role.Leader && pr?.state === ProgressState.Replicate) pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.progress.get(id);
    if (this.role !== Role.Leader || pr?.state !== ProgressState.Snapshot) return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
  }

  // ---- outputs ----

  hasReady(): boolean {
    return (
      this.msgs.length > 0 ||
      this.readStates.length > 0 ||
      this.pendingSnapshot !== undefined ||
      this.log.stabled < this.log.lastIndex() ||
      this.log.committed > this.log.applied ||
      !sameHard(this.hardState(), this.prevHard) ||
      !sameSoft(this.softState(), this.prevSoft)
    );
  }

  ready(): Ready {
    const hs = this.hardState();
    const ss = this.softState();
    const entries = this.log.unstable();
    const rd: Ready = {
      entries,
      committedEntries: this.pendingSnapshot ? [] : this.log.nextCommitted(),
      messages: this.msgs,
      readStates: this.readStates,
      mustSync:
        entries.length > 0 || hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote,
    };
    if (!sameHard(hs, this.prevHard)) rd.hardState = hs;
    if (!sameSoft(ss, this.prevSoft)) rd.softState = ss;
    if (this.pendingSnapshot) rd.snapshot = this.pendingSnapshot;
    this.msgs = [];
    this.readStates = [];
    return rd;
  }

  /**
   * The heartbeats this leader has queued, taken out of the next Ready, for a driver to send
   * at once while the Ready before it is still being written and applied: heartbeats keep the
   * followers from starting an election, so they should not wait behind an fsync and an
   * apply. A heartbeat needs nothing of the Ready: its term has been durable since the Ready
   * that made this node leader was acknowledged (none are taken before then), and the commit
   * index it carries is already held by a quorum. Other messages stay in the Ready.
   */
  takeHeartbeats(): Message[] {
    if (this.role !== Role.Leader || this.prevHard.term !== this.term) return [];
    const beats: Message[] = [];
    const rest: Message[] = [];
    for (const m of this.msgs) (m.type === MessageType.Heartbeat ? beats : rest).push(m);
    if (beats.length > 0) this.msgs = rest;
    return beats;
  }

  /** The driver persisted and applied `rd`. */
  advance(rd: Ready): void {
    if (rd.hardState) this.prevHard = rd.hardState;
    if (rd.softState) this.prevSoft = rd.softState;
    if (rd.snapshot) {
      this.snapshot = rd.snapshot;
      if (this.pendingSnapshot === rd.snapshot) this.pendingSnapshot = undefined;
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry && this.log.term(lastEntry.index) === lastEntry.term) {
      this.log.stabled = Math.max(this.log.stabled, lastEntry.index);
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) this.log.applied = Math.max(this.log.applied, lastApplied.index);
    if (this.role === Role.Leader) this.releaseDeferredReads();
  }

  status(): RaftStatus {
    const s: RaftStatus = {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      leader: this.leader,
      role: this.role,
      voters: [...this.voters].sort((a, b) => a - b),
      learners: [...this.learners].sort((a, b) => a - b),
    };
    if (this.role === Role.Leader) {
      s.progress = new Map(
        [...this.progress].map(([id, p]) => [id, { match: p.match, next: p.next, state: p.state }]),
      );
    }
    return s;
  }

  confState(): ConfState {
    return {
      voters: [...this.voters].sort((a, b) => a - b),
      learners: [...this.learners].sort((a, b) => a - b),
    };
  }

  private setConf(conf: ConfState): void {
    this.voters = new Set(conf.voters);
    this.learners = new Set(conf.learners.filter((l) => !this.voters.has(l)));
  }

  /** Everyone the leader replicates to: voters and learners. */
  private members(): NodeId[] {
    return [...this.voters, ...this.learners];
  }

  private isActive(id: NodeId): boolean {
    if (id === this.id) return true;
    const pr = this.progress.get(id);
    return pr !== undefined && this.ticks - pr.lastActiveTick <= this.cfg.electionTick;
  }

  private heardFrom(pr: Progress): void {
    pr.recentActive = true;
    pr.lastActiveTick = this.ticks;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.leader, role: this.role };
  }

  // ---- roles ----

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NONE;
    }
    this.leader = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout =
      this.cfg.electionTick + Math.floor(this.cfg.random() * this.cfg.electionTick);
    this.votes.clear();
    this.leadTransferee = NONE;
    this.pendingReads = [];
    this.deferredReads = [];
    this.progress = new Map();
    for (const v of this.members()) {
      const pr = new Progress(v, this.log.lastIndex() + 1);
      if (v === this.id) pr.match = this.log.lastIndex();
      this.progress.set(v, pr);
    }
  }

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.leader = leader;
    this.role = Role.Follower;
  }

  private becomePreCandidate(): void {
    // A pre-candidate keeps its term and vote: a failed pre-vote disturbs nobody.
    this.votes.clear();
    this.leader = NONE;
    this.role = Role.PreCandidate;
    this.randomizedElectionTimeout =
      this.cfg.electionTick + Math.floor(this.cfg.random() * this.cfg.electionTick);
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.leader = this.id;
    this.role = Role.Leader;
    for (const pr of this.progress.values()) pr.recentActive = true;
    // Those who granted their votes were heard just now; of the others nothing is known yet.
    for (const [id, granted] of this.votes) {
      const pr = this.progress.get(id);
      if (granted && pr) pr.lastActiveTick = this.ticks;
    }
    // Conservatively assume an unapplied conf change may be in the log.
    this.pendingConfIndex = this.log.lastIndex();
    this.appendEntries([{ term: this.term, index: 0, type: EntryType.Normal, data: EMPTY }]);
    this.broadcastAppend();
  }

  private isVoter(): boolean {
    return this.voters.has(this.id);
  }

  private quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  private hup(force: boolean): void {
    if (this.role === Role.Leader || !this.isVoter()) return;
    if (this.log.applied < this.log.committed && this.hasUnappliedConfChange()) return;
    if (this.cfg.preVote && !force) this.campaignPre();
    else this.campaignReal(force);
  }

  private hasUnappliedConfChange(): boolean {
    return this.log.nextCommitted().some((e) => e.type === EntryType.ConfChange);
  }

  private campaignPre(): void {
    this.becomePreCandidate();
    this.votes.set(this.id, true);
    if (this.tally() === 'won') {
      this.campaignReal(false);
      return;
    }
    for (const v of this.voters) {
      if (v === this.id) continue;
      this.send(
        msg({
          type: MessageType.PreVote,
          to: v,
          term: this.term + 1,
          index: this.log.lastIndex(),
          logTerm: this.log.lastTerm(),
        }),
      );
    }
  }

  private campaignReal(force: boolean): void {
    this.becomeCandidate();
    this.votes.set(this.id, true);
    if (this.tally() === 'won') {
      this.becomeLeader();
      return;
    }
    for (const v of this.voters) {
      if (v === this.id) continue;
      this.send(
        msg({
          type: MessageType.Vote,
          to: v,
          index: this.log.lastIndex(),
          logTerm: this.log.lastTerm(),
          ...(force ? { context: FORCE } : {}),
        }),
      );
    }
  }

  private tally(): 'won' | 'lost' | 'pending' {
    let granted = 0;
    let rejected = 0;
    for (const v of this.voters) {
      const r = this.votes.get(v);
      if (r === true) granted++;
      else if (r === false) rejected++;
    }
    if (granted >= this.quorum()) return 'won';
    if (rejected > this.voters.size - this.quorum()) return 'lost';
    return 'pending';
  }

  /** With CheckQuorum, a node that heard from a leader within the election timeout ignores votes. */
  private inLease(): boolean {
    return (
      this.cfg.checkQuorum && this.leader !== NONE && this.electionElapsed < this.cfg.electionTick
    );
  }

  private handleVoteRequest(m: Message): void {
    const pre = m.type === MessageType.PreVote;
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.leader === NONE) ||
      (pre && m.term > this.term);
    const grant = canVote && this.log.isUpToDate(m.index, m.logTerm) && this.voters.has(m.from);
    const type = pre ? MessageType.PreVoteResp : MessageType.VoteResp;
    if (grant) {
      // A granted pre-vote answers at the candidate's future term; a real vote is recorded.
      this.send(msg({ type, to: m.from, term: m.term }));
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(msg({ type, to: m.from, term: this.term, reject: true }));
    }
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.isVoter() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, NONE);
        return;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = NONE;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(undefined);
    }
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const [id, pr] of this.progress) {
      if (this.voters.has(id) && (id === this.id || pr.recentActive)) active++;
      pr.recentActive = false;
    }
    return active >= this.quorum();
  }

  // ---- leader ----

  private checkProposable(): void {
    if (this.role !== Role.Leader) throw new NotLeaderError(this.leader || undefined);
    if (this.leadTransferee !== NONE) throw new UnavailableError('leadership transfer in progress');
    if (!this.isVoter()) throw new NotLeaderError();
  }

  private proposeEntry(e: { type: Entry['type']; data: Uint8Array }): void {
    this.checkProposable();
    this.appendEntries([{ term: this.term, index: 0, type: e.type, data: e.data }]);
    this.broadcastAppend();
  }

  private appendEntries(ents: Entry[]): void {
    let i = this.log.lastIndex();
    for (const e of ents) {
      e.term = this.term;
      e.index = ++i;
    }
    this.log.append(ents);
    this.progress.get(this.id)?.maybeUpdate(this.log.lastIndex());
    this.maybeCommitAndBroadcast(false);
  }

  /** Advances the commit to what a quorum has, if it is from this term. */
  private maybeCommitAndBroadcast(broadcast = true): void {
    const matches = [...this.voters]
      .map((v) => this.progress.get(v)?.match ?? 0)
      .sort((a, b) => b - a);
    const idx = matches[this.quorum() - 1] ?? 0;
    if (this.log.maybeCommit(idx, this.term)) {
      this.releaseDeferredReads();
      if (broadcast) this.broadcastAppend();
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    switch (m.type) {
      case MessageType.ReadIndex:
        this.handleReadIndex(m);
        return;
      case MessageType.TransferLeader:
        this.handleTransfer(m.from);
        return;
      case MessageType.AppResp: {
        if (!pr) return;
        this.heardFrom(pr);
        if (m.reject) {
          const hint =
            m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm) : m.rejectHint;
          if (pr.maybeDecrease(m.index, hint)) this.sendAppend(m.from);
          return;
        }
        const wasPaused = pr.isPaused(this.cfg.maxInflightMsgs);
        if (pr.maybeUpdate(m.index)) {
          if (pr.state === ProgressState.Probe) pr.becomeReplicate();
          else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
            pr.becomeProbe();
            pr.becomeReplicate();
          }
          this.maybeCommitAndBroadcast();
          if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
            this.send(msg({ type: MessageType.TimeoutNow, to: m.from }));
          }
        }
        if (wasPaused || pr.next <= this.log.lastIndex()) this.sendAppend(m.from);
        return;
      }
      case MessageType.HeartbeatResp: {
        if (!pr) return;
        this.heardFrom(pr);
        pr.probeSent = false;
        // A snapshot that never arrived (lost message): probe again, which resends it.
        if (pr.state === ProgressState.Snapshot && pr.match < pr.pendingSnapshot) pr.becomeProbe();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
        if (m.context && m.context.length > 0) this.ackRead(m.from, m.context);
        return;
      }
      default:
        return;
    }
  }

  private handleTransfer(to: NodeId): void {
    if (to === this.id || !this.voters.has(to)) return;
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.send(msg({ type: MessageType.TimeoutNow, to }));
    else this.sendAppend(to);
  }

  private handleReadIndex(m: Message): void {
    const context = m.context ?? EMPTY;
    if (this.voters.size === 1) {
      this.answerRead(m.from, this.log.committed, context);
      return;
    }
    // Until an entry of this term is committed, the commit index may be stale: wait.
    if (this.log.term(this.log.committed) !== this.term) {
      this.deferredReads.push(m);
      return;
    }
    const read: PendingRead = {
      index: this.log.committed,
      context,
      from: m.from,
      acks: new Set([this.id]),
    };
    this.pendingReads.push(read);
    this.broadcastHeartbeat(context);
  }

  private releaseDeferredReads(): void {
    if (this.deferredReads.length === 0 || this.log.term(this.log.committed) !== this.term) return;
    const waiting = this.deferredReads;
    this.deferredReads = [];
    for (const m of waiting) this.handleReadIndex(m);
  }

  private ackRead(from: NodeId, context: Uint8Array): void {
    const key = ctxKey(context);
    const at = this.pendingReads.findIndex((r) => ctxKey(r.context) === key);
    if (at < 0) return;
    const read = this.pendingReads[at]!;
    read.acks.add(from);
    if ([...read.acks].filter((a) => this.voters.has(a)).length < this.quorum()) return;
    // A quorum confirmed leadership as of this read: it and every earlier one are safe.
    const done = this.pendingReads.splice(0, at + 1);
    for (const r of done) this.answerRead(r.from, r.index, r.context);
  }

  private answerRead(from: NodeId, index: number, context: Uint8Array): void {
    if (from === this.id || from === NONE) this.readStates.push({ index, context });
    else this.send(msg({ type: MessageType.ReadIndexResp, to: from, index, context }));
  }

  private broadcastAppend(): void {
    for (const v of this.members()) if (v !== this.id) this.sendAppend(v);
  }

  private broadcastHeartbeat(context: Uint8Array | undefined): void {
    for (const v of this.members()) {
      if (v === this.id) continue;
      const pr = this.progress.get(v);
      const commit = Math.min(pr?.match ?? 0, this.log.committed);
      this.send(
        msg({ type: MessageType.Heartbeat, to: v, commit, ...(context ? { context } : {}) }),
      );
    }
  }

  private sendAppend(to: NodeId): void {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused(this.cfg.maxInflightMsgs)) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      this.sendSnapshot(to, pr);
      return;
    }
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxSizePerMsg);
    this.send(
      msg({
        type: MessageType.App,
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries,
        commit: this.log.committed,
      }),
    );
    pr.sent(entries.length > 0 ? entries[entries.length - 1]!.index : prevIndex);
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snap = this.snapshot;
    if (!snap || !pr.recentActive) return;
    this.send(msg({ type: MessageType.Snap, to, snapshot: snap }));
    pr.becomeSnapshot(snap.metadata.index);
  }

  // ---- follower and candidates ----

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.App:
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.leader = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.send(
          msg({
            type: MessageType.HeartbeatResp,
            to: m.from,
            ...(m.context ? { context: m.context } : {}),
          }),
        );
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.ReadIndex:
        if (this.leader === NONE) return;
        this.send(
          msg({
            type: MessageType.ReadIndex,
            to: this.leader,
            ...(m.context ? { context: m.context } : {}),
          }),
        );
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context ?? EMPTY });
        return;
      case MessageType.TimeoutNow:
        if (this.isVoter()) this.hup(true);
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case MessageType.App:
      case MessageType.Heartbeat:
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case MessageType.PreVoteResp:
      case MessageType.VoteResp: {
        const expected =
          this.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
        if (m.type !== expected) return;
        this.votes.set(m.from, !m.reject);
        const result = this.tally();
        if (result === 'won') {
          if (this.role === Role.PreCandidate) this.campaignReal(false);
          else {
            this.becomeLeader();
          }
        } else if (result === 'lost') this.becomeFollower(this.term, NONE);
        return;
      }
      default:
        return;
    }
  }

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(msg({ type: MessageType.AppResp, to: m.from, index: this.log.committed }));
      return;
    }
    const last = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (last !== undefined) {
      this.send(msg({ type: MessageType.AppResp, to: m.from, index: last }));
      return;
    }
    // Fast back-off: tell the leader our last index at or below the probe and its term.
    const hint = Math.min(m.index, this.log.lastIndex());
    const hintIndex = this.log.findConflictByTerm(hint, m.logTerm);
    this.send(
      msg({
        type: MessageType.AppResp,
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hintIndex,
        logTerm: this.log.term(hintIndex) ?? 0,
      }),
    );
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    if (!snap) return;
    const { index, term } = snap.metadata;
    if (index <= this.log.committed) {
      this.send(msg({ type: MessageType.AppResp, to: m.from, index: this.log.committed }));
      return;
    }
    if (this.log.matchTerm(index, term)) {
      // We already have the entry: just fast-forward the commit.
      this.log.commitTo(index);
    } else {
      this.log.restore(index, term);
      this.setConf(snap.metadata.confState);
      this.pendingSnapshot = snap;
    }
    this.send(msg({ type: MessageType.AppResp, to: m.from, index: this.log.lastIndex() }));
  }

  private send(m: Message): void {
    m.from = this.id;
    // Vote messages carry the term they were given (a pre-vote is for a future term).
    if (!VOTE_TYPES.has(m.type) || m.term === 0) m.term = this.term;
    this.msgs.push(m);
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const ctx = cc.context ?? EMPTY;
  const out = new Uint8Array(9 + ctx.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, cc.type);
  view.setFloat64(1, cc.nodeId);
  out.set(ctx, 9);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 9) throw new RangeError('conf change too short');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = view.getUint8(0);
  if (!(Object.values(ConfChangeType) as number[]).includes(type))
    throw new RangeError(`bad conf change type ${type}`);
  const nodeId = view.getFloat64(1);
  if (!Number.isSafeInteger(nodeId) || nodeId <= 0) throw new RangeError(`bad node id ${nodeId}`);
  return { type: type as ConfChangeType, nodeId, context: data.subarray(9) };
}
