import { type KvNode, type KvOp, prefixEnd, type RowOp } from '@strand/kv';
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
import { OffsetBatcher, type OffsetWrite } from './offset-batcher.js';
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

interface Stored {
  key: string;
  value: Buffer;
  modRevision: number;
}

/**
 * What the group coordinator keeps in the KV store: one record per group (compare-and-set on
 * its modRevision), one row per committed offset (written in batches), and the topic catalog
 * it reads. Every write first passes `guard` (this node still leads).
 *
 * A committed offset is an unversioned row (the KV's `rows` command) once the cluster has
 * activated the entry format that has them: no revision, history row or watch event per
 * offset on every replica, many groups' offsets in one Raft entry. Before that (a rolling
 * upgrade from a release without rows) it is a versioned key under the same name. A row, the
 * newer, is read before a key of the same name, and a row written drops the key it replaces
 * (once: a key left by an older release), so a withdrawn offset does not come back.
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
    this.batcher = new OffsetBatcher((writes) => this.writeOffsetRows(writes), commitFlushMs);
  }

  /** This node stopped leading: pending commits fail, the catalog is read afresh next time. */
  fail(err: Error): void {
    this.batcher.fail(err);
    this.catalogCache = undefined;
  }

  groupRecord(groupId: string): Stored | undefined {
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
    for (const kv of this.offsetRange(GroupKeys.offsets)) {
      const k = parseOffsetKey(kv.key);
      if (k) ids.add(k.group);
    }
    return ids;
  }

  /** A group's record and offsets go, after the commits still gathering. */
  async deleteGroup(groupId: string): Promise<void> {
    await this.batcher.flush();
    const offsets = Buffer.from(GroupKeys.groupOffsets(groupId));
    const range = { key: offsets, end: prefixEnd(offsets) };
    await Promise.all([
      this.node.writes('rows') ? this.rows([{ t: 'del', ...range }]) : undefined,
      this.txn([
        { t: 'del', ...range },
        { t: 'del', key: Buffer.from(GroupKeys.group(groupId)) },
      ]),
    ]);
  }

  offsets(groupId: string): StoredOffset[] {
    const out: StoredOffset[] = [];
    for (const kv of this.offsetRange(GroupKeys.groupOffsets(groupId))) {
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

  /** Committed offsets under `prefix`: rows, and keys of the same names where no row is. */
  private offsetRange(prefix: string): Stored[] {
    const k = Buffer.from(prefix);
    const rows = this.node.sm.rowRange(k, prefixEnd(k));
    const keys = this.range(prefix);
    if (rows.length === 0) return keys;
    const out = new Map<string, Stored>(keys.map((kv) => [kv.key, kv]));
    for (const r of rows)
      out.set(r.key.toString('utf8'), {
        key: r.key.toString('utf8'),
        value: r.value,
        modRevision: 0,
      });
    return [...out.values()];
  }

  /** One batch of committed offsets, as rows when the cluster writes them, else as keys. */
  private async writeOffsetRows(writes: OffsetWrite[]): Promise<void> {
    const ops = writes.map(
      ({ key, value }): RowOp =>
        value === null
          ? { t: 'del', key: Buffer.from(key) }
          : { t: 'put', key: Buffer.from(key), value },
    );
    if (!this.node.writes('rows')) return this.txn(ops);
    const replaced = ops.filter((op) => this.node.sm.range(op.key).kvs.length > 0);
    await Promise.all([
      this.rows(ops),
      replaced.length > 0 ? this.txn(replaced.map((op) => ({ t: 'del', key: op.key }))) : undefined,
    ]);
  }

  private async rows(ops: RowOp[]): Promise<void> {
    this.guard();
    const r = await this.node.propose({ t: 'rows', ops });
    if (r.t === 'error') throw new UnavailableError(r.message);
  }

  private range(key: string, exact = false): Stored[] {
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
