import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { DiskGuard } from '@strand/disk';
import {
  errorFromCode,
  LeaseNotFoundError,
  MemberExistsError,
  NotLeaderError,
  StorageFullError,
  TimeoutError,
  UnavailableError,
} from '@strand/wire';
import { decodeMessage, encodeMessage } from '../raft/codec.js';
import { decodeConfChange, RaftNode } from '../raft/raft.js';
import {
  type ConfChange,
  ConfChangeType,
  EntryType,
  type Message,
  MessageType,
  type Ready,
  Role,
  type Snapshot,
  type SnapshotMetadata,
} from '../raft/types.js';
import { KvDb } from '../storage/db.js';
import { RaftLogStore } from '../storage/raft-store.js';
import { addsData, commandFormat, type KvCommand } from '../store/command.js';
import {
  ENTRY_VERSION,
  type EncodedCommand,
  encodeCommand,
  encodeKvCommand,
  encodeKvEntry,
} from '../store/command-codec.js';
import { type ApplyEntry, type KvResult, KvStateMachine } from '../store/kv-store.js';
import type { SnapshotView } from '../store/snapshot-view.js';
import { formatToActivate } from './entry-format.js';
import { FollowerSnapshots } from './follower-snapshots.js';
import { MemberDirectory, type MemberInfo, memberCommand, memberContext } from './members.js';

/** Bounds on one Raft entry's commands: one encode, one log row, one slot for all of them. */
const ENTRY_COMMANDS = 64;
const ENTRY_BYTES = 512 * 1024;

/**
 * Groups queued commands into Raft entries of at most ENTRY_COMMANDS / ENTRY_BYTES each, in
 * entry format `version`.
 */
function packEntries(batch: EncodedCommand[], version: number): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let group: EncodedCommand[] = [];
  let bytes = 0;
  for (const item of batch) {
    const size = item.encoded.length;
    if (group.length > 0 && (group.length >= ENTRY_COMMANDS || bytes + size > ENTRY_BYTES)) {
      entries.push(encodeKvEntry(group, version));
      group = [];
      bytes = 0;
    }
    group.push(item);
    bytes += size;
  }
  if (group.length > 0) entries.push(encodeKvEntry(group, version));
  return entries;
}

/** The data of a snapshot taken here: the state machine's own rows hold it. */
const HELD_BY_STATE_MACHINE = new Uint8Array(0);

/** How Raft messages leave this node (the coordinator implements it over gRPC). */
export interface Transport {
  send(to: number, data: Uint8Array): void;
  /** Messages for `to` are still queued here (not yet handed to the network). */
  sending?(to: number): boolean;
}

export interface KvNodeOptions {
  id: number;
  /**
   * Client addresses of the members this node starts with, itself included: every voter of a
   * new cluster, or (with `join`) the members of the running cluster it joins.
   */
  peers: Map<number, string>;
  /** How this node dials those members' Raft listeners (others come from the store). */
  raftPeers?: Map<number, string>;
  /**
   * Joining a running cluster (after `member add`): with no Raft state yet, this node starts as
   * a learner of the other `peers` and waits for the leader, instead of bootstrapping.
   */
  join?: boolean;
  dataDir: string;
  transport: Transport;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Take a snapshot and compact the Raft log every this many applied entries. */
  snapshotEvery?: number;
  /** Told of what an operator watches (the coordinator turns it into metrics and logs). */
  events?: KvNodeEvents;
  /** The data disk's guard: while the disk is full, commands that add data are refused. */
  space?: DiskGuard;
  /**
   * The newest entry format this node reads and says it reads (default: ENTRY_VERSION). A
   * lower one holds the whole cluster at it (see entry-format.ts): what an operator does to
   * keep a rollback to an older release possible, and how tests stand in for an old member.
   */
  maxFormat?: number;
}

