import { ErrorCode, InvalidRequestError, type StrandError, UnavailableError } from '@strand/wire';
import { tpKey } from '../topics/list-offsets.js';
import { backoffMs, sleep } from '../topics/options.js';
import type { TopicPartition } from '../topics/types.js';
import type { GroupClient } from './coordinator-client.js';
import type { ResolvedGroupOptions } from './group-options.js';
import type { OffsetAndMetadata, RebalanceListener } from './types.js';
import { fetchCommitted, flatten, type RawTopicPartitions } from './wire.js';

/** What the consumer lends its group membership: its assignment and positions. */
export interface GroupHost {
  assignment(): TopicPartition[];
  /** Replaces the assignment; partitions kept keep their state, new ones start at `offset` (undefined: the reset policy). */
  setAssignment(tps: (TopicPartition & { offset?: number })[]): void;
  position(tp: TopicPartition): number | undefined;
  /** Wakes a poll() waiting for records: a rebalance needs it. */
  wake(): void;
}

export interface Subscription {
  topics: string[];
  pattern?: RegExp;
}

const REJOIN = new Set<string>([
  ErrorCode.RebalanceInProgress,
  ErrorCode.UnknownMemberId,
  ErrorCode.StaleGeneration,
]);

/**
 * One consumer's membership in its group. Rebalances run inside poll() (ensureActive), so
 * listeners run where the application reads records; heartbeats run on a timer and only flag
 * that a rebalance is needed. Eager protocols (range, round-robin) give up every partition
 * before joining; cooperative-sticky gives up only what moves.
 */
export class GroupMembership {
  private memberId = '';
  private generation = 0;
  private protocol = '';
  private subscription: Subscription | undefined;
  private listener: RebalanceListener = {};
  private needsJoin = false;
  private lost = false;
  private rebalancing: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private nextAutoCommit = 0;
  private autoCommitting = false;
  private readonly lastCommitted = new Map<string, number>();
  private closed = false;
  /** Aborted by close(): a rebalance under way stops retrying (the coordinators may be away). */
  private readonly stopping = new AbortController();
  /** poll() calls under way, and when the last one returned (for maxPollIntervalMs). */
  private polling = 0;
  private lastPollEnd = Date.now();

  constructor(
    private readonly client: GroupClient,
    readonly opts: ResolvedGroupOptions,
    private readonly host: GroupHost,
    private readonly clientId: string,
  ) {}

  get subscribed(): boolean {
    return this.subscription !== undefined;
  }

  subscribe(sub: Subscription, listener: RebalanceListener = {}): void {
    this.subscription = sub;
    this.listener = listener;
    this.needsJoin = true;
    this.host.wake();
  }

  /** Leaves the group's assignment (Consumer.unsubscribe): revokes everything and leaves. */
  async unsubscribe(): Promise<void> {
    await this.rebalancing;
    await this.revokeAll();
    this.subscription = undefined;
    await this.leave();
  }

  /** poll() brackets its work with these: time inside poll() never counts as stuck. */
  pollStarted(): void {
    this.polling += 1;
  }

  pollEnded(): void {
    this.polling -= 1;
    this.lastPollEnd = Date.now();
  }

  /** Called at the top of every poll(): rejoins when needed, then auto-commits when due. */
  async beforePoll(): Promise<void> {
    if (this.subscription && (this.needsJoin || this.lost)) {
      this.rebalancing ??= this.rebalance().finally(() => {
        this.rebalancing = undefined;
      });
      await this.rebalancing;
    }
    if (this.opts.autoCommit && Date.now() >= this.nextAutoCommit && !this.autoCommitting) {
      this.nextAutoCommit = Date.now() + this.opts.autoCommitIntervalMs;
      this.autoCommitting = true;
      this.commit().then(
        () => {
          this.autoCommitting = false;
        },
        () => {
          this.autoCommitting = false;
        },
      );
    }
  }

