import { type KvNode, type KvOp, prefixEnd } from '@strand/kv';
import {
  type CommittedOffset,
  CommittedOffsets,
  encodeCommittedOffset,
  GroupKeys,
  MetaKeys,
  OffsetMetadataTooLargeError,
  parseOffsetKey,
  type StrandError,
  TopicRecords,
  UnavailableError,
  UnknownPartitionError,
  UnknownTopicError,
} from '@strand/wire';
import type { MalformedRecords } from '../malformed.js';
import type { TopicPartition } from './assignors.js';
import type { ClassicRecord } from './classic-group.js';
import type { GroupRecord } from './group.js';
import { OffsetBatcher } from './offset-batcher.js';
import { GroupRecords } from './records.js';

export interface OffsetCommit extends TopicPartition {
  /** The next offset to read; negative withdraws the committed offset (it then reads as none). */
  offset: number;
  metadata: string;
  /** When it was committed (ms); the coordinator's clock when absent. */
  commitTimestamp?: number;
  /** The leader epoch of the last record consumed; -1 (or absent): unknown. */
  leaderEpoch?: number;
}

export interface StoredOffset extends TopicPartition, CommittedOffset {}

/** Kafka's offset.metadata.max.bytes. */
export const MAX_OFFSET_METADATA = 4096;

const CATALOG_MAX_AGE_MS = 250;

/**
 * What the group coordinator keeps in the KV store: one record per group (compare-and-set on
 * its modRevision), one key per committed offset (written in batches), and the topic catalog
 * it reads. Every write first passes `guard` (this node still leads).
 */
export class GroupStore {
  private catalogCache: { at: number; catalog: Map<string, number> } | undefined;
  private readonly batcher: OffsetBatcher;

  constructor(
    private readonly node: KvNode,
    commitFlushMs: number,
    private readonly now: () => number,
    private readonly guard: () => void,
    /** Records that do not decode are skipped and noted here, never thrown. */
    private readonly malformed: MalformedRecords,
  ) {
    this.batcher = new OffsetBatcher((ops) => this.txn(ops), commitFlushMs);
  }

  /** This node stopped leading: pending commits fail, the catalog is read afresh next time. */
  fail(err: Error): void {
    this.batcher.fail(err);
    this.catalogCache = undefined;
  }

  groupRecord(groupId: string): { key: string; value: Buffer; modRevision: number } | undefined {
    return this.range(GroupKeys.group(groupId), true)[0];
  }

  /** The group record in `kv`, or undefined (noted) when it does not decode. */
  decodeGroupRecord(kv: {
    key: string;
    value: Buffer;
    modRevision: number;
  }): GroupRecord | ClassicRecord | undefined {
    return this.malformed.decode(GroupRecords, kv);
  }

  /** Writes a group's record if it is still at `modRevision`; returns the new revision. */
  async putGroupRecord(groupId: string, value: string, modRevision: number): Promise<number> {
    this.guard();
    const key = Buffer.from(GroupKeys.group(groupId));
    const r = await this.node.propose({
      t: 'txn',
      compare: [{ key, target: 'mod', result: '=', value: modRevision }],
      success: [{ t: 'put', key, value: Buffer.from(value) }],
      failure: [],
    });
    if (r.t === 'error') throw new UnavailableError(r.message);
    if (r.t !== 'txn' || !r.succeeded)
      throw new UnavailableError(`group "${groupId}" changed elsewhere; retry`);
    return r.revision;
  }

  /** Every group with a record or a committed offset. */
  groupIds(): Set<string> {
    const ids = new Set<string>();
    for (const kv of this.range(GroupKeys.groups)) ids.add(kv.key.slice(GroupKeys.groups.length));
    for (const kv of this.range(GroupKeys.offsets)) {
      const k = parseOffsetKey(kv.key);
      if (k) ids.add(k.group);
    }
    return ids;
  }

  /** A group's record and offsets go, after the commits still gathering. */
  async deleteGroup(groupId: string): Promise<void> {
    await this.batcher.flush();
    const offsets = Buffer.from(GroupKeys.groupOffsets(groupId));
    await this.txn([
      { t: 'del', key: offsets, end: prefixEnd(offsets) },
      { t: 'del', key: Buffer.from(GroupKeys.group(groupId)) },
    ]);
  }

  offsets(groupId: string): StoredOffset[] {
    const out: StoredOffset[] = [];
    for (const kv of this.range(GroupKeys.groupOffsets(groupId))) {
      const k = parseOffsetKey(kv.key);
      const v = k && this.malformed.decode(CommittedOffsets, kv);
      if (k && v) out.push({ topic: k.topic, partition: k.partition, ...v });
    }
    return out.sort((a, b) =>
      a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
    );
  }

  /** Why each offset cannot be committed (undefined: it can). */
  checkOffsets(offsets: OffsetCommit[]): (StrandError | undefined)[] {
    let catalog = this.catalog();
    if (offsets.some((o) => !catalog.has(o.topic))) catalog = this.catalog(true);
    return offsets.map((o) => {
      const count = catalog.get(o.topic);
      if (count === undefined) return new UnknownTopicError(o.topic);
      if (o.partition >= count) return new UnknownPartitionError(o.topic, o.partition, count);
      if (Buffer.byteLength(o.metadata) > MAX_OFFSET_METADATA)
        return new OffsetMetadataTooLargeError(
          `the metadata of ${o.topic}/${o.partition} is longer than ${MAX_OFFSET_METADATA} bytes`,
        );
      return undefined;
    });
  }

  /** Writes checked offsets; resolves once they are applied. */
  writeOffsets(groupId: string, offsets: OffsetCommit[]): Promise<void> {
    const at = this.now();
    return this.batcher.put(
      offsets.map((o) => ({
        key: GroupKeys.offset(groupId, o.topic, o.partition),
        value:
          o.offset < 0
            ? null
            : encodeCommittedOffset({
                offset: o.offset,
                metadata: o.metadata,
                commitTimestamp: o.commitTimestamp ?? at,
                leaderEpoch: o.leaderEpoch ?? -1,
              }),
      })),
    );
  }

  /** Topics and partition counts, re-read at most every CATALOG_MAX_AGE_MS. */
  catalog(fresh = false): Map<string, number> {
    const now = this.now();
    if (!fresh && this.catalogCache && now - this.catalogCache.at < CATALOG_MAX_AGE_MS)
      return this.catalogCache.catalog;
    let catalog = new Map<string, number>();
    for (const kv of this.range(MetaKeys.topics)) {
      const t = this.malformed.decode(TopicRecords, kv);
      if (t) catalog.set(t.name, t.partitions);
    }
    // The same object while nothing changed: what is derived from it (pattern matches) stays.
    const old = this.catalogCache?.catalog;
    if (old && sameCatalog(old, catalog)) catalog = old;
    this.catalogCache = { at: now, catalog };
    return catalog;
  }

  private range(key: string, exact = false): { key: string; value: Buffer; modRevision: number }[] {
    const k = Buffer.from(key);
    return this.node.sm.range(k, exact ? undefined : prefixEnd(k)).kvs.map((kv) => ({
      key: kv.key.toString('utf8'),
      value: Buffer.from(kv.value),
      modRevision: kv.modRevision,
    }));
  }

  private async txn(ops: KvOp[]): Promise<void> {
    this.guard();
    const r = await this.node.propose({ t: 'txn', compare: [], success: ops, failure: [] });
    if (r.t === 'error') throw new UnavailableError(r.message);
  }
}

function sameCatalog(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [t, n] of a) if (b.get(t) !== n) return false;
  return true;
}
