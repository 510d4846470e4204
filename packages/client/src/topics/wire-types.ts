import type { ErrorFields } from '@strand/wire';
import type { BrokerDescription, ClusterDescription, TopicDescription } from './types.js';

// The shapes broker.proto messages take through proto-loader (keepCase, longs as numbers,
// defaults on: a message field that is unset arrives as null).

export type RawError = ErrorFields | null;

export interface RawBroker {
  id: number;
  address: string;
  fenced: boolean;
  epoch: number;
  rack: string;
  admin_url: string;
}

export interface RawTopic {
  name: string;
  id: string;
  replication_factor: number;
  partitions: {
    partition: number;
    leader: number;
    leader_epoch: number;
    partition_epoch: number;
    replicas: number[];
    isr: number[];
    target_replicas: number[];
  }[];
  configs: Record<string, string>;
  error: RawError;
}

export interface RawMetadata {
  brokers: RawBroker[];
  topics: RawTopic[];
  answered_by: number;
  revision: number;
}

export interface RawTopicChange {
  revision: number;
  topic: RawTopic | null;
}

export interface RawCluster {
  brokers: RawBroker[];
  coordinators: { id: number; address: string; is_leader: boolean }[];
  controller_id: number;
  revision: number;
  malformed_records?: { key: string; mod_revision: number; error: string }[];
  cluster_id?: string;
}

export interface RawProducePartitionResult {
  topic: string;
  partition: number;
  base_offset: number;
  log_start_offset: number;
  error: RawError;
}

export interface RawProduceResponse {
  id: number;
  partitions: RawProducePartitionResult[];
  error: RawError;
}

export interface RawFetchPartitionResult {
  topic: string;
  partition: number;
  high_watermark: number;
  log_start_offset: number;
  records: Buffer;
  error: RawError;
}

export interface RawListOffsetsResult {
  topic: string;
  partition: number;
  offset: number;
  found: boolean;
  log_start_offset: number;
  high_watermark: number;
  error: RawError;
  log_end_offset: number;
  size_bytes: number;
  compacted: boolean;
  dirty_ratio: number;
  cleaned_bytes: number;
  last_cleaned_ms: number;
  cleaner_error: string;
}

/** An error field counts only when it is set and carries a code. */
export const isError = (e: RawError | undefined): e is ErrorFields => !!e?.code;

export function toTopicDescription(t: RawTopic): TopicDescription {
  return {
    name: t.name,
    id: t.id,
    replicationFactor: t.replication_factor,
    partitions: t.partitions
      .map((p) => ({
        partition: p.partition,
        leader: p.leader,
        leaderEpoch: p.leader_epoch,
        partitionEpoch: p.partition_epoch,
        replicas: [...p.replicas],
        isr: [...p.isr],
        ...(p.target_replicas?.length ? { targetReplicas: [...p.target_replicas] } : {}),
      }))
      .sort((a, b) => a.partition - b.partition),
    configs: { ...t.configs },
  };
}

export const toBroker = (b: RawBroker): BrokerDescription => ({
  id: b.id,
  address: b.address,
  fenced: b.fenced,
  epoch: b.epoch,
  rack: b.rack ?? '',
  adminUrl: b.admin_url ?? '',
});

export const toCluster = (c: RawCluster): ClusterDescription => ({
  clusterId: c.cluster_id ?? '',
  brokers: c.brokers.map(toBroker),
  coordinators: c.coordinators.map((x) => ({
    id: x.id,
    address: x.address,
    isLeader: x.is_leader,
  })),
  controllerId: c.controller_id,
  malformedRecords: (c.malformed_records ?? []).map((m) => ({
    key: m.key,
    modRevision: m.mod_revision,
    error: m.error,
  })),
});
