import type { BrokerRecord, PartitionRecord, TopicRecord } from './metadata.js';
import { effectiveTopicConfigs } from './topic-config.js';

/** A broker record as broker.proto's BrokerInfo. */
export function brokerInfo(b: BrokerRecord) {
  return {
    id: b.id,
    address: b.address,
    fenced: b.fenced,
    epoch: b.epoch,
    rack: b.rack,
    admin_url: b.adminUrl,
  };
}

/** A partition record as broker.proto's PartitionInfo. */
export function partitionInfo(p: PartitionRecord) {
  return {
    partition: p.partition,
    leader: p.leader,
    leader_epoch: p.leaderEpoch,
    partition_epoch: p.partitionEpoch,
    replicas: p.replicas,
    isr: p.isr,
    target_replicas: p.targetReplicas ?? [],
  };
}

/** A topic record and its partitions as broker.proto's TopicInfo (configs with defaults). */
export function topicInfo(t: TopicRecord, partitions: Iterable<PartitionRecord>) {
  return {
    name: t.name,
    id: t.id,
    replication_factor: t.replicationFactor,
    partitions: [...partitions].sort((a, b) => a.partition - b.partition).map(partitionInfo),
    configs: effectiveTopicConfigs(t.configs),
  };
}
