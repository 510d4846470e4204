// @strand/coordinator — a KV node served over gRPC (controller and group coordinator to come).
export { type CoordinatorConfig, CoordinatorConfigSchema, loadConfig } from './config.js';
export { createServer } from './server.js';
export { GrpcTransport } from './transport.js';
