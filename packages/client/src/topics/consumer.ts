import {
  checkTopicName,
  ErrorCode,
  fromErrorFields,
  InvalidConfigError,
  InvalidRequestError,
  NoCommittedOffsetError,
  OffsetOutOfRangeError,
  type StrandError,
} from '@strand/wire';
import { GroupClient } from '../groups/coordinator-client.js';
import { type GroupConsumerOptions, groupOptions } from '../groups/group-options.js';
import { GroupMembership } from '../groups/membership.js';
import type { OffsetAndMetadata, RebalanceListener } from '../groups/types.js';
import { clientSecurity } from '../security.js';
import { BrokerPool } from './broker-pool.js';
import { recordsFrom } from './fetch-records.js';
import { listOffsets, type OffsetSpec, tpKey } from './list-offsets.js';
import { MetadataCache } from './metadata-cache.js';
import {
  backoffMs,
  type ConsumerOptions,
  consumerOptions,
  RETRIABLE_CODES,
  type ResolvedConsumerOptions,
} from './options.js';
import type { ConsumerRecord, StartFrom, TopicPartition } from './types.js';
import { isError, type RawFetchPartitionResult } from './wire-types.js';

interface Assigned {
  topic: string;
  partition: number;
  /** Next offset poll() returns; undefined: to be reset per autoOffsetReset. */
  position: number | undefined;
  paused: boolean;
  /** Bumped on every seek: answers to fetches sent before it are dropped. */
  epoch: number;
  fetching: boolean;
  buffered: ConsumerRecord[];
  taken: number;
  /** Where the next fetch starts once `buffered` is used up. */
  fetchNext: number;
  /**
   * The next chunk, fetched while the application still works through `buffered`: one fetch
   * ahead keeps a round trip to the broker off the application's path.
   */
  ahead: { records: ConsumerRecord[]; next: number } | undefined;
  retryAt: number;
  failures: number;
  /** Read from the leader, not a replica in this consumer's rack, until then (it failed). */
  leaderOnlyUntil: number;
}

/** How long a partition is read from its leader after its rack's replica could not answer. */
const LEADER_AFTER_FOLLOWER_FAILED_MS = 10_000;

/**
 * Reads assigned partitions from their leaders (or, with `rack`, from an in-sync replica in
 * the same rack): one long-polling Fetch per broker at a time,
 * answers buffered and handed out by poll() in offset order per partition. Without a
 * `groupId`, positions live only in this object. With one, `subscribe()` joins the group (the
 * coordinator hands out partitions; see groups/membership.ts) and positions are committed.
 */
export class Consumer {
  private readonly opts: ResolvedConsumerOptions;
  private readonly pool: BrokerPool;
  private readonly metadata: MetadataCache;
  private assigned = new Map<string, Assigned>();
  private readonly fetching = new Map<string, () => void>();
  private readonly brokerRetryAt = new Map<string, number>();
  private error: StrandError | undefined;
  private changed: (() => void) | undefined;
  private start = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly group: GroupMembership | undefined;

  constructor(opts: ConsumerOptions & GroupConsumerOptions) {
    this.opts = consumerOptions(opts);
    this.pool = new BrokerPool(
      this.opts.clientId,
      clientSecurity(this.opts, () => this.opts.bootstrap),
      this.opts.connectTimeoutMs,
    );
    this.metadata = new MetadataCache(this.pool, this.opts);
    if (opts.groupId !== undefined) {
      const client = new GroupClient({
        pool: this.pool,
        brokers: () => this.metadata.addresses(),
        requestTimeoutMs: this.opts.requestTimeoutMs,
        retryBackoffMs: this.opts.retryBackoffMs,
      });
      this.group = new GroupMembership(
        client,
        groupOptions({ ...opts, groupId: opts.groupId }),
        {
          assignment: () => this.assignment(),
          setAssignment: (tps) => this.setAssigned(tps),
          position: (tp) => this.position(tp),
          wake: () => this.changed?.(),
        },
        this.opts.clientId,
      );
    }
  }

