// @strand/client — the Strand SDK.

// Topics: produce, consume (alone or in consumer groups), administer
export { Admin } from './topics/admin.js';
export type { SaslOptions } from './auth/token-source.js';
export type {
  AclBinding,
  AclBindingInput,
  AclFilter,
  Operation as AclOperation,
  PatternType as AclPatternType,
  Permission as AclPermission,
  ResourceType as AclResourceType,
} from '@strand/auth';
export type {
  ScramMechanismName,
  UserCredentialOptions,
  UserDescription,
} from './auth/user-admin.js';
export { Consumer } from './topics/consumer.js';
export type { ClientOptions, ConsumerOptions, ProducerOptions } from './topics/options.js';
export { Producer } from './topics/producer.js';
export type {
  BrokerDescription,
  Bytes,
  CleanerProgress,
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

// Consumer groups
export type { GroupConsumerOptions } from './groups/group-options.js';
export type {
  AssignorName,
  CommittedOffset,
  GroupDescription,
  GroupMemberDescription,
  GroupState,
  GroupSummary,
  OffsetAndMetadata,
  PartitionLag,
  RebalanceListener,
  ResetSpec,
} from './groups/types.js';

// ACL admin over any caller of the coordinators' Security service (what brokers' Kafka ACL APIs use)
export { AclAdmin, type SecurityCaller } from './auth/acl-admin.js';

// The replicated KV store: versions, compare-and-set, watches, linearizable or stale reads
export {
  type CompareOp,
  type CompareTarget,
  type Consistency,
  type KeyValue,
  KvClient,
  type KvClientOptions,
  type LeaseStatus,
  type Member,
  type MembersInfo,
  type TxnOp,
  type TxnResult,
  type WatchEvent,
} from './kv/kv-client.js';

// Typed errors (match with instanceof or by `code`)
export {
  AuthenticationFailedError,
  AuthorizationFailedError,
  CompactedError,
  CorruptBatchError,
  CorruptSnapshotError,
  InvalidRecordError,
  ErrorCode,
  GroupNotEmptyError,
  InvalidConfigError,
  InvalidRequestError,
  LeaseNotFoundError,
  MemberExistsError,
  MembershipRefusedError,
  NoCommittedOffsetError,
  NotLeaderError,
  OffsetOutOfRangeError,
  RebalanceInProgressError,
  RecordTooLargeError,
  ReservedKeyError,
  StaleGenerationError,
  StrandError,
  TimeoutError,
  TopicExistsError,
  TransportSecurityError,
  UnavailableError,
  UnknownGroupError,
  UnknownMemberError,
  UnknownMemberIdError,
  UnknownPartitionError,
  UnknownTopicError,
  UnknownUserError,
  UserExistsError,
} from '@strand/wire';
