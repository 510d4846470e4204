import type { KafkaHandler } from '../handler.js';
import { apiVersions } from './api-versions.js';
import { describeConfigs, incrementalAlterConfigs } from './configs.js';
import { describeCluster } from './describe-cluster.js';
import { fetch } from './fetch.js';
import { initProducerId } from './init-producer-id.js';
import { listOffsets } from './list-offsets.js';
import { metadata } from './metadata.js';
import { offsetForLeaderEpoch } from './offset-for-leader-epoch.js';
import { produce } from './produce.js';
import { createPartitions, createTopics, deleteTopics } from './topics-admin.js';

/**
 * Every Kafka API this broker serves, one module each (or per group of APIs); ApiVersions
 * advertises exactly these.
 */
export const KAFKA_HANDLERS: readonly KafkaHandler[] = [
  apiVersions,
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
];