  // ---- consumer groups ----

  /**
   * Joins the group (`groupId`) reading `topics` (names, or every topic a pattern matches,
   * now or later). Partitions arrive from inside poll(); `listener` hears of every change.
   */
  subscribe(topics: string | string[] | RegExp, listener?: RebalanceListener): void {
    const group = this.requireGroup('subscribe()');
    if (this.assigned.size > 0 && !group.subscribed)
      throw new InvalidRequestError('subscribe() and assign() exclude each other: unassign first');
    const sub =
      topics instanceof RegExp
        ? { topics: [], pattern: topics }
        : { topics: (Array.isArray(topics) ? topics : [topics]).map((t) => checkTopicName(t)) };
    if (!sub.pattern && sub.topics.length === 0)
      throw new InvalidRequestError('subscribe() needs at least one topic or a pattern');
    group.subscribe(sub, listener);
  }

  /** Gives up every partition (committing first with auto-commit) and leaves the group. */
  async unsubscribe(): Promise<void> {
    await this.requireGroup('unsubscribe()').unsubscribe();
  }

  /**
   * Commits `offsets` (the next offset to read per partition; default: the current position
   * of every assigned partition) and resolves once they are stored. A member whose
   * generation is stale gets StaleGenerationError: its partitions belong to someone else now.
   */
  commit(offsets?: OffsetAndMetadata[]): Promise<void> {
    return this.requireGroup('commit()').commit(offsets);
  }

  /** commit() without waiting; `callback` hears how it went. */
  commitAsync(offsets?: OffsetAndMetadata[], callback?: (err?: StrandError) => void): void {
    this.commit(offsets).then(
      () => callback?.(),
      (err: StrandError) => callback?.(err),
    );
  }

  /** The group's committed offsets for `tps` (absent: nothing committed). */
  committed(tps: TopicPartition[]): Promise<Map<string, number>> {
    return this.requireGroup('committed()').committed(tps);
  }

  private requireGroup(what: string): GroupMembership {
    if (!this.group) throw new InvalidConfigError(`${what} needs a consumer with a groupId`);
    return this.group;
  }

  // ---- manual assignment ----

  assign(partitions: (TopicPartition & { offset?: number })[]): void {
    if (this.group?.subscribed)
      throw new InvalidRequestError(
        'assign() and subscribe() exclude each other: unsubscribe first',
      );
    this.setAssigned(partitions);
  }

  private setAssigned(partitions: (TopicPartition & { offset?: number })[]): void {
    const next = new Map<string, Assigned>();
    for (const p of partitions) {
      checkTopicName(p.topic);
      if (!Number.isInteger(p.partition) || p.partition < 0)
        throw new InvalidRequestError(`invalid partition ${p.partition}`);
      if (p.offset !== undefined && !(Number.isSafeInteger(p.offset) && p.offset >= 0))
        throw new InvalidRequestError(`invalid offset ${p.offset}`);
      const key = tpKey(p.topic, p.partition);
      const state = this.assigned.get(key) ?? newState(p.topic, p.partition);
      if (p.offset !== undefined) moveTo(state, p.offset);
      next.set(key, state);
    }
    this.assigned = next;
  }

