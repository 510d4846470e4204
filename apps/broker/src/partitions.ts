import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import {
  type Durability,
  type LogConfigInput,
  type LogManager,
  type PartitionLog,
  partitionDirName,
} from '@strand/log';
import {
  NotLeaderError,
  type PartitionRecord,
  type TopicConfig,
  topicConfig,
  UnknownPartitionError,
  UnknownTopicError,
} from '@strand/wire';
import type { MetadataCache } from './metadata.js';

/** A partition this broker hosts. */
export interface Hosted {
  topic: string;
  partition: number;
  topicId: string;
  log: PartitionLog;
  leaderEpoch: number;
  leading: boolean;
  config: TopicConfig;
  /** Fetches waiting for new data (long-poll). */
  readonly waiters: Set<() => void>;
}

export interface PartitionsOptions {
  brokerId: number;
  durability: Durability;
  maxAppendBytes: number;
  retentionCheckMs: number;
  log: (line: string) => void;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const TOPIC_ID_FILE = 'topic.id';

/**
 * The partitions this broker hosts, kept in step with the metadata: a partition whose record
 * names this broker as leader is opened and served; a deleted topic's logs are removed; a
 * partition led elsewhere is no longer served (its log stays for when it comes back).
 * Every partition directory remembers its topic id, so a topic deleted and re-created under
 * the same name while this broker was down never serves the old topic's records.
 */
export class Partitions {
  private readonly hosted = new Map<string, Hosted>();
  private syncing: Promise<void> = Promise.resolve();
  private pendingSync = false;
  private readonly retentionTimer: NodeJS.Timeout;

  constructor(
    private readonly logs: LogManager,
    private readonly meta: MetadataCache,
    private readonly opts: PartitionsOptions,
  ) {
    this.retentionTimer = setInterval(() => void this.applyRetention(), opts.retentionCheckMs);
  }

  /** Brings hosted partitions in line with the metadata; calls coalesce. */
  sync(): Promise<void> {
    if (this.pendingSync) return this.syncing;
    this.pendingSync = true;
    this.syncing = this.syncing.then(async () => {
      this.pendingSync = false;
      await this.reconcile().catch((err: unknown) =>
        this.opts.log(`partition sync failed: ${(err as Error).message}`),
      );
    });
    return this.syncing;
  }

  /** The hosted partition if this broker leads it; otherwise the typed error a client needs. */
  leader(topic: string, partition: number): Hosted {
    const h = this.hosted.get(key(topic, partition));
    if (h?.leading) return h;
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
   * Like leader(), but when the metadata names this broker leader of a partition it has not
   * opened yet (the metadata just changed), waits for that to finish first.
   */
  async leaderWhenOpen(topic: string, partition: number): Promise<Hosted> {
    const h = this.hosted.get(key(topic, partition));
    if (h?.leading) return h;
    if (this.meta.partition(topic, partition)?.leader === this.opts.brokerId) await this.sync();
    return this.leader(topic, partition);
  }

  /** The high watermark: with one replica, everything written. */
  highWatermark(h: Hosted): number {
    return h.log.writtenOffset;
  }

  notifyAppend(h: Hosted): void {
    const waiters = [...h.waiters];
    h.waiters.clear();
    for (const w of waiters) w();
  }

  /** Deletes on-disk partitions of topics the metadata no longer has (deleted while down). */
  async removeOrphans(): Promise<void> {
    for (const id of await this.logs.listOnDisk()) {
      if (
        this.meta.topics.has(id.topic) &&
        id.partition < this.meta.topics.get(id.topic)!.partitions
      )
        continue;
      if (this.hosted.has(key(id.topic, id.partition))) continue;
      this.opts.log(`removing ${partitionDirName(id)}: its topic no longer exists`);
      await this.logs.delete(id);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    await this.syncing;
    for (const h of this.hosted.values()) h.leading = false;
    await this.logs.close();
  }

  private async reconcile(): Promise<void> {
    const me = this.opts.brokerId;
    // Topics gone (or re-created with a new id): drop their logs.
    for (const [k, h] of this.hosted) {
      const t = this.meta.topics.get(h.topic);
      if (t && t.id === h.topicId && h.partition < t.partitions) continue;
      h.leading = false;
      this.hosted.delete(k);
      this.notifyAppend(h);
      await this.logs.delete({ topic: h.topic, partition: h.partition });
      this.opts.log(`deleted ${h.topic}-${h.partition}`);
    }
    for (const [topic, parts] of this.meta.partitions) {
      const t = this.meta.topics.get(topic);
      if (!t) continue;
      for (const rec of parts.values()) {
        const k = key(topic, rec.partition);
        const h = this.hosted.get(k);
        const leads = rec.leader === me;
        if (!h) {
          if (leads) await this.host(rec, t.id, t.configs);
          continue;
        }
        const config = topicConfig(t.configs);
        if (JSON.stringify(config) !== JSON.stringify(h.config)) {
          h.log.reconfigure(this.logConfig(config));
          h.config = config;
        }
        h.leading = leads;
        h.leaderEpoch = rec.leaderEpoch;
        if (!leads) this.notifyAppend(h);
      }
    }
  }

  private async host(
    rec: PartitionRecord,
    topicId: string,
    overrides: Record<string, string>,
  ): Promise<void> {
    const id = { topic: rec.topic, partition: rec.partition };
    const dir = join(this.logs.dataDir, partitionDirName(id));
    const onDisk = await fsp.readFile(join(dir, TOPIC_ID_FILE), 'utf8').catch(() => undefined);
    if (onDisk !== undefined && onDisk !== topicId) {
      this.opts.log(
        `${partitionDirName(id)} on disk belongs to an older topic of that name; removing it`,
      );
      await this.logs.delete(id);
    }
    const config = topicConfig(overrides);
    const log = await this.logs.getOrCreate(id, this.logConfig(config));
    if (onDisk !== topicId) {
      await fsp.writeFile(join(dir, `${TOPIC_ID_FILE}.tmp`), topicId);
      await fsp.rename(join(dir, `${TOPIC_ID_FILE}.tmp`), join(dir, TOPIC_ID_FILE));
    }
    this.hosted.set(key(rec.topic, rec.partition), {
      topic: rec.topic,
      partition: rec.partition,
      topicId,
      log,
      leaderEpoch: rec.leaderEpoch,
      leading: true,
      config,
      waiters: new Set(),
    });
  }

  private logConfig(c: TopicConfig): LogConfigInput {
    return {
      segmentBytes: c.segmentBytes,
      segmentMs: c.segmentMs,
      retentionMs: c.retentionMs,
      retentionBytes: c.retentionBytes,
      maxAppendBytes: this.opts.maxAppendBytes,
      durability: this.opts.durability,
    };
  }

  private async applyRetention(): Promise<void> {
    for (const h of this.hosted.values()) {
      if (!h.leading) continue;
      try {
        const removed = await h.log.applyRetention(this.highWatermark(h));
        if (removed > 0)
          this.opts.log(`retention removed ${removed} segment(s) of ${h.topic}-${h.partition}`);
      } catch (err) {
        this.opts.log(`retention of ${h.topic}-${h.partition} failed: ${(err as Error).message}`);
      }
    }
  }
}
