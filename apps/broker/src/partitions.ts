import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { DiskGuard } from '@strand/disk';
import {
  type CleanerProgress,
  type Durability,
  forEachLimit,
  LogCleaner,
  type LogConfigInput,
  type LogManager,
  Mutex,
  type PartitionLog,
  partitionDirName,
} from '@strand/log';
import type { Logger } from '@strand/ops';
import {
  AuthenticationFailedError,
  brokerTokenHash,
  isCompacted,
  NO_LEADER,
  NotLeaderError,
  type PartitionRecord,
  StaleBrokerEpochError,
  TimeoutError,
  type TopicConfig,
  type TopicRecord,
  topicConfig,
  UnknownPartitionError,
  UnknownTopicError,
} from '@strand/wire';
import { ArrivalOrder } from './arrival-order.js';
import type { ControllerClient } from './controller-client.js';
import type { MetadataCache } from './metadata.js';
import { type Essential, LeaderEpochCache } from './replica/epoch-cache.js';
import { type FollowerContext, follow } from './replica/follower.js';
import { loadHighWatermark, saveHighWatermark } from './replica/hw-checkpoint.js';
import { LeaderState } from './replica/leader-state.js';
import type { PeerClients } from './replica/peer-clients.js';
import {
  readProducerCheckpoint,
  saveProducerCheckpoint,
  saveProducerSnapshot,
  takeProducerSnapshot,
} from './replica/producer-snapshot.js';
import { type ProducerStateTable, recoverProducers } from './replica/producer-state.js';
import { ReplicaFetcher } from './replica/replica-fetcher.js';
import { partitionName, type ReplicationTrace } from './replica/replication-trace.js';

/** A partition replica this broker hosts, as leader or follower. */
export interface Hosted {
  topic: string;
  partition: number;
  topicId: string;
  log: PartitionLog;
  config: TopicConfig;
  role: 'leader' | 'follower';
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: number[];
  isr: number[];
  /** Consumers read below it. Invariant: highWatermark <= log end. */
  highWatermark: number;
  /** The partition's directory, and the watermark last saved there. */
  dir: string;
  savedHighWatermark: number;
  epochs: LeaderEpochCache;
  producers: ProducerStateTable;
  /** The offset the producers' state was last checkpointed at (below the end while batches were in flight). */
  producersCheckpointedAt: number;
  /** Leader only. */
  followers: LeaderState | undefined;
  isrChangeInFlight: boolean;
  closed: boolean;
  /**
   * Role changes and a follower's appends and truncations take turns: a replica that becomes
   * leader must never see a late copy from its old leader land after its own appends.
   */
  readonly lock: Mutex;
  /** Fetches (long-poll) and acks=all producers waiting for the log or the watermark to move. */
  readonly waiters: Set<() => void>;
}

