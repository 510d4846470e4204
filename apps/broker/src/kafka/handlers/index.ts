import type { KafkaHandler } from '../handler.js';
import { createAcls, deleteAcls, describeAcls } from './acls.js';
import { apiVersions } from './api-versions.js';
import { describeConfigs, incrementalAlterConfigs } from './configs.js';
import { deleteGroups } from './delete-groups.js';
import { describeCluster } from './describe-cluster.js';
import { describeGroups } from './describe-groups.js';
import { fetch } from './fetch.js';
import { findCoordinator } from './find-coordinator.js';
import { heartbeat } from './heartbeat.js';
import { initProducerId } from './init-producer-id.js';
import { joinGroup } from './join-group.js';
import { leaveGroup } from './leave-group.js';
import { listGroups } from './list-groups.js';
import { listOffsets } from './list-offsets.js';
import { metadata } from './metadata.js';
import { offsetCommit } from './offset-commit.js';
import { offsetFetch } from './offset-fetch.js';
import { offsetForLeaderEpoch } from './offset-for-leader-epoch.js';
import { produce } from './produce.js';
import { saslAuthenticate, saslHandshake } from './sasl.js';
import { syncGroup } from './sync-group.js';
import { createPartitions, createTopics, deleteTopics } from './topics-admin.js';

/**
 * Every Kafka API this broker serves, one module each (or per group of APIs); ApiVersions
 * advertises exactly these.
 */
export const KAFKA_HANDLERS: readonly KafkaHandler[] = [
  apiVersions,
  saslHandshake,
  saslAuthenticate,
  metadata,
  produce,
  fetch,
  listOffsets,
  offsetForLeaderEpoch,
  initProducerId,
  createTopics,
  deleteTopics,
  createPartitions,
  describeConfigs,
  incrementalAlterConfigs,
  describeCluster,
  describeAcls,
  createAcls,
  deleteAcls,
  // consumer groups and their offsets, forwarded to the group coordinator
  findCoordinator,
  joinGroup,
  syncGroup,
  heartbeat,
  leaveGroup,
  offsetCommit,
  offsetFetch,
  listGroups,
  describeGroups,
  deleteGroups,
];
