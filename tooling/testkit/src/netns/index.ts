export {
  Netbed,
  type NetbedCapabilities,
  NetbedError,
  NetbedUnsupportedError,
  netbedSkipReason,
  netbedUnavailable,
  sweepStaleNetbeds,
} from './bed.js';
export type { NetemSpec } from './commands.js';
export { type HostPlan, type NetbedPlan, NetbedPlanError, planNetbed } from './plan.js';
