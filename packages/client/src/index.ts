// @strand/client — the Strand SDK.

// Topics: produce, consume (no groups yet), administer
export { Admin } from './topics/admin.js';
export { Consumer } from './topics/consumer.js';
export type { ClientOptions, ConsumerOptions, ProducerOptions } from './topics/options.js';
export { Producer } from './topics/producer.js';
export type {
  BrokerDescription,
  Bytes,
  ClusterDescription,
  ConsumerRecord,
  PartitionerFn,
  PartitionInfo,
  PartitionOffsets,
  ProducerRecord,
  RecordMetadata,
  StartFrom,
  TopicDescription,
  TopicPartition,
} from './topics/types.js';

// The replicated KV store: versions, compare-and-set, watches, linearizable or stale reads
export {
  type CompareOp,
  type CompareTarget,
  type Consistency,
  type KeyValue,
  KvClient,
  type KvClientOptions,
  type Member,
  type MembersInfo,
  type TxnOp,
  type WatchEvent,
} from './kv/kv-client.js';

// Typed errors (match with instanceof or by `code`)
export {
  CompactedError,
  CorruptBatchError,
  ErrorCode,
  InvalidConfigError,
  InvalidRequestError,
  NotLeaderError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  StrandError,
  TimeoutError,
  TopicExistsError,
  UnavailableError,
  UnknownPartitionError,
  UnknownTopicError,
} from '@strand/wire';
