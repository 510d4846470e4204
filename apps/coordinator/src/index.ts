// @strand/coordinator — a KV node served over gRPC, and the controller (group coordinator to come).
export { type CoordinatorConfig, CoordinatorConfigSchema, loadConfig } from './config.js';
export { createServer } from './server.js';
export { GrpcTransport } from './transport.js';
export { Controller, type ControllerOptions, type TopicChange } from './controller/controller.js';
export { newPartition, placeReplicas, reconcilePartition } from './controller/placement.js';
export {
  type RestoreOptions,
  type RestoreResult,
  readBackup,
  restoreBackup,
} from './restore.js';
