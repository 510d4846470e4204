import { ErrorCode, StrandError } from '@strand/wire';

/** Kafka's error codes (those Strand answers with). */
export const KafkaError = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  NOT_ENOUGH_REPLICAS: 19,
  INVALID_REQUIRED_ACKS: 21,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  POLICY_VIOLATION: 44,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  INVALID_PRODUCER_EPOCH: 47,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  SECURITY_DISABLED: 54,
  KAFKA_STORAGE_ERROR: 56,
  SASL_AUTHENTICATION_FAILED: 58,
  UNKNOWN_PRODUCER_ID: 59,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  STALE_BROKER_EPOCH: 77,
  OFFSET_NOT_AVAILABLE: 78,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82,
  INVALID_RECORD: 87,
  PRODUCER_FENCED: 90,
  RESOURCE_NOT_FOUND: 91,
  UNKNOWN_TOPIC_ID: 100,
  DUPLICATE_BROKER_REGISTRATION: 101,
  INCONSISTENT_CLUSTER_ID: 104,
} as const;
export type KafkaErrorCode = (typeof KafkaError)[keyof typeof KafkaError];

/**
 * The one mapping from Strand's error codes to Kafka's. Where Kafka's answer depends on the
 * request (a partition error in Produce is not a coordinator error in JoinGroup), the caller
 * overrides entries for its API through `kafkaErrorCode`'s second argument.
 */
