import type { TopicPartition } from '../topics/types.js';

export type AssignorName = 'range' | 'round-robin' | 'cooperative-sticky';

/** Called around rebalances, from inside poll() (or close()), one at a time. */
export interface RebalanceListener {
  /** Partitions this member now reads (positions are set: committed offsets, else the reset policy). */
  onAssigned?(partitions: TopicPartition[]): void | Promise<void>;
  /** Partitions taken away in a rebalance; their positions were committed first when auto-commit is on. */
  onRevoked?(partitions: TopicPartition[]): void | Promise<void>;
  /** Partitions lost without a chance to commit (the session expired): another member may have them already. */
  onLost?(partitions: TopicPartition[]): void | Promise<void>;
}

export interface OffsetAndMetadata extends TopicPartition {
  /** The next offset to read (the position after the last processed record). */
  offset: number;
  metadata?: string;
}

export interface CommittedOffset extends TopicPartition {
  offset: number;
  metadata: string;
  commitTimestamp: number;
}

/** COMPLETING_REBALANCE: a group of Kafka clients waiting for its leader's assignment. */
export type GroupState = 'EMPTY' | 'PREPARING_REBALANCE' | 'COMPLETING_REBALANCE' | 'STABLE';

export interface GroupSummary {
  groupId: string;
  state: GroupState;
  /** '' for a group of Strand consumers; Kafka's protocol type (e.g. 'consumer') for Kafka clients. */
  protocolType: string;
  protocol: string;
  generation: number;
  members: number;
  /** Sum of the partitions' lag (those with a committed offset). */
  lag: number;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string;
  clientId: string;
  /** Where a Kafka client connected from ('' for Strand consumers). */
  clientHost: string;
  subscription: { topics: string[]; pattern: string };
  assignment: TopicPartition[];
}

export interface PartitionLag extends TopicPartition {
  /** null: nothing committed yet. */
  committed: number | null;
  metadata: string;
  /** The partition's log end (its high watermark). */
  logEndOffset: number;
  /** logEndOffset - committed; null when nothing is committed. */
  lag: number | null;
  /** The member reading it now, if any. */
  memberId: string | null;
}

export interface GroupDescription extends Omit<GroupSummary, 'members'> {
  leaderId: string;
  members: GroupMemberDescription[];
  offsets: PartitionLag[];
}

/** Where reset-offsets moves a group: by spec, for one topic or every topic it has offsets for. */
export type ResetSpec = 'earliest' | 'latest' | { timestamp: number } | { offset: number };