  /** Assigns every partition of `topic` (on top of the current assignment). */
  async assignTopic(topic: string, from?: StartFrom): Promise<TopicPartition[]> {
    checkTopicName(topic);
    const desc = await this.metadata.require(topic);
    const tps = desc.partitions.map((p) => ({ topic, partition: p.partition }));
    const keep = [...this.assigned.values()]
      .filter((s) => s.topic !== topic)
      .map((s) => ({ topic: s.topic, partition: s.partition }));
    this.assign([...keep, ...tps]);
    if (from === 'beginning') await this.seekToBeginning(tps);
    else if (from === 'end') await this.seekToEnd(tps);
    else if (from && 'offset' in from) for (const tp of tps) this.seek(tp, from.offset);
    else if (from && 'timestamp' in from) await this.seekToTimestamp(from.timestamp, tps);
    return tps;
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  seek(tp: TopicPartition, offset: number): void {
    if (!(Number.isSafeInteger(offset) && offset >= 0))
      throw new InvalidRequestError(`invalid offset ${offset}`);
    moveTo(this.state(tp), offset);
  }

  seekToBeginning(tps?: TopicPartition[]): Promise<void> {
    return this.seekBy('earliest', tps);
  }

  seekToEnd(tps?: TopicPartition[]): Promise<void> {
    return this.seekBy('latest', tps);
  }

  /** To the first offset whose timestamp is >= `timestamp`, else to the end. */
  seekToTimestamp(timestamp: number, tps?: TopicPartition[]): Promise<void> {
    return this.seekBy({ timestamp }, tps);
  }

  position(tp: TopicPartition): number | undefined {
    return this.assigned.get(tpKey(tp.topic, tp.partition))?.position;
  }

  pause(tps: TopicPartition[]): void {
    for (const tp of tps) this.state(tp).paused = true;
  }

  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.state(tp).paused = false;
    this.changed?.();
  }

  paused(): TopicPartition[] {
    return [...this.assigned.values()]
      .filter((s) => s.paused)
      .map((s) => ({ topic: s.topic, partition: s.partition }));
  }

  /** Records (in offset order per partition), or [] once `timeoutMs` passed without any. */
  async poll(timeoutMs = this.opts.maxWaitMs): Promise<ConsumerRecord[]> {
    this.group?.pollStarted();
    try {
      return await this.pollUntil(Date.now() + timeoutMs);
    } finally {
      this.group?.pollEnded();
    }
  }