  /**
   * Commits `offsets` (default: the position of every assigned partition that moved since
   * its last commit) and waits until the KV store holds them.
   */
  async commit(offsets?: OffsetAndMetadata[]): Promise<void> {
    const list = offsets ?? this.positions(this.host.assignment(), true);
    if (list.length === 0) return;
    for (const o of list)
      if (!(Number.isSafeInteger(o.offset) && o.offset >= 0))
        throw new InvalidRequestError(`invalid offset ${o.offset} for ${o.topic}-${o.partition}`);
    await this.client.call('CommitOffsets', {
      group_id: this.opts.groupId,
      member_id: this.subscription ? this.memberId : '',
      generation: this.subscription ? this.generation : 0,
      offsets: list.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        metadata: o.metadata ?? '',
      })),
    });
    for (const o of list) this.lastCommitted.set(tpKey(o.topic, o.partition), o.offset);
  }

  committed(tps: TopicPartition[]): Promise<Map<string, number>> {
    return fetchCommitted(this.client, this.opts.groupId, tps).then(
      (m) => new Map([...m].map(([k, v]) => [k, v.offset])),
    );
  }

  /** Commits (auto-commit), revokes and leaves; a static member stays in the group until its session ends. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopping.abort();
    await this.rebalancing?.catch(() => undefined);
    if (this.subscription) await this.revokeAll().catch(() => undefined);
    else if (this.opts.autoCommit) await this.commit().catch(() => undefined);
    this.closed = true;
    this.stopHeartbeats();
    if (!this.opts.groupInstanceId) await this.leave().catch(() => undefined);
    this.client.close();
  }

  // ---- rebalancing ----

  private async rebalance(): Promise<void> {
    const { signal } = this.stopping;
    for (let attempt = 0; !signal.aborted && this.subscription; attempt++) {
      this.stopHeartbeats();
      const owned = this.host.assignment();
      if (this.lost) {
        this.lost = false;
        this.host.setAssignment([]);
        if (owned.length > 0) await this.listener.onLost?.(owned);
      } else if (this.protocol !== 'cooperative-sticky' && owned.length > 0) {
        await this.revokeAll();
      }
      this.needsJoin = false;
      try {
        const assignment = await this.joinAndSync();
        await this.adopt(assignment);
        this.startHeartbeats();
        return;
      } catch (err) {
        const e = err as StrandError;
        if (signal.aborted) return;
        if (e.code === ErrorCode.UnknownMemberId) this.memberId = '';
        if (REJOIN.has(e.code)) {
          this.needsJoin = true;
          continue;
        }
        if (!(e instanceof UnavailableError) && e.code !== ErrorCode.Timeout) {
          this.needsJoin = true;
          throw e;
        }
        this.needsJoin = true;
        await Promise.race([
          sleep(backoffMs(100, attempt)),
          new Promise((done) => signal.addEventListener('abort', done, { once: true })),
        ]);
      }
    }
  }

  private async joinAndSync(): Promise<TopicPartition[]> {
    const sub = this.subscription!;
    const join = await this.client.call<{
      generation: number;
      member_id: string;
      protocol: string;
    }>(
      'JoinGroup',
      {
        group_id: this.opts.groupId,
        member_id: this.memberId,
        group_instance_id: this.opts.groupInstanceId ?? '',
        client_id: this.clientId,
        session_timeout_ms: this.opts.sessionTimeoutMs,
        rebalance_timeout_ms: this.opts.rebalanceTimeoutMs,
        subscription: {
          topics: sub.topics,
          pattern: sub.pattern?.source ?? '',
          pattern_flags: sub.pattern?.flags.replace(/[gyd]/g, '') ?? '',
        },
        assignors: this.opts.assignors,
      },
      {
        timeoutMs: this.opts.rebalanceTimeoutMs + 5000,
        attempts: 30,
        signal: this.stopping.signal,
      },
    );
    this.memberId = join.member_id;
    this.generation = join.generation;
    this.protocol = join.protocol;
    const sync = await this.client.call<{ assignment: RawTopicPartitions[] }>(
      'SyncGroup',
      { group_id: this.opts.groupId, member_id: this.memberId, generation: this.generation },
      { signal: this.stopping.signal },
    );
    return flatten(sync.assignment);
  }

  /** Moves the consumer to a new assignment: revoke what went (cooperative), seek what came. */
  private async adopt(assignment: TopicPartition[]): Promise<void> {
    const next = new Set(assignment.map((tp) => tpKey(tp.topic, tp.partition)));
    const owned = this.host.assignment();
    const kept = owned.filter((tp) => next.has(tpKey(tp.topic, tp.partition)));
    const revoked = owned.filter((tp) => !next.has(tpKey(tp.topic, tp.partition)));
    if (revoked.length > 0) {
      if (this.opts.autoCommit)
        await this.commit(this.positions(revoked, false)).catch(() => undefined);
      await this.listener.onRevoked?.(revoked);
    }
    const have = new Set(kept.map((tp) => tpKey(tp.topic, tp.partition)));
    const added = assignment.filter((tp) => !have.has(tpKey(tp.topic, tp.partition)));
    const committed =
      added.length > 0
        ? await fetchCommitted(this.client, this.opts.groupId, added)
        : new Map<string, { offset: number }>();
    this.host.setAssignment([
      ...kept,
      ...added.map((tp) => {
        const c = committed.get(tpKey(tp.topic, tp.partition));
        if (c) this.lastCommitted.set(tpKey(tp.topic, tp.partition), c.offset);
        return c ? { ...tp, offset: c.offset } : tp;
      }),
    ]);
    if (added.length > 0) await this.listener.onAssigned?.(added);
  }

  private async revokeAll(): Promise<void> {
    const owned = this.host.assignment();
    if (owned.length === 0) return;
    if (this.opts.autoCommit)
      await this.commit(this.positions(owned, false)).catch(() => undefined);
    this.host.setAssignment([]);
    await this.listener.onRevoked?.(owned);
  }

  private positions(tps: TopicPartition[], changedOnly: boolean): OffsetAndMetadata[] {
    const out: OffsetAndMetadata[] = [];
    for (const tp of tps) {
      const offset = this.host.position(tp);
      if (offset === undefined) continue;
      if (changedOnly && this.lastCommitted.get(tpKey(tp.topic, tp.partition)) === offset) continue;
      out.push({ topic: tp.topic, partition: tp.partition, offset });
    }
    return out;
  }

  private async leave(): Promise<void> {
    this.stopHeartbeats();
    if (!this.memberId) return;
    const memberId = this.memberId;
    this.memberId = '';
    this.generation = 0;
    await this.client.call(
      'LeaveGroup',
      { group_id: this.opts.groupId, member_id: memberId },
      { attempts: 3 },
    );
  }

  // ---- heartbeats ----

  private startHeartbeats(): void {
    this.stopHeartbeats();
    const beat = () => {
      this.heartbeatTimer = undefined;
      if (this.closed || this.needsJoin || !this.memberId) return;
      if (this.polling === 0 && Date.now() - this.lastPollEnd > this.opts.maxPollIntervalMs) {
        this.giveUpAsStuck();
        return;
      }
      this.client
        .call(
          'Heartbeat',
          { group_id: this.opts.groupId, member_id: this.memberId, generation: this.generation },
          { attempts: 3, timeoutMs: Math.max(1000, this.opts.heartbeatIntervalMs) },
        )
        .then(
          () => this.scheduleBeat(beat),
          (e: StrandError) => {
            if (e.code === ErrorCode.RebalanceInProgress) {
              this.needsJoin = true;
            } else if (
              e.code === ErrorCode.UnknownMemberId ||
              e.code === ErrorCode.StaleGeneration
            ) {
              if (e.code === ErrorCode.UnknownMemberId) this.memberId = '';
              this.lost = true;
            } else {
              this.scheduleBeat(beat);
              return;
            }
            this.host.wake();
          },
        );
    };
    this.scheduleBeat(beat);
  }

  /**
   * The application has not called poll() for maxPollIntervalMs: hand the partitions to the
   * rest of the group rather than hold them while nothing reads them. A dynamic member leaves
   * now; a static one stops heartbeating, so its session runs out. The next poll() reports
   * the partitions lost and joins again.
   */
  private giveUpAsStuck(): void {
    this.lost = true;
    if (this.opts.groupInstanceId) this.stopHeartbeats();
    else void this.leave().catch(() => undefined);
  }

  private scheduleBeat(beat: () => void): void {
    if (this.closed) return;
    this.heartbeatTimer = setTimeout(beat, this.opts.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeats(): void {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
