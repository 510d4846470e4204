import type { Bytes } from '@strand/wire';

export type { Bytes };

// ---- producer ----

export interface ProducerRecord {
  topic: string;
  value: Bytes | null;
  key?: Bytes | null;
  headers?: Record<string, Bytes> | { key: string; value: Bytes | null }[];
  /** ms since epoch; default Date.now() */
  timestamp?: number;
  /** An explicit partition wins over the partitioner. */
  partition?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0 */
  offset: number;
  timestamp: number;
}

export type PartitionerFn = (record: ProducerRecord, numPartitions: number) => number;

// ---- consumer ----

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

export type StartFrom = 'beginning' | 'end' | { offset: number } | { timestamp: number };

// ---- admin / metadata ----

export interface PartitionInfo {
  partition: number;
  /** -1: no leader */
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: number[];
  isr: number[];
  /** Set while the partition moves to these replicas (see Admin.reassignPartition). */
  targetReplicas?: number[];
}

export interface TopicDescription {
  name: string;
  id: string;
  replicationFactor: number;
  partitions: PartitionInfo[];
  /** Every config, defaults filled in. */
  configs: Record<string, string>;
}

export interface BrokerDescription {
  id: number;
  address: string;
  fenced: boolean;
  epoch: number;
  /** Where the broker runs ('' when it was given none). */
  rack: string;
  /** `http://host:port` of its admin listener (metrics, readiness); '' when it has none. */
  adminUrl: string;
}

export interface ClusterDescription {
  /** The id every node and broker of the cluster carries (made at its first start). */
  clusterId: string;
  brokers: BrokerDescription[];
  coordinators: { id: number; address: string; isLeader: boolean }[];
  controllerId: number;
  /**
   * Metadata records the controller could not decode (every reader skips them until they are
   * rewritten or deleted; a topic's record goes with `deleteTopic`). Empty when all is well.
   */
  malformedRecords: { key: string; modRevision: number; error: string }[];
}

export interface PartitionOffsets {
  partition: number;
  offset: number;
  logStartOffset: number;
  highWatermark: number;
  /** The leader's log end offset (ahead of the high watermark while followers catch up). */
  logEndOffset: number;
  /** Bytes of the leader's log on disk. */
  sizeBytes: number;
  /** A compacted topic: what the leader's log cleaner did on this partition. */
  cleaner?: CleanerProgress;
}

export interface CleanerProgress {
  /** Dirty bytes / (clean + dirty) bytes: cleaning starts at min.cleanable.dirty.ratio. */
  dirtyRatio: number;
  /** Bytes of dirty log cleaned since the leader started. */
  cleanedBytes: number;
  /** Wall-clock ms of the last pass that cleaned something, if any. */
  lastCleanedMs?: number;
  /** Why the cleaner stopped cleaning this partition (a corrupt batch), if it did. */
  error?: string;
}
