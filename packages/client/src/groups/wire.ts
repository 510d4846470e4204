import { tpKey } from '../topics/list-offsets.js';
import type { TopicPartition } from '../topics/types.js';
import type { GroupClient } from './coordinator-client.js';
import type { CommittedOffset, GroupState } from './types.js';

// group.proto messages as proto-loader hands them over (keepCase, longs as numbers).

export interface RawTopicPartitions {
  topic: string;
  partitions: number[];
}

export interface RawOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
  commit_timestamp: number;
}

export interface RawGroupSummary {
  group_id: string;
  state: GroupState;
  protocol: string;
  generation: number;
  members: number;
  protocol_type: string;
}

export interface RawDescribeGroup {
  group: RawGroupSummary | null;
  leader_id: string;
  members: {
    member_id: string;
    group_instance_id: string;
    client_id: string;
    client_host: string;
    subscription: { topics: string[]; pattern: string } | null;
    assignment: RawTopicPartitions[];
  }[];
}

export function byTopic(tps: TopicPartition[]): RawTopicPartitions[] {
  const m = new Map<string, number[]>();
  for (const tp of tps) m.set(tp.topic, [...(m.get(tp.topic) ?? []), tp.partition]);
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}

export const flatten = (list: RawTopicPartitions[]): TopicPartition[] =>
  list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));

/** Committed offsets of a group (of `tps`, or all of them), keyed by tpKey. */
export async function fetchCommitted(
  client: GroupClient,
  groupId: string,
  tps?: TopicPartition[],
): Promise<Map<string, CommittedOffset>> {
  const res = await client.call<{ offsets: RawOffset[] }>('FetchOffsets', {
    group_id: groupId,
    partitions: tps ? byTopic(tps) : [],
  });
  return new Map(
    res.offsets.map((o) => [
      tpKey(o.topic, o.partition),
      {
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        metadata: o.metadata,
        commitTimestamp: o.commit_timestamp,
      },
    ]),
  );
}