export interface PartitionsOptions {
  brokerId: number;
  brokerEpoch: () => number;
  /** This broker's token: its ISR changes and follower fetches carry it. */
  brokerToken: Buffer;
  durability: Durability;
  maxAppendBytes: number;
  retentionCheckMs: number;
  replicaLagMs: number;
  controller: ControllerClient;
  peers: PeerClients;
  log: Logger;
  /** Told of every ISR change this leader made (the ISR shrink/expand counters). */
  isrChanged?: (before: readonly number[], after: readonly number[]) => void;
  /** The data disk's guard: the small files kept beside each log are written through it. */
  space?: DiskGuard;
  /** Where acks=all produces wait, batch by batch (diagnostics; off unless given). */
  trace?: ReplicationTrace;
  /** The log cleaner of compacted topics (off: nothing is cleaned here). */
  cleaner?: { dedupeBufferBytes: number; ioMaxBytesPerSecond: number; backoffMs: number };
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const TOPIC_ID_FILE = 'topic.id';
/** How often changed high watermarks are saved (Kafka: replica.high.watermark.checkpoint.interval.ms). */
const HW_CHECKPOINT_MS = 1000;
/** How often producers' state is checkpointed: what a rebuild after a crash reads at most. */
const PRODUCER_CHECKPOINT_MS = 10_000;
/**
 * Partitions opened, closed or saved at once: enough to keep the disk busy, few enough that
 * a broker with thousands of them still answers everything else meanwhile.
 */
const PARALLEL = 16;

/**
 * The partition replicas this broker hosts, kept in step with the metadata: every partition
 * whose replicas include this broker is opened; where the record names this broker leader it
 * serves produce and fetch, otherwise it follows the leader. A deleted topic's logs go.
 * Every partition directory remembers its topic id, so a topic deleted and re-created under
 * the same name while this broker was down never serves the old topic's records.
 */
export class Partitions {
  private readonly hosted = new Map<string, Hosted>();
  /** Leader lookups before appends, kept in arrival order per partition (see leaderWhenOpen). */
  private readonly lookups = new ArrivalOrder<string>();
  private syncing: Promise<void> = Promise.resolve();
  private pendingSync = false;
  private readonly timers: NodeJS.Timeout[];
  private readonly follower: FollowerContext;
  /** The round of high watermark saves under way, if any. */
  private saving: Promise<void> | undefined;
  /** The round of producer checkpoints under way, if any. */
  private checkpointing: Promise<void> | undefined;
  private readonly cleaner: LogCleaner | undefined;

  constructor(
    private readonly logs: LogManager,
    private readonly meta: MetadataCache,
    private readonly opts: PartitionsOptions,
  ) {
    this.timers = [
      setInterval(() => void this.applyRetention(), opts.retentionCheckMs),
      setInterval(() => this.checkIsr(), Math.max(50, Math.floor(opts.replicaLagMs / 4))),
      setInterval(() => {
        if (!this.saving) void this.saveHighWatermarks();
      }, HW_CHECKPOINT_MS),
      setInterval(() => void this.checkpointProducers(), PRODUCER_CHECKPOINT_MS),
    ];
    if (opts.cleaner) {
      this.cleaner = new LogCleaner({
        ...opts.cleaner,
        background: logs.background,
        // Each replica cleans its own log, below its high watermark.
        logs: () =>
          [...this.hosted.values()]
            .filter((h) => !h.closed && isCompacted(h.config))
            .map((h) => ({
              name: `${h.topic}-${h.partition}`,
              log: h.log,
              bound: h.highWatermark,
            })),
        onPass: (c, r, ms) => {
          if (r.segments > 0 || r.stopped)
            opts.log.info(
              {
                partition: c.name,
                dirtyRatio: Number(r.dirtyRatio.toFixed(3)),
                cleanedBytes: r.cleanedBytes,
                bytesBefore: r.bytesBefore,
                bytesAfter: r.bytesAfter,
                segments: r.segments,
                stopped: r.stopped,
                ms: Math.round(ms),
              },
              'cleaned a compacted log',
            );
        },
        onError: (c, err) =>
          opts.log.error(
            { partition: c.name, err },
            'log cleaning failed; this partition is not cleaned again until restart',
          ),
      });
      this.cleaner.start();
    }
    this.follower = {
      brokerId: opts.brokerId,
      brokerEpoch: opts.brokerEpoch,
      brokerToken: opts.brokerToken,
      peers: opts.peers,
      fetcher: new ReplicaFetcher(opts.peers),
      addressOf: (id) => this.meta.brokers.get(id)?.address,
      wake: (h) => this.notifyAppend(h),
      log: opts.log,
      trace: opts.trace,
    };
  }

  /** Brings hosted partitions in line with the metadata; calls coalesce. */
  sync(): Promise<void> {
    if (this.pendingSync) return this.syncing;
    this.pendingSync = true;
    this.syncing = this.syncing.then(async () => {
      this.pendingSync = false;
      await this.reconcile().catch((err: unknown) =>
        this.opts.log.error({ err }, 'partition sync failed'),
      );
    });
    return this.syncing;
  }

