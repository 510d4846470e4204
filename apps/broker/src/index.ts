// @strand/broker — hosts partitions: produce, fetch, offsets, metadata; forwards topic changes.
export { BrokerMetrics } from './broker-metrics.js';
export { type BrokerConfig, BrokerConfigSchema, loadBrokerConfig } from './config.js';
export { ControllerClient } from './controller-client.js';
export { DataPlane } from './data-plane.js';
export { KafkaMetrics } from './kafka/metrics.js';
export { Membership } from './membership.js';
export { MetadataCache } from './metadata.js';
export { type Hosted, Partitions, type PartitionsOptions } from './partitions.js';
export { addBrokerService } from './service.js';