export interface KvNodeEvents {
  /** A write Raft needed durable (hard state, entries) was synced; how long it took. */
  walSynced?(seconds: number): void;
  /** The leader this node knows, or its own role, changed (leader 0: none known). */
  roleChanged?(change: { leader: number; role: Role; term: number }): void;
  /** Raft state could not be persisted: the process exits (code 70) right after this. */
  storageFailed?(err: Error): void;
  /** The members changed: how to dial each other member's Raft listener now. */
  membersChanged?(raftAddresses: Map<number, string>): void;
  /** This node applied its own removal from the cluster. */
  removed?(): void;
  /** The cluster's entry format, as this node has applied it, is now `format`. */
  formatChanged?(format: number): void;
  /** A snapshot for followers behind the compacted log was built (bytes, seconds it took). */
  snapshotBuilt?(bytes: number, seconds: number): void;
  /** One was sent to follower `to` (a resend of the same one too). */
  snapshotSent?(to: number, bytes: number): void;
}

/** Counts since this node started (exported as metrics by the coordinator). */
export interface KvNodeStats {
  /** Proposals made on this node that were committed and applied. */
  proposalsCommitted: number;
  /** Proposals made on this node that failed (no leader, timed out, shutting down). */
  proposalsFailed: number;
  proposalsPending: number;
  /** Times the leader this node knows changed (to another node or to none). */
  leaderChanges: number;
}