  /** The hosted partition if this broker leads it; otherwise the typed error a client needs. */
  leader(topic: string, partition: number): Hosted {
    const h = this.hosted.get(key(topic, partition));
    if (h?.role === 'leader' && !h.closed) return h;
    const t = this.meta.topics.get(topic);
    if (!t) throw new UnknownTopicError(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= t.partitions)
      throw new UnknownPartitionError(topic, partition, t.partitions);
    const rec = this.meta.partition(topic, partition);
    const leader = rec && rec.leader > 0 ? rec.leader : undefined;
    if (leader === this.opts.brokerId)
      throw new NotLeaderError(
        undefined,
        undefined,
        `partition ${topic}-${partition} is still opening here; retry`,
      );
    throw new NotLeaderError(leader, leader ? this.meta.brokers.get(leader)?.address : undefined);
  }

  /**
   * For consumers that accept a follower's copy: this broker's open replica of the partition,
   * leader or follower.
   */
  replica(topic: string, partition: number): Hosted | undefined {
    const h = this.hosted.get(key(topic, partition));
    return h && !h.closed ? h : undefined;
  }

  /**
   * Like leader(), but when the metadata names this broker leader of a partition it has not
   * taken up yet (the metadata just changed), waits for that to finish first.
   */
  leaderWhenOpen(topic: string, partition: number): Promise<Hosted> {
    const k = key(topic, partition);
    // In arrival order: a request that finds the partition open must not be appended before
    // one that came earlier and is still waiting for the sync that opened it.
    return this.lookups.run(
      k,
      () => {
        const h = this.hosted.get(k);
        return h?.role === 'leader' && !h.closed ? h : undefined;
      },
      async () => {
        if (this.meta.partition(topic, partition)?.leader === this.opts.brokerId) await this.sync();
        return this.leader(topic, partition);
      },
    );
  }

  get hostedCount(): number {
    return this.hosted.size;
  }

  /** Every replica hosted here (the metrics read it at scrape time). */
  hostedReplicas(): IterableIterator<Hosted> {
    return this.hosted.values();
  }

  /** A small write beside a log that must go through even on a full disk. */
  private readonly essential: Essential = (fn) =>
    this.opts.space ? this.opts.space.essential(fn) : fn();

  /** A broker the controller fenced or that is shutting down: it joins no ISR. */
  private readonly ineligible = (id: number): boolean => {
    const b = this.meta.brokers.get(id);
    return b?.fenced === true || b?.shuttingDown === true;
  };

  get trace(): ReplicationTrace | undefined {
    return this.opts.trace;
  }

  highWatermark(h: Hosted): number {
    return h.highWatermark;
  }

  notifyAppend(h: Hosted): void {
    const waiters = [...h.waiters];
    h.waiters.clear();
    for (const w of waiters) w();
  }

  /** After the leader appended: with no follower in the ISR the watermark moves at once. */
  leaderAppended(h: Hosted): void {
    this.advance(h);
    this.notifyAppend(h);
  }

  /** A follower fetched from `offset` at the leader's epoch: it holds everything below. */
  /**
   * A follower's fetch must come from the broker it names: registered, with its token (this
   * cluster's brokers only), at its current epoch.
   */
  checkFollower(id: number, epoch: number, token: Buffer): void {
    const b = this.meta.brokers.get(id);
    if (!b) throw new AuthenticationFailedError(`broker ${id} is not registered in this cluster`);
    if (b.tokenHash && b.tokenHash !== brokerTokenHash(token))
      throw new AuthenticationFailedError(`not broker ${id}: its token does not match`);
    if (b.epoch !== epoch)
      throw new StaleBrokerEpochError(`broker ${id} is at epoch ${b.epoch}, not ${epoch}`);
  }

  replicaFetched(h: Hosted, replica: number, offset: number): void {
    if (!h.followers || !h.replicas.includes(replica)) return;
    h.followers.followerFetched(replica, offset, h.log.writtenOffset, Date.now());
    this.opts.trace?.fetched(partitionName(h), replica, offset);
    this.advance(h);
    if (!h.isrChangeInFlight && !this.ineligible(replica) && h.followers.mayJoin(replica, h.isr))
      this.changeIsr(h, [...h.isr, replica]);
  }

