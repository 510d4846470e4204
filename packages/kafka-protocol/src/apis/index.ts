import type { ApiDef } from '../schema.js';
import { CreateAcls, DeleteAcls, DescribeAcls } from './acls.js';
import {
  CreatePartitions,
  CreateTopics,
  DeleteTopics,
  DescribeCluster,
  DescribeConfigs,
  IncrementalAlterConfigs,
} from './admin.js';
import {
  ApiVersions,
  Fetch,
  InitProducerId,
  ListOffsets,
  Metadata,
  OffsetForLeaderEpoch,
  Produce,
} from './core.js';
import {
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetFetch,
  SyncGroup,
} from './groups.js';
import { SaslAuthenticate, SaslHandshake } from './sasl.js';

export * from './acls.js';
export * from './admin.js';
export * from './core.js';
export * from './groups.js';
export * from './sasl.js';

/** Every API described here, by key. */
export const APIS: ReadonlyMap<number, ApiDef> = new Map(
  [
    ApiVersions,
    Metadata,
    Produce,
    Fetch,
    ListOffsets,
    OffsetForLeaderEpoch,
    InitProducerId,
    FindCoordinator,
    JoinGroup,
    SyncGroup,
    Heartbeat,
    LeaveGroup,
    OffsetCommit,
    OffsetFetch,
    ListGroups,
    DescribeGroups,
    DeleteGroups,
    CreateTopics,
    DeleteTopics,
    CreatePartitions,
    DescribeConfigs,
    IncrementalAlterConfigs,
    DescribeCluster,
    DescribeAcls,
    CreateAcls,
    DeleteAcls,
    SaslHandshake,
    SaslAuthenticate,
  ].map((a): [number, ApiDef] => [a.key, a as ApiDef]),
);
