// @strand/log — the storage engine: partition logs made of segments.

// Configuration (validated with zod) and durability policies
export { type Durability, type LogConfig, type LogConfigInput, parseLogConfig } from './config.js';

// One partition: append, read, timestamp lookup, truncate, retention, recovery
export {
  type AppendResult,
  type LogRecovery,
  type OffsetsSnapshot,
  type OpenOptions,
  PartitionLog,
  type ReadResult,
} from './partition-log.js';

// Many partitions under one data directory with a bounded number of open files
export {
  LogManager,
  type LogManagerOptions,
  type PartitionId,
  partitionDirName,
} from './log-manager.js';
export { FdCache } from './fd-cache.js';
export { forEachLimit } from './concurrency.js';
export { Mutex } from './mutex.js';

// Pure retention rule (for tools and the broker's reporting)
export { newestTimeOf, type RetainedSegment, segmentsToDelete } from './retention.js';

// Log compaction: the pure planner, one cleaning pass over a log, a broker's background cleaner
export {
  type Cleanable,
  type CleanPass,
  type CleanPolicy,
  cleanable,
  groupSegments,
  OffsetMap,
  survives,
  tombstoneExpired,
} from './compaction/plan.js';
export type { CleanOptions, CleanReport } from './compaction/cleaner.js';
export {
  type CleanCandidate,
  type CleanerProgress,
  LogCleaner,
  type LogCleanerOptions,
} from './compaction/log-cleaner.js';
export { IoThrottle } from './compaction/throttle.js';