  /** Resolves once the high watermark passes `offset`; NotLeader if leadership is lost. */
  waitForHighWatermark(h: Hosted, offset: number, timeoutMs: number): Promise<void> {
    const epoch = h.leaderEpoch;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (h.closed || h.role !== 'leader' || h.leaderEpoch !== epoch) {
          clearTimeout(timer);
          reject(
            new NotLeaderError(
              undefined,
              undefined,
              `lost leadership of ${h.topic}-${h.partition} while waiting for replicas`,
            ),
          );
        } else if (h.highWatermark >= offset) {
          clearTimeout(timer);
          resolve();
        } else h.waiters.add(check);
      };
      const timer = setTimeout(() => {
        h.waiters.delete(check);
        reject(
          new TimeoutError(
            `records not replicated to the ISR within ${timeoutMs} ms (they may still be)`,
          ),
        );
      }, timeoutMs);
      check();
    });
  }

  /** Deletes on-disk partitions of topics the metadata no longer has (deleted while down). */
  async removeOrphans(): Promise<void> {
    for (const id of await this.logs.listOnDisk()) {
      const t = this.meta.topics.get(id.topic);
      if (t && id.partition < t.partitions) continue;
      // A topic whose record does not decode still exists: its data is not an orphan's.
      if (this.meta.malformedTopics.has(id.topic)) continue;
      if (this.hosted.has(key(id.topic, id.partition))) continue;
      this.opts.log.info({ ...id }, 'removing a partition whose topic no longer exists');
      await this.logs.delete(id);
    }
  }

  /** The cleaner's progress on a hosted replica (undefined when it is not compacted here). */
  cleanerProgress(h: Hosted): CleanerProgress | undefined {
    if (!this.cleaner || !isCompacted(h.config)) return undefined;
    return this.cleaner.progressOf({ name: '', log: h.log, bound: h.highWatermark });
  }

  /** Bytes of dirty log this broker's cleaner cleaned since it started. */
  get cleanedBytes(): number {
    return this.cleaner?.cleanedBytes ?? 0;
  }

  async close(): Promise<void> {
    this.cleaner?.stop();
    for (const t of this.timers) clearInterval(t);
    await Promise.all([this.syncing, this.checkpointing]);
    await this.saveHighWatermarks();
    for (const h of this.hosted.values()) {
      h.closed = true;
      this.notifyAppend(h);
    }
    this.follower.fetcher.close();
    await forEachLimit(this.hosted.values(), PARALLEL, (h) =>
      h.lock
        .run(() => this.essential(() => saveProducerSnapshot(h.dir, h.log, h.producers)))
        .then(
          () => undefined,
          (err: unknown) =>
            this.opts.log.error(
              { topic: h.topic, partition: h.partition, err },
              'saving the producer state failed',
            ),
        ),
    );
    await this.logs.close();
  }

  // ---- following the metadata ----

  private async reconcile(): Promise<void> {
    const me = this.opts.brokerId;
    const gone: Hosted[] = [];
    for (const [k, h] of this.hosted) {
      const t = this.meta.topics.get(h.topic);
      const rec = this.meta.partition(h.topic, h.partition);
      if (t && t.id === h.topicId && rec?.replicas.includes(me)) continue;
      if (this.meta.malformedTopics.has(h.topic)) continue; // unreadable is not deleted
      h.closed = true;
      this.hosted.delete(k);
      this.notifyAppend(h);
      gone.push(h);
    }
    // No watermark or checkpoint file lands in a directory being removed.
    if (gone.length > 0) await Promise.all([this.saving, this.checkpointing]);
    await forEachLimit(gone, PARALLEL, async (h) => {
      await this.logs.delete({ topic: h.topic, partition: h.partition });
      this.opts.log.info({ topic: h.topic, partition: h.partition }, 'deleted a partition');
    });
    const wanted: { rec: PartitionRecord; topic: TopicRecord }[] = [];
    for (const [name, parts] of this.meta.partitions) {
      const topic = this.meta.topics.get(name);
      if (!topic) continue;
      for (const rec of parts.values()) if (rec.replicas.includes(me)) wanted.push({ rec, topic });
    }
    await forEachLimit(wanted, PARALLEL, async ({ rec, topic }) => {
      const h =
        this.hosted.get(key(rec.topic, rec.partition)) ??
        (await this.host(rec, topic.id, topic.configs));
      const config = topicConfig(topic.configs);
      if (JSON.stringify(config) !== JSON.stringify(h.config)) {
        h.log.reconfigure(this.logConfig(config));
        h.config = config;
      }
      await h.lock.run(() => this.applyRecord(h, rec));
    });
  }

  /** Takes up the role the record gives this broker; a new epoch restarts it. */
  private async applyRecord(h: Hosted, rec: PartitionRecord): Promise<void> {
    const me = this.opts.brokerId;
    const sameTerm = h.leader === rec.leader && h.leaderEpoch === rec.leaderEpoch;
    h.replicas = rec.replicas;
    // The controller changed the ISR of a partition this broker goes on leading (it fenced a
    // follower): counted like the leader's own changes.
    if (sameTerm && h.role === 'leader' && rec.partitionEpoch > h.partitionEpoch) {
      this.opts.isrChanged?.(h.isr, rec.isr);
      this.logIsrChange(h, h.isr, rec.isr, 'controller');
    }
    // An ISR this leader changed itself may be newer than the record the watch brings.
    if (rec.partitionEpoch >= h.partitionEpoch) {
      h.partitionEpoch = rec.partitionEpoch;
      h.isr = rec.isr;
      h.followers?.isrKnown(rec.partitionEpoch);
    }
    if (sameTerm && h.role === (rec.leader === me ? 'leader' : 'follower')) {
      if (h.role === 'leader') this.advance(h);
      return;
    }
    h.leader = rec.leader;
    h.leaderEpoch = rec.leaderEpoch;
    if (rec.leader === me) {
      h.role = 'leader';
      await h.epochs.assign(rec.leaderEpoch, h.log.logEndOffset);
      h.followers = new LeaderState(
        me,
        h.highWatermark,
        rec.replicas.filter((b) => b !== me),
        Date.now(),
      );
      this.advance(h);
      this.opts.log.info(
        { topic: h.topic, partition: h.partition, epoch: rec.leaderEpoch, isr: rec.isr },
        'leading',
      );
    } else {
      h.role = 'follower';
      this.opts.log.info(
        { topic: h.topic, partition: h.partition, epoch: rec.leaderEpoch, leader: rec.leader },
        rec.leader === NO_LEADER ? 'offline: no leader' : 'following',
      );
      h.followers = undefined;
      this.notifyAppend(h); // acks=all waiters learn they lost leadership
      if (rec.leader !== NO_LEADER) void follow(this.follower, h, rec.leader, rec.leaderEpoch);
    }
  }

  private async host(
    rec: PartitionRecord,
    topicId: string,
    overrides: Record<string, string>,
  ): Promise<Hosted> {
    const id = { topic: rec.topic, partition: rec.partition };
    const dir = join(this.logs.dataDir, partitionDirName(id));
    const onDisk = await fsp.readFile(join(dir, TOPIC_ID_FILE), 'utf8').catch(() => undefined);
    if (onDisk !== undefined && onDisk !== topicId) {
      this.opts.log.warn(
        { ...id, topicId, onDisk },
        'the partition on disk belongs to an older topic of that name; removing it',
      );
      await this.logs.delete(id);
    }
    const config = topicConfig(overrides);
    const log = await this.logs.getOrCreate(id, this.logConfig(config));
    const recovered = log.takeRecovery();
    if (recovered)
      this.opts.log[recovered.truncated ? 'warn' : 'info'](
        { ...id, ...recovered },
        recovered.truncated
          ? 'recovered the log after an unclean stop, cutting a torn tail'
          : 'recovered the log after an unclean stop',
      );
    if (onDisk !== topicId) {
      await this.essential(async () => {
        await fsp.writeFile(join(dir, `${TOPIC_ID_FILE}.tmp`), topicId);
        await fsp.rename(join(dir, `${TOPIC_ID_FILE}.tmp`), join(dir, TOPIC_ID_FILE));
      });
    }
    const h: Hosted = {
      topic: rec.topic,
      partition: rec.partition,
      topicId,
      log,
      config,
      role: 'follower',
      leader: NO_LEADER,
      leaderEpoch: -1,
      partitionEpoch: rec.partitionEpoch,
      replicas: rec.replicas,
      isr: rec.isr,
      highWatermark: Math.min(await loadHighWatermark(dir), log.logEndOffset),
      dir,
      savedHighWatermark: -1,
      epochs: await LeaderEpochCache.load(dir, this.essential),
      producers: await this.openProducers(id, dir, log),
      producersCheckpointedAt: -1,
      followers: undefined,
      isrChangeInFlight: false,
      closed: false,
      lock: new Mutex(),
      waiters: new Set(),
    };
    this.hosted.set(key(rec.topic, rec.partition), h);
    return h;
  }

  /** Idempotent producers' state: from a clean shutdown's snapshot, else from the log. */
  private async openProducers(
    id: { topic: string; partition: number },
    dir: string,
    log: PartitionLog,
  ): Promise<ProducerStateTable> {
    const t0 = performance.now();
    const saved = await takeProducerSnapshot(dir, log).catch(() => undefined);
    if (saved) {
      this.opts.log.debug({ ...id }, 'producer state from the shutdown snapshot');
      return saved;
    }
    const checkpoint = await readProducerCheckpoint(dir, log).catch(() => undefined);
    const recovered = await recoverProducers(log, checkpoint);
    if (log.logEndOffset > log.logStartOffset)
      this.opts.log.info(
        {
          ...id,
          from: Math.max(checkpoint?.offset ?? 0, log.logStartOffset),
          checkpoint: checkpoint !== undefined,
          logEnd: log.logEndOffset,
          ms: Math.round(performance.now() - t0),
        },
        'recovered the producer state from the log (no shutdown snapshot)',
      );
    return recovered;
  }

  // ---- the ISR ----

  private advance(h: Hosted): void {
    if (h.role !== 'leader' || !h.followers) return;
    h.followers.forgetJoins(this.ineligible);
    if (h.followers.advance(h.isr, h.log.writtenOffset)) {
      h.highWatermark = h.followers.highWatermark;
      this.opts.trace?.committed(partitionName(h), h.highWatermark);
      this.notifyAppend(h);
    }
  }

  /** Followers that stopped keeping up leave the ISR (through the controller). */
  private checkIsr(): void {
    const now = Date.now();
    for (const h of this.hosted.values()) {
      if (h.role !== 'leader' || !h.followers || h.isrChangeInFlight || h.closed) continue;
      const late = h.followers.laggards(h.isr, now, this.opts.replicaLagMs);
      if (late.length > 0)
        this.changeIsr(
          h,
          h.isr.filter((b) => !late.includes(b)),
        );
    }
  }

  private changeIsr(h: Hosted, isr: number[]): void {
    h.isrChangeInFlight = true;
    const epoch = h.leaderEpoch;
    h.followers?.askedToJoin(
      isr.filter((b) => !h.isr.includes(b)),
      h.partitionEpoch,
    );
    this.opts.controller
      .call<{ partition: { isr: number[]; partition_epoch: number } }>(
        'AlterPartition',
        {
          broker_id: this.opts.brokerId,
          broker_epoch: this.opts.brokerEpoch(),
          broker_token: this.opts.brokerToken,
          topic: h.topic,
          partition: h.partition,
          leader_epoch: h.leaderEpoch,
          partition_epoch: h.partitionEpoch,
          new_isr: isr,
        },
        { attempts: 2 },
      )
      .then(
        (res) => {
          if (h.leaderEpoch !== epoch || res.partition.partition_epoch <= h.partitionEpoch) return;
          const before = h.isr;
          this.opts.isrChanged?.(before, res.partition.isr);
          h.isr = res.partition.isr;
          h.partitionEpoch = res.partition.partition_epoch;
          h.followers?.isrKnown(h.partitionEpoch);
          this.logIsrChange(h, before, h.isr, 'leader');
          this.advance(h);
        },
        (err: unknown) =>
          this.opts.log.warn(
            { topic: h.topic, partition: h.partition, isr, err },
            'ISR change refused',
          ),
      )
      .finally(() => {
        h.isrChangeInFlight = false;
      });
  }

  private logIsrChange(h: Hosted, before: number[], isr: number[], by: string): void {
    this.opts.log.info(
      { topic: h.topic, partition: h.partition, epoch: h.leaderEpoch, isr, before, by },
      isr.length < before.length ? 'ISR shrank' : 'ISR expanded',
    );
  }

  private logConfig(c: TopicConfig): LogConfigInput {
    // `compact` alone keeps every key forever: time and size retention apply under `delete`.
    const deletes = c.cleanupPolicy !== 'compact';
    return {
      segmentBytes: c.segmentBytes,
      segmentMs: c.segmentMs,
      retentionMs: deletes ? c.retentionMs : -1,
      retentionBytes: deletes ? c.retentionBytes : -1,
      compact: isCompacted(c),
      deleteRetentionMs: c.deleteRetentionMs,
      minCleanableDirtyRatio: c.minCleanableDirtyRatio,
      minCompactionLagMs: c.minCompactionLagMs,
      maxCompactionLagMs: c.maxCompactionLagMs,
      maxAppendBytes: this.opts.maxAppendBytes,
      durability: this.opts.durability,
    };
  }

  /** Saves every watermark that moved since it was last saved; one round at a time. */
  private async saveHighWatermarks(): Promise<void> {
    while (this.saving) await this.saving;
    const moved = [...this.hosted.values()].filter(
      (h) => !h.closed && h.highWatermark !== h.savedHighWatermark,
    );
    this.saving = forEachLimit(moved, PARALLEL, async (h) => {
      const hw = h.highWatermark;
      try {
        await this.essential(() => saveHighWatermark(h.dir, hw));
        h.savedHighWatermark = hw;
      } catch (err) {
        this.opts.log.error(
          { topic: h.topic, partition: h.partition, err },
          'saving the high watermark failed',
        );
      }
    }).finally(() => {
      this.saving = undefined;
    });
    return this.saving;
  }

  /** Checkpoints the producers' state of every partition written to since its last one. */
  private checkpointProducers(): Promise<void> {
    this.checkpointing ??= this.checkpointRound().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async checkpointRound(): Promise<void> {
    const due = [...this.hosted.values()].filter(
      (h) => !h.closed && h.log.writtenOffset !== h.producersCheckpointedAt,
    );
    await forEachLimit(due, PARALLEL, async (h) => {
      try {
        await h.lock.run(async () => {
          if (h.closed) return;
          // Where it was saved: below the end while a batch was in flight, so the next round
          // saves again.
          h.producersCheckpointedAt = await this.essential(() =>
            saveProducerCheckpoint(h.dir, h.log, h.producers),
          );
        });
      } catch (err) {
        this.opts.log.warn(
          { topic: h.topic, partition: h.partition, err },
          'checkpointing the producer state failed',
        );
      }
    });
  }

  private async applyRetention(): Promise<void> {
    for (const h of this.hosted.values()) {
      if (h.closed) continue;
      try {
        const removed = await h.log.applyRetention(h.highWatermark);
        if (removed > 0)
          this.opts.log.info(
            {
              topic: h.topic,
              partition: h.partition,
              segments: removed,
              logStart: h.log.logStartOffset,
            },
            'retention deleted segments',
          );
      } catch (err) {
        this.opts.log.error({ topic: h.topic, partition: h.partition, err }, 'retention failed');
      }
    }
  }
}