  private async pollUntil(deadline: number): Promise<ConsumerRecord[]> {
    for (;;) {
      if (this.closed) return [];
      await this.group?.beforePoll();
      this.throwPending();
      const out = this.take();
      if (out.length > 0) return out;
      await this.resetPositions();
      const remaining = deadline - Date.now();
      this.fetchAll(Math.max(0, remaining));
      if (remaining <= 0) return [];
      await this.waitForChange(remaining);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    while (!this.closed) {
      for (const r of await this.poll(this.opts.maxWaitMs)) yield r;
    }
  }

  /** Leaves the group (if any) and stops fetching; calling it again waits for the same end. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    await this.group?.close();
    this.closed = true;
    for (const cancel of this.fetching.values()) cancel();
    this.fetching.clear();
    this.changed?.();
    this.pool.close();
  }

  // ---- positions ----

  private state(tp: TopicPartition): Assigned {
    const s = this.assigned.get(tpKey(tp.topic, tp.partition));
    if (!s) throw new InvalidRequestError(`${tp.topic}-${tp.partition} is not assigned`);
    return s;
  }

  private async seekBy(spec: OffsetSpec, tps?: TopicPartition[]): Promise<void> {
    const states = (tps ?? this.assignment()).map((tp) => this.state(tp));
    if (states.length === 0) return;
    const epochs = states.map((s) => s.epoch);
    const offsets = await listOffsets(this.offsetsContext(), states, spec);
    states.forEach((s, i) => {
      const r = offsets.get(tpKey(s.topic, s.partition));
      // A seek made meanwhile wins over this one.
      if (r && s.epoch === epochs[i]) moveTo(s, r.offset);
    });
  }

  /** Partitions without a position get one per autoOffsetReset. */
  private async resetPositions(): Promise<void> {
    const missing = [...this.assigned.values()].filter(
      (s) => s.position === undefined && !s.paused,
    );
    if (missing.length === 0) return;
    if (this.opts.autoOffsetReset === 'error') {
      const s = missing[0]!;
      if (this.group)
        throw new NoCommittedOffsetError(
          `group "${this.group.opts.groupId}" has no committed offset for ${s.topic}-${s.partition} and autoOffsetReset is 'error'`,
        );
      throw new InvalidRequestError(
        `${s.topic}-${s.partition} has no position and autoOffsetReset is 'error': seek first`,
      );
    }
    const spec = this.opts.autoOffsetReset;
    const epochs = missing.map((s) => s.epoch);
    const offsets = await listOffsets(this.offsetsContext(), missing, spec);
    missing.forEach((s, i) => {
      const r = offsets.get(tpKey(s.topic, s.partition));
      if (r && s.epoch === epochs[i] && s.position === undefined) moveTo(s, r.offset);
    });
  }

  private offsetsContext() {
    return {
      pool: this.pool,
      metadata: this.metadata,
      requestTimeoutMs: this.opts.requestTimeoutMs,
      retries: this.opts.retries,
      retryBackoffMs: this.opts.retryBackoffMs,
    };
  }

  // ---- fetching ----

  /** Hands out buffered records, up to maxPollRecords, starting at a rotating partition. */
  private take(): ConsumerRecord[] {
    const out: ConsumerRecord[] = [];
    const states = [...this.assigned.values()];
    const n = states.length;
    for (let k = 0; k < n && out.length < this.opts.maxPollRecords; k++) {
      const s = states[(this.start + k) % n]!;
      if (s.paused || s.buffered.length === 0) continue;
      const count = Math.min(s.buffered.length - s.taken, this.opts.maxPollRecords - out.length);
      for (let i = 0; i < count; i++) out.push(s.buffered[s.taken + i]!);
      s.taken += count;
      if (s.taken >= s.buffered.length) {
        const ahead = s.ahead;
        s.ahead = undefined;
        s.buffered = ahead?.records ?? [];
        s.taken = 0;
        s.fetchNext = ahead?.next ?? s.fetchNext;
        s.position = s.buffered[0]?.offset ?? s.fetchNext;
      } else {
        s.position = s.buffered[s.taken]!.offset;
      }
    }
    this.start = n > 0 ? (this.start + 1) % n : 0;
    return out;
  }

  /** Starts a Fetch to every broker that leads a fetchable partition and has none in flight. */
  private fetchAll(maxWaitMs: number): void {
    const now = Date.now();
    const byAddress = new Map<string, Assigned[]>();
    const refresh = new Set<string>();
    for (const s of this.assigned.values()) {
      if (s.paused || s.fetching || s.position === undefined || s.ahead) continue;
      if (s.retryAt > now) continue;
      const address = this.readAddress(s, now);
      if (!address) {
        refresh.add(s.topic);
        continue;
      }
      if (this.fetching.has(address) || (this.brokerRetryAt.get(address) ?? 0) > now) continue;
      byAddress.set(address, [...(byAddress.get(address) ?? []), s]);
    }
    if (refresh.size > 0) {
      this.metadata.refresh(refresh).then(
        () => this.changed?.(),
        () => {},
      );
    }
    for (const [address, states] of byAddress) this.fetchFrom(address, states, maxWaitMs);
  }

  /** The leader, or with `rack` set an in-sync replica in that rack (unless it failed lately). */
  private readAddress(s: Assigned, now: number): string | undefined {
    const leader = this.metadata.leaderAddress(s.topic, s.partition);
    if (!leader || this.opts.rack === undefined || s.leaderOnlyUntil > now) return leader;
    return this.metadata.replicaInRack(s.topic, s.partition, this.opts.rack) ?? leader;
  }

  private fetchFrom(address: string, states: Assigned[], maxWaitMs: number): void {
    const sent = states.map((s) => ({
      s,
      epoch: s.epoch,
      offset: s.buffered.length > 0 ? s.fetchNext : s.position!,
      fromFollower: address !== this.metadata.leaderAddress(s.topic, s.partition),
    }));
    for (const s of states) s.fetching = true;
    const req = {
      max_wait_ms: Math.min(this.opts.maxWaitMs, maxWaitMs),
      min_bytes: this.opts.minBytes,
      max_bytes: this.opts.maxBytes,
      allow_follower: this.opts.rack !== undefined,
      partitions: sent.map(({ s, offset }) => ({
        topic: s.topic,
        partition: s.partition,
        offset,
        max_bytes: this.opts.maxPartitionBytes,
      })),
    };
    let call: ReturnType<BrokerPool['call']>;
    try {
      call = this.pool.call(
        address,
        'Fetch',
        req,
        this.opts.maxWaitMs + this.opts.requestTimeoutMs,
      );
    } catch {
      for (const s of states) s.fetching = false;
      return;
    }
    this.fetching.set(address, call.cancel);
    (call.result as Promise<{ partitions: RawFetchPartitionResult[] }>)
      .then(
        (res) => {
          this.brokerRetryAt.delete(address);
          for (const { s, epoch, offset, fromFollower } of sent) {
            const r = res.partitions.find(
              (x) => x.topic === s.topic && x.partition === s.partition,
            );
            if (!r || s.epoch !== epoch || this.assigned.get(tpKey(s.topic, s.partition)) !== s)
              continue;
            // Whatever a follower could not answer, the leader answers with authority.
            if (fromFollower && isError(r.error)) this.preferLeader(s);
            else this.absorb(s, offset, r);
          }
        },
        (err: StrandError) => {
          if (this.closed) return;
          // Partitions read from a follower go to their leaders next, without waiting.
          const followers = sent.filter((x) => x.fromFollower);
          for (const { s } of followers) this.preferLeader(s);
          if (followers.length === states.length) return;
          if (!err.retriable) this.error = err;
          const failures = Math.max(...states.map((s) => ++s.failures));
          this.brokerRetryAt.set(
            address,
            Date.now() + backoffMs(this.opts.retryBackoffMs, failures),
          );
          this.metadata.refresh(new Set(states.map((s) => s.topic))).catch(() => {});
        },
      )
      .finally(() => {
        for (const s of states) s.fetching = false;
        this.fetching.delete(address);
        this.changed?.();
      });
  }

  private preferLeader(s: Assigned): void {
    s.leaderOnlyUntil = Date.now() + LEADER_AFTER_FOLLOWER_FAILED_MS;
  }

  private absorb(s: Assigned, offset: number, r: RawFetchPartitionResult): void {
    const prefetch = s.buffered.length > 0;
    if (isError(r.error) && prefetch) {
      // A fetch ahead failed: the records in hand come first; the fetch is retried after.
      s.retryAt = Date.now() + backoffMs(this.opts.retryBackoffMs, s.failures++);
      return;
    }
    if (isError(r.error)) {
      const e = fromErrorFields(r.error);
      s.failures++;
      if (e.code === ErrorCode.OffsetOutOfRange) {
        if (this.opts.autoOffsetReset === 'error') {
          this.error = new OffsetOutOfRangeError(offset, r.log_start_offset, r.high_watermark);
        } else {
          s.position = undefined; // resetPositions() picks it up
        }
      } else if (RETRIABLE_CODES.has(e.code) || e.retriable) {
        s.retryAt = Date.now() + backoffMs(this.opts.retryBackoffMs, s.failures - 1);
        this.metadata.refresh([s.topic]).catch(() => {});
      } else {
        this.error = e;
      }
      return;
    }
    s.failures = 0;
    try {
      const { records, next } = recordsFrom(s.topic, s.partition, r.records, offset);
      if (prefetch) {
        s.ahead = { records, next };
        return;
      }
      s.buffered = records;
      s.taken = 0;
      s.fetchNext = next;
      if (records.length === 0) s.position = next;
    } catch (err) {
      this.error = err as StrandError;
    }
  }

  private throwPending(): void {
    const e = this.error;
    if (e) {
      this.error = undefined;
      throw e;
    }
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.changed === done) this.changed = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.changed = done;
    });
  }
}

function newState(topic: string, partition: number): Assigned {
  return {
    topic,
    partition,
    position: undefined,
    paused: false,
    epoch: 0,
    fetching: false,
    buffered: [],
    taken: 0,
    fetchNext: 0,
    ahead: undefined,
    retryAt: 0,
    failures: 0,
    leaderOnlyUntil: 0,
  };
}

function moveTo(s: Assigned, offset: number): void {
  s.position = offset;
  s.epoch++;
  s.buffered = [];
  s.ahead = undefined;
  s.taken = 0;
}