export const KAFKA_ERROR_FOR: Readonly<Record<ErrorCode, KafkaErrorCode>> = {
  [ErrorCode.CorruptBatch]: KafkaError.CORRUPT_MESSAGE,
  [ErrorCode.InvalidRecord]: KafkaError.INVALID_RECORD,
  [ErrorCode.InvalidRequest]: KafkaError.INVALID_REQUEST,
  [ErrorCode.InvalidConfig]: KafkaError.INVALID_CONFIG,
  [ErrorCode.UnsupportedCompression]: KafkaError.UNSUPPORTED_COMPRESSION_TYPE,
  [ErrorCode.OffsetOutOfRange]: KafkaError.OFFSET_OUT_OF_RANGE,
  [ErrorCode.OffsetNotAvailable]: KafkaError.OFFSET_NOT_AVAILABLE,
  [ErrorCode.RecordTooLarge]: KafkaError.MESSAGE_TOO_LARGE,
  [ErrorCode.UnknownTopic]: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
  [ErrorCode.UnknownPartition]: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
  [ErrorCode.TopicExists]: KafkaError.TOPIC_ALREADY_EXISTS,
  [ErrorCode.InvalidReplicationFactor]: KafkaError.INVALID_REPLICATION_FACTOR,
  [ErrorCode.StaleBrokerEpoch]: KafkaError.STALE_BROKER_EPOCH,
  [ErrorCode.NotEnoughReplicas]: KafkaError.NOT_ENOUGH_REPLICAS,
  [ErrorCode.FencedLeaderEpoch]: KafkaError.FENCED_LEADER_EPOCH,
  [ErrorCode.OutOfOrderSequence]: KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
  // A producer epoch older than the partition's: Kafka's produce path says INVALID_PRODUCER_EPOCH.
  [ErrorCode.ProducerFenced]: KafkaError.INVALID_PRODUCER_EPOCH,
  [ErrorCode.NotLeader]: KafkaError.NOT_LEADER_OR_FOLLOWER,
  [ErrorCode.Unavailable]: KafkaError.LEADER_NOT_AVAILABLE,
  [ErrorCode.Timeout]: KafkaError.REQUEST_TIMED_OUT,
  [ErrorCode.KeyNotFound]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.LeaseNotFound]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.Compacted]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.StorageFull]: KafkaError.KAFKA_STORAGE_ERROR,
  // The partition was closed under the request (deleted, or leadership moved): ask again.
  [ErrorCode.LogClosed]: KafkaError.NOT_LEADER_OR_FOLLOWER,
  [ErrorCode.UnknownGroup]: KafkaError.GROUP_ID_NOT_FOUND,
  [ErrorCode.UnknownMemberId]: KafkaError.UNKNOWN_MEMBER_ID,
  [ErrorCode.StaleGeneration]: KafkaError.ILLEGAL_GENERATION,
  [ErrorCode.RebalanceInProgress]: KafkaError.REBALANCE_IN_PROGRESS,
  [ErrorCode.GroupNotEmpty]: KafkaError.NON_EMPTY_GROUP,
  [ErrorCode.NoCommittedOffset]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.MemberIdRequired]: KafkaError.MEMBER_ID_REQUIRED,
  [ErrorCode.FencedInstanceId]: KafkaError.FENCED_INSTANCE_ID,
  [ErrorCode.InconsistentGroupProtocol]: KafkaError.INCONSISTENT_GROUP_PROTOCOL,
  [ErrorCode.InvalidSessionTimeout]: KafkaError.INVALID_SESSION_TIMEOUT,
  [ErrorCode.OffsetMetadataTooLarge]: KafkaError.OFFSET_METADATA_TOO_LARGE,
  // Only the KV API raises it (a write into /strand/); no Kafka request can.
  [ErrorCode.ReservedKey]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.InconsistentClusterId]: KafkaError.INCONSISTENT_CLUSTER_ID,
  [ErrorCode.DuplicateBrokerRegistration]: KafkaError.DUPLICATE_BROKER_REGISTRATION,
  [ErrorCode.AuthenticationFailed]: KafkaError.SASL_AUTHENTICATION_FAILED,
  [ErrorCode.TopicAuthorizationFailed]: KafkaError.TOPIC_AUTHORIZATION_FAILED,
  [ErrorCode.GroupAuthorizationFailed]: KafkaError.GROUP_AUTHORIZATION_FAILED,
  [ErrorCode.ClusterAuthorizationFailed]: KafkaError.CLUSTER_AUTHORIZATION_FAILED,
  // Only the KV API checks keys; no Kafka request names one.
  [ErrorCode.KeyAuthorizationFailed]: KafkaError.UNKNOWN_SERVER_ERROR,
  // Kafka's user admin (AlterUserScramCredentials) says RESOURCE_NOT_FOUND for an unknown user.
  [ErrorCode.UserExists]: KafkaError.INVALID_REQUEST,
  [ErrorCode.UnknownUser]: KafkaError.RESOURCE_NOT_FOUND,
  // A Strand node asked another for a method it does not offer (another service or version).
  [ErrorCode.Unimplemented]: KafkaError.UNKNOWN_SERVER_ERROR,
  // A gRPC client's TLS problem; a Kafka client's shows in its own TLS layer.
  [ErrorCode.TransportSecurity]: KafkaError.UNKNOWN_SERVER_ERROR,
  // KV backups and coordinator membership: no Kafka request asks for them.
  [ErrorCode.CorruptSnapshot]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.UnknownMember]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.MemberExists]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.MembershipRefused]: KafkaError.UNKNOWN_SERVER_ERROR,
  [ErrorCode.Internal]: KafkaError.UNKNOWN_SERVER_ERROR,
};

/** The Kafka error code for anything thrown (unknown throwables are UNKNOWN_SERVER_ERROR). */
export function kafkaErrorCode(
  err: unknown,
  overrides?: Partial<Record<ErrorCode, KafkaErrorCode>>,
): KafkaErrorCode {
  if (!(err instanceof StrandError)) return KafkaError.UNKNOWN_SERVER_ERROR;
  return overrides?.[err.code] ?? KAFKA_ERROR_FOR[err.code] ?? KafkaError.UNKNOWN_SERVER_ERROR;
}

/** The message to send beside the code, where the schema has an error message field. */
export function kafkaErrorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