interface PendingProposal {
  resolve: (r: KvResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface ReadWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface NodeStatus {
  id: number;
  leader: number;
  leaderAddress: string | undefined;
  term: number;
  role: Role;
  commit: number;
  applied: number;
  revision: number;
  members: MemberInfo[];
  /** The entry format the cluster has activated, as this node has applied it. */
  format: number;
  /**
   * The newest format each member reads, as this node knows it: its own, and what the others
   * said when they opened a stream to it (the leader hears from all; 0: not heard from).
   */
  formatsRead: Map<number, number>;
}

export type NodeHeader = Pick<NodeStatus, 'id' | 'leader' | 'term' | 'revision' | 'applied'>;

interface ConfWaiter {
  index: number;
  /** Whether the change is in effect once `index` is applied (else another entry won). */
  done: () => boolean;
  resolve: (members: MemberInfo[]) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Drives the pure Raft core: ticks it, persists each Ready to RocksDB (one synced batch when
 * Raft needs it) before sending its messages, applies committed entries to the KV state
 * machine in batches, and resolves proposals and reads. Many client requests share each
 * Ready, so one fsync covers them all.
 */
export class KvNode {
  readonly sm: KvStateMachine;
  private readonly raft: RaftNode;
  private readonly pending = new Map<string, PendingProposal>();
  private readonly proposalQueue: EncodedCommand[] = [];
  private readonly formatsHeard = new Map<number, number>();
  private activating = false;
  private readonly readQueue: ReadWaiter[] = [];
  private readonly readsInFlight = new Map<string, ReadWaiter[]>();
  private readonly readsWaitingApply: { index: number; waiters: ReadWaiter[] }[] = [];
  private readonly leaseExpiry = new Map<number, number>();
  private readonly confWaiters: ConfWaiter[] = [];
  private requestCounter = 0;
  private readonly counts = { committed: 0, failed: 0, leaderChanges: 0 };
  private knownLeader = 0;
  private readCounter = 0;
  private processing = false;
  private again = false;
  private closed = false;
  private lastSnapshotIndex: number;
  private readonly followerSnapshots = new FollowerSnapshots({
    capture: () => this.captureState(),
    send: (m) => {
      if (this.closed) return;
      this.send(m);
      this.opts.events?.snapshotSent?.(m.to, m.snapshot?.data.length ?? 0);
    },
    sending: (to) => this.opts.transport.sending?.(to) ?? false,
    built: (bytes, seconds) => this.opts.events?.snapshotBuilt?.(bytes, seconds),
    now: () => Date.now(),
  });
  private readonly ticker: NodeJS.Timeout;
  private readonly leaseTimer: NodeJS.Timeout;

  private constructor(
    private readonly opts: Required<
      Omit<KvNodeOptions, 'transport' | 'events' | 'space' | 'raftPeers' | 'join' | 'maxFormat'>
    > & {
      transport: Transport;
      events?: KvNodeEvents;
      space?: DiskGuard;
      maxFormat: number;
    },
    private readonly db: KvDb,
    private readonly store: RaftLogStore,
    sm: KvStateMachine,
    raft: RaftNode,
    private readonly directory: MemberDirectory,
  ) {
    this.sm = sm;
    this.raft = raft;
    directory.refresh(raft.confState(), sm);
    this.lastSnapshotIndex = raft.log.snapshotIndex;
    // A node just started waits the shortest election timeout, not up to twice the (long,
    // stall-proof) one: a fresh cluster, or a single-node one, has a leader within a timeout.
    raft.fastForwardElection();
    this.ticker = setInterval(() => {
      this.raft.tick();
      // While a Ready is being written and applied, the next one waits for it: a leader's
      // heartbeats go now (in the groups bench a Ready's sync and apply took up to 200 ms
      // under load, and the heartbeats of the ticks meanwhile waited for them).
      if (this.processing) for (const m of this.raft.takeHeartbeats()) this.send(m);
      this.maybeActivateFormat();
      this.schedule();
    }, opts.tickMs);
    this.leaseTimer = setInterval(() => this.expireLeases(), opts.tickMs * 2);
  }

  static async open(options: KvNodeOptions): Promise<KvNode> {
    const opts = {
      tickMs: 50,
      electionTicks: 10,
      heartbeatTicks: 1,
      snapshotEvery: 10_000,
      maxFormat: ENTRY_VERSION,
      ...options,
    };
    mkdirSync(opts.dataDir, { recursive: true });
    const db = await KvDb.open(opts.dataDir, opts.space);
    const store = new RaftLogStore(db);
    const persisted = await store.load();
    const sm = await KvStateMachine.open(db, opts.maxFormat).catch(async (err: unknown) => {
      await db.close();
      throw err;
    });
    // The state machine may be behind a snapshot installed from the leader (never ahead of
    // what Raft committed). One taken here has no data: its rows were durable before it.
    if (persisted.snapshot && sm.appliedIndex < persisted.snapshot.metadata.index) {
      if (persisted.snapshot.data.length === 0)
        throw new Error(
          `the data folder is damaged: the Raft log was compacted up to ${persisted.snapshot.metadata.index} but the key-value store has applied only up to ${sm.appliedIndex}`,
        );
      await sm.restore(
        persisted.snapshot.data,
        persisted.snapshot.metadata.index,
        persisted.snapshot.metadata.term,
      );
    }
    const others = [...opts.peers.keys()].filter((id) => id !== opts.id);
    const raft = new RaftNode({
      id: opts.id,
      ...(opts.join ? { voters: others, learners: [opts.id] } : { voters: [...opts.peers.keys()] }),
      electionTick: opts.electionTicks,
      heartbeatTick: opts.heartbeatTicks,
      random: Math.random,
      initial: {
        hardState: persisted.hardState,
        entries: persisted.entries,
        ...(persisted.snapshot ? { snapshot: persisted.snapshot } : {}),
        ...(persisted.confState ? { confState: persisted.confState } : {}),
      },
      applied: Math.max(sm.appliedIndex, persisted.snapshot?.metadata.index ?? 0),
    });
    const directory = new MemberDirectory(opts.id, opts.peers, opts.raftPeers ?? new Map());
    const node = new KvNode(opts, db, store, sm, raft, directory);
    node.schedule();
    return node;
  }

  /**
   * A Raft message from a peer (bytes from the transport). Returns why it was dropped, if it
   * was: garbage, not addressed to this node, or not from a voter (or not from `from`, the
   * peer the transport knows it came from).
   */
  receive(data: Uint8Array, from?: number): string | undefined {
    if (this.closed) return 'this node is shutting down';
    let msg: ReturnType<typeof decodeMessage>;
    try {
      msg = decodeMessage(data);
    } catch (err) {
      return `undecodable Raft message: ${(err as Error).message}`;
    }
    if (msg.to !== this.opts.id) return `a message for node ${msg.to} reached node ${this.opts.id}`;
    if (msg.from === this.opts.id || !this.directory.has(msg.from))
      return `node ${msg.from} is not a member of this cluster`;
    if (from !== undefined && msg.from !== from)
      return `a message from node ${msg.from} came on node ${from}'s stream`;
    if (msg.type === MessageType.AppResp && !msg.reject)
      this.followerSnapshots.answered(msg.from, msg.index);
    this.raft.step(msg);
    this.schedule();
    return undefined;
  }

  /** Member `id` opened a Raft stream to this node saying it reads formats up to `max`. */
  heardFormat(id: number, max: number): void {
    this.formatsHeard.set(id, max);
  }

  /** Whether `id` is another member of this cluster (one this node may take messages from). */
  isPeer(id: number): boolean {
    return id !== this.opts.id && this.directory.has(id);
  }

  status(): NodeStatus {
    const s = this.raft.status();
    return {
      id: s.id,
      leader: s.leader,
      leaderAddress: this.directory.get(s.leader)?.address,
      term: s.term,
      role: s.role,
      commit: s.commit,
      applied: this.sm.appliedIndex,
      revision: this.sm.revision,
      members: this.directory.list(),
      format: this.sm.format,
      formatsRead: new Map(
        this.directory
          .list()
          .map((m) => [
            m.id,
            m.id === this.opts.id ? this.opts.maxFormat : (this.formatsHeard.get(m.id) ?? 0),
          ]),
      ),
    };
  }

  /**
   * What every KV answer carries: status() without the members and formats it gathers, which
   * cost more than the rest of a put's answer.
   */
  header(): NodeHeader {
    return {
      id: this.opts.id,
      leader: this.raft.leader,
      term: this.raft.term,
      revision: this.sm.revision,
      applied: this.sm.appliedIndex,
    };
  }

  stats(): KvNodeStats {
    return {
      proposalsCommitted: this.counts.committed,
      proposalsFailed: this.counts.failed,
      proposalsPending: this.pending.size + this.proposalQueue.length,
      leaderChanges: this.counts.leaderChanges,
    };
  }

  /**
   * Replicates a command through Raft; resolves with its result once applied here. While the
   * disk is full a command that adds data is refused (STORAGE_FULL) unless `essential` (the
   * controller's own small writes: registrations, fencing, leadership), since what it adds
   * would take the room left for those and for deletes.
   */
  propose(cmd: KvCommand, timeoutMs = 3000, opts: { essential?: boolean } = {}): Promise<KvResult> {
    this.checkOpen();
    if (this.raft.role !== Role.Leader) {
      this.counts.failed += 1;
      throw this.notLeader();
    }
    if (!opts.essential && this.opts.space?.full && addsData(cmd)) {
      this.counts.failed += 1;
      throw new StorageFullError(
        `coordinator ${this.opts.id}: the disk is full; deletes still work, writes resume once space is freed`,
      );
    }
    if (!this.writes(cmd.t)) {
      this.counts.failed += 1;
      throw new UnavailableError(
        `a ${cmd.t} command needs KV entry format ${commandFormat(cmd.t)}; the cluster writes ${this.sm.format} (a member reads no newer)`,
      );
    }
    // The one validation a command gets: replicas apply what the leader encoded as it is.
    const encoded = encodeCommand(cmd);
    const requestId = `${this.opts.id}-${Date.now().toString(36)}-${++this.requestCounter}`;
    this.proposalQueue.push({ requestId, command: cmd, encoded });
    if (this.proposalQueue.length === 1) setImmediate(() => this.flushProposals());
    return new Promise<KvResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        this.counts.failed += 1;
        reject(new TimeoutError(`not committed within ${timeoutMs} ms (it may still be applied)`));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
    });
  }

  /**
   * Whether the cluster has activated the entry format commands of `kind` need, so `propose`
   * takes them (format only grows: a kind written once stays writable).
   */
  writes(kind: KvCommand['t']): boolean {
    return commandFormat(kind) <= this.sm.format;
  }

  /** Proposals made in one turn of the event loop go to Raft together. */
  private flushProposals(): void {
    const batch = this.proposalQueue.splice(0);
    if (batch.length === 0) return;
    try {
      // The format the cluster has activated as this leader has applied it: one activated
      // but not yet applied here only means a few more entries in the older format.
      this.raft.proposeBatch(packEntries(batch, this.sm.format));
    } catch (err) {
      for (const { requestId } of batch) {
        const p = this.pending.get(requestId);
        if (!p) continue;
        this.pending.delete(requestId);
        clearTimeout(p.timer);
        this.counts.failed += 1;
        p.reject(err instanceof NotLeaderError ? this.notLeader() : (err as Error));
      }
      return;
    }
    this.schedule();
  }

  /**
   * Waits until a read served from this node's state machine is linearizable (ReadIndex:
   * the leader confirms its leadership with a quorum, then this node applies up to the
   * commit index it reported). Concurrent reads share one round. Fails fast with
   * Unavailable when there is no leader or no quorum answers in time.
   */
  linearizable(timeoutMs = 2000): Promise<void> {
    this.checkOpen();
    if (this.raft.leader === 0)
      return Promise.reject(
        new UnavailableError('no leader: cannot serve a linearizable read (use stale reads)'),
      );
    return new Promise<void>((resolve, reject) => {
      const waiter: ReadWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.dropWaiter(waiter);
          reject(new UnavailableError(`no quorum confirmed a read within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.readQueue.push(waiter);
      this.startReadRound();
    });
  }

  /**
   * Adds coordinator `id` as a learner: it gets the log and snapshots but neither votes nor
   * counts for commit until promoted. Resolves with the members once the change is applied.
   */
  addLearner(id: number, address: string, peerAddress: string): Promise<MemberInfo[]> {
    if (this.directory.has(id))
      throw new MemberExistsError(`coordinator ${id} is a member already`);
    if (this.directory.wasRemoved(id))
      throw new MemberExistsError(
        `coordinator ${id} was a member and was removed: give the new one an id of its own (ids are never reused)`,
      );
    const clash = this.directory
      .list()
      .find((m) => m.address === address || m.peerAddress === peerAddress);
    if (clash)
      throw new MemberExistsError(
        `coordinator ${clash.id} is at ${clash.address === address ? address : peerAddress} already`,
      );
    return this.changeMembers(
      { type: ConfChangeType.AddLearner, nodeId: id, context: memberContext(address, peerAddress) },
      () => this.directory.get(id)?.learner === true,
    );
  }

  /** Makes learner `id` a voter; refused unless it has caught up with the leader. */
  promote(id: number): Promise<MemberInfo[]> {
    return this.changeMembers(
      { type: ConfChangeType.AddNode, nodeId: id },
      () => this.directory.get(id)?.learner === false,
    );
  }

  /** Removes member `id` (this node too: a leader then steps down); refused if quorum would go. */
  removeMember(id: number): Promise<MemberInfo[]> {
    return this.changeMembers(
      { type: ConfChangeType.RemoveNode, nodeId: id },
      () => !this.directory.has(id),
    );
  }

  private changeMembers(
    cc: ConfChange,
    done: () => boolean,
    timeoutMs = 10_000,
  ): Promise<MemberInfo[]> {
    this.checkOpen();
    if (this.raft.role !== Role.Leader) throw this.notLeader();
    this.raft.proposeConfChange(cc); // typed refusals: nothing proposed
    const index = this.raft.log.lastIndex();
    this.schedule();
    return new Promise((resolve, reject) => {
      const waiter: ConfWaiter = {
        index,
        done,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.confWaiters.splice(this.confWaiters.indexOf(waiter), 1);
          reject(
            new TimeoutError(
              `the membership change was not applied within ${timeoutMs} ms (it may still be): see the member list`,
            ),
          );
        }, timeoutMs),
      };
      this.confWaiters.push(waiter);
    });
  }

  /** Rebuilds who is where after a change or a snapshot, and answers waiting changes. */
  private membersChanged(): void {
    this.directory.refresh(this.raft.confState(), this.sm);
    this.opts.events?.membersChanged?.(this.directory.raftAddresses());
    for (let i = this.confWaiters.length - 1; i >= 0; i--) {
      const w = this.confWaiters[i]!;
      if (w.index > this.sm.appliedIndex) continue;
      this.confWaiters.splice(i, 1);
      clearTimeout(w.timer);
      if (w.done()) w.resolve(this.directory.list());
      else
        w.reject(
          new UnavailableError(
            'the membership change did not commit (leadership changed): see the member list and try again',
          ),
        );
    }
  }

  /**
   * The state machine as of now, for a backup: on the leader only, after a ReadIndex round,
   * so it holds every write acknowledged before the call. Captured in one synchronous step
   * (no entry is applied half-way through it), serialized a slice at a time.
   */
  async backup(): Promise<{ index: number; term: number; revision: number; data: Uint8Array }> {
    this.checkOpen();
    if (this.raft.role !== Role.Leader) throw this.notLeader();
    await this.linearizable();
    if (this.raft.role !== Role.Leader) throw this.notLeader();
    const { appliedIndex: index, appliedTerm: term, revision } = this.sm;
    const view = this.sm.snapshotView();
    return { index, term, revision, data: await view.serialize() };
  }

  /**
   * Grants a lease (leader only); its keys vanish when no keep-alive arrives within ttl.
   * `owner`: the principal granting it, kept with it (who may use it is the edge's to check).
   */
  async leaseGrant(ttlMs: number, id = 0, owner?: string): Promise<{ id: number; ttlMs: number }> {
    const leaseId = id > 0 ? id : randomInt(1, 2 ** 47);
    const r = await this.propose({
      t: 'leaseGrant',
      id: leaseId,
      ttlMs,
      ...(owner !== undefined ? { owner } : {}),
    });
    // The store's own refusal (an id in use), not a retriable UNAVAILABLE.
    if (r.t === 'error') throw errorFromCode(r.code, r.message);
    this.leaseExpiry.set(leaseId, Date.now() + ttlMs);
    return { id: leaseId, ttlMs };
  }

  leaseKeepAlive(id: number): { id: number; ttlMs: number } {
    this.checkOpen();
    if (this.raft.role !== Role.Leader) throw this.notLeader();
    const lease = this.sm.listLeases().find((l) => l.id === id);
    if (!lease) throw new LeaseNotFoundError(`lease ${id} not found (expired or revoked)`);
    this.leaseExpiry.set(id, Date.now() + lease.ttlMs);
    return { id, ttlMs: lease.ttlMs };
  }

  /** Every live lease with the time it has left (leader only: it keeps the expiry clocks). */
  leases(): { id: number; ttlMs: number; remainingMs: number; keys: number }[] {
    this.checkOpen();
    if (this.raft.role !== Role.Leader) throw this.notLeader();
    const now = Date.now();
    return this.sm.listLeases().map((l) => ({
      ...l,
      remainingMs: Math.max(0, (this.leaseExpiry.get(l.id) ?? now + l.ttlMs) - now),
    }));
  }

  /**
   * Before a planned stop: hands leadership to the most caught-up other voter, so the cluster
   * has a leader again within a round trip instead of an election timeout. Resolves with the
   * new leader's id, or undefined when this node does not lead, has no peer to hand to, or no
   * one took over within two election timeouts (Raft gives a transfer one; then the stop goes
   * on and the others elect as after a crash).
   */
  async handOffLeadership(): Promise<number | undefined> {
    const timeoutMs = 2 * this.opts.tickMs * this.opts.electionTicks;
    if (this.closed || this.raft.role !== Role.Leader) return undefined;
    const { progress, voters } = this.raft.status();
    let target: number | undefined;
    let best = -1;
    for (const [id, p] of progress ?? []) {
      if (id !== this.opts.id && voters.includes(id) && p.match > best)
        [target, best] = [id, p.match];
    }
    if (target === undefined) return undefined;
    this.raft.transferLeadership(target);
    this.schedule();
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const leader = this.raft.leader;
      if (this.raft.role !== Role.Leader && leader !== 0 && leader !== this.opts.id) return leader;
      await new Promise((r) => setTimeout(r, this.opts.tickMs / 2));
    }
    return undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    clearInterval(this.leaseTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      this.counts.failed += 1;
      p.reject(new UnavailableError('node is shutting down'));
    }
    this.pending.clear();
    for (const w of this.confWaiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new UnavailableError('node is shutting down'));
    }
    while (this.processing) await new Promise((r) => setTimeout(r, 5));
    await this.db.close();
  }

  // ---- the Ready loop ----

  private schedule(): void {
    if (this.processing) {
      this.again = true;
      return;
    }
    if (this.closed || !this.raft.hasReady()) return;
    this.processing = true;
    setImmediate(() => {
      this.loop()
        .catch((err: unknown) => {
          if (this.closed) return; // writes in flight at shutdown
          // A storage failure: stop rather than run on with state we could not persist.
          const events = this.opts.events;
          if (events?.storageFailed) events.storageFailed(err as Error);
          else
            console.error(
              `coordinator ${this.opts.id}: fatal storage error: ${(err as Error).message}`,
            );
          process.exit(70);
        })
        .finally(() => {
          this.processing = false;
          if (this.again || this.raft.hasReady()) {
            this.again = false;
            this.schedule();
          }
        });
    });
  }

  private async loop(): Promise<void> {
    while (!this.closed && this.raft.hasReady()) {
      const rd = this.raft.ready();
      await this.handle(rd);
      this.raft.advance(rd);
      this.answerReads();
      await this.maybeSnapshot();
    }
  }

  private async handle(rd: Ready): Promise<void> {
    const sync = rd.mustSync || rd.snapshot !== undefined;
    const t0 = sync ? performance.now() : 0;
    await this.store.save(
      {
        ...(rd.hardState ? { hardState: rd.hardState } : {}),
        entries: rd.entries,
        ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
      },
      sync,
    );
    if (sync) this.opts.events?.walSynced?.((performance.now() - t0) / 1000);
    if (rd.snapshot) {
      await this.sm.restore(
        rd.snapshot.data,
        rd.snapshot.metadata.index,
        rd.snapshot.metadata.term,
      );
      this.lastSnapshotIndex = rd.snapshot.metadata.index;
      this.membersChanged();
    }
    for (const m of rd.messages) {
      // A snapshot of its own holds no data (its rows are the snapshot): one is built to send.
      if (m.type === MessageType.Snap && m.snapshot?.data.length === 0)
        this.followerSnapshots.request({ ...m, snapshot: m.snapshot });
      else this.send(m);
    }
    if (rd.committedEntries.length > 0) await this.apply(rd);
    if (rd.softState) {
      const { leader, role } = rd.softState;
      if (leader !== this.knownLeader) {
        this.knownLeader = leader;
        this.counts.leaderChanges += 1;
      }
      this.opts.events?.roleChanged?.({ leader, role, term: this.raft.status().term });
      this.onRoleChange(role);
    }
    for (const rs of rd.readStates) {
      const key = Buffer.from(rs.context).toString();
      const waiters = this.readsInFlight.get(key);
      if (!waiters) continue;
      this.readsInFlight.delete(key);
      this.readsWaitingApply.push({ index: rs.index, waiters });
    }
  }

  private async apply(rd: Ready): Promise<void> {
    const batch: ApplyEntry[] = [];
    let confChanged = false;
    let removed = false;
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) {
        const cc = decodeConfChange(e.data);
        const conf = this.raft.applyConfChange(cc);
        await this.store.save({ confState: conf }, true);
        // Where an added member is (or that a removed one was) goes into the store with it.
        const data = memberCommand(cc, e.index);
        batch.push({ index: e.index, term: e.term, ...(data ? { data } : {}) });
        confChanged = true;
        removed ||= cc.type === ConfChangeType.RemoveNode && cc.nodeId === this.opts.id;
      } else batch.push({ index: e.index, term: e.term, data: e.data });
    }
    const format = this.sm.format;
    const results = await this.sm.applyEntries(batch);
    if (this.sm.format !== format) this.opts.events?.formatChanged?.(this.sm.format);
    if (confChanged) this.membersChanged();
    if (removed) this.opts.events?.removed?.();
    for (const [requestId, result] of results) {
      const p = this.pending.get(requestId);
      if (!p) continue;
      this.pending.delete(requestId);
      clearTimeout(p.timer);
      this.counts.committed += 1;
      p.resolve(result);
    }
  }

  /**
   * On the leader: once every member reads a newer entry format than the cluster's, proposes
   * its activation, in JSON and in an entry of its own, so that a release that predates
   * formats applies it as the no-op any unreadable entry is to it, and nothing else with it.
   * One at a time; one lost with a leadership change is proposed again by whoever leads.
   */
  private maybeActivateFormat(): void {
    if (this.activating || this.closed || this.raft.role !== Role.Leader) return;
    if (this.sm.format >= this.opts.maxFormat) return;
    const version = formatToActivate({
      active: this.sm.format,
      members: this.directory.list().map((m) => m.id),
      self: this.opts.id,
      selfMax: this.opts.maxFormat,
      heard: this.formatsHeard,
    });
    if (version === undefined) return;
    const requestId = `${this.opts.id}-format-${++this.requestCounter}`;
    try {
      this.raft.proposeBatch([encodeKvCommand({ t: 'format', version }, requestId, 0)]);
    } catch {
      return; // not the leader any more
    }
    this.activating = true;
    const done = () => {
      this.activating = false;
    };
    const timer = setTimeout(() => {
      this.pending.delete(requestId);
      done();
    }, 10_000);
    this.pending.set(requestId, { resolve: done, reject: done, timer });
    this.schedule();
  }

  private send(m: Message): void {
    this.opts.transport.send(m.to, encodeMessage(m));
  }

  /**
   * The state machine as of now, at its applied index, with the membership as of that index
   * (both advance together between Readies): committed, and at or past any compaction point.
   */
  private captureState(): { metadata: SnapshotMetadata; view: SnapshotView } | undefined {
    const index = this.sm.appliedIndex;
    const term = this.raft.log.term(index);
    if (term === undefined) return undefined;
    return {
      metadata: { index, term, confState: this.raft.confState() },
      view: this.sm.snapshotView(),
    };
  }

  private async maybeSnapshot(): Promise<void> {
    const applied = this.sm.appliedIndex;
    if (applied - this.lastSnapshotIndex < this.opts.snapshotEvery) return;
    const term = this.raft.log.term(applied);
    if (term === undefined) return;
    // The state machine's rows are the snapshot: the log up to `applied` can go once they are
    // durable, which this synced write of the same RocksDB ensures (one WAL, in order). So a
    // compaction costs no serialization of the whole store; a follower that needs a snapshot
    // gets one built when it is sent (`FollowerSnapshots`).
    const snapshot: Snapshot = {
      metadata: { index: applied, term, confState: this.raft.confState() },
      data: HELD_BY_STATE_MACHINE,
    };
    await this.store.save({ snapshot }, true);
    await this.store.compact(applied);
    this.raft.compact(snapshot);
    this.lastSnapshotIndex = applied;
  }

  // ---- reads ----

  private startReadRound(): void {
    if (this.readQueue.length === 0 || this.readsInFlight.size > 0) return;
    const waiters = this.readQueue.splice(0);
    const ctx = `${this.opts.id}:${++this.readCounter}`;
    try {
      this.raft.readIndex(Buffer.from(ctx));
    } catch (err) {
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(
          err instanceof NotLeaderError
            ? new UnavailableError('no leader: cannot serve a linearizable read')
            : (err as Error),
        );
      }
      return;
    }
    this.readsInFlight.set(ctx, waiters);
    this.schedule();
  }

  private answerReads(): void {
    const applied = this.sm.appliedIndex;
    for (let i = this.readsWaitingApply.length - 1; i >= 0; i--) {
      const r = this.readsWaitingApply[i]!;
      if (r.index > applied) continue;
      this.readsWaitingApply.splice(i, 1);
      for (const w of r.waiters) {
        clearTimeout(w.timer);
        w.resolve();
      }
    }
    this.startReadRound();
  }

  private dropWaiter(w: ReadWaiter): void {
    const drop = (list: ReadWaiter[]) => {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
    };
    drop(this.readQueue);
    for (const [ctx, list] of this.readsInFlight) {
      drop(list);
      // A round nobody waits for any more must not block the next one forever.
      if (list.length === 0) this.readsInFlight.delete(ctx);
    }
    for (const r of this.readsWaitingApply) drop(r.waiters);
    this.startReadRound();
  }

  // ---- leases ----

  private onRoleChange(role: Role): void {
    if (role === Role.Leader) {
      // A new leader gives every lease a full TTL from now (it cannot know older keep-alives).
      const now = Date.now();
      this.leaseExpiry.clear();
      for (const l of this.sm.listLeases()) this.leaseExpiry.set(l.id, now + l.ttlMs);
    } else {
      this.leaseExpiry.clear();
      // Reads queued behind a lost leadership get a fresh round with whoever leads now.
      for (const [ctx, waiters] of this.readsInFlight) {
        this.readsInFlight.delete(ctx);
        this.readQueue.push(...waiters);
      }
      this.startReadRound();
    }
  }

  private expireLeases(): void {
    if (this.closed || this.raft.role !== Role.Leader) return;
    const now = Date.now();
    for (const [id, at] of this.leaseExpiry) {
      if (at > now) continue;
      this.leaseExpiry.delete(id);
      this.propose({ t: 'leaseRevoke', id }).catch(() => undefined);
    }
  }

  private notLeader(): NotLeaderError {
    const leader = this.raft.leader;
    return new NotLeaderError(
      leader || undefined,
      leader ? this.directory.get(leader)?.address : undefined,
    );
  }

  private checkOpen(): void {
    if (this.closed) throw new UnavailableError('node is shutting down');
  }
}
