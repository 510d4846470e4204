/**
 * Every error Strand raises on purpose carries a stable `code`. Apps map codes to gRPC
 * status codes in one place (see `grpcStatusFor`), clients map them back to these classes.
 */
export const ErrorCode = {
  CorruptBatch: 'CORRUPT_BATCH',
  /** A well-formed record the topic does not take (a record without a key on a compacted topic). */
  InvalidRecord: 'INVALID_RECORD',
  InvalidRequest: 'INVALID_REQUEST',
  InvalidConfig: 'INVALID_CONFIG',
  UnsupportedCompression: 'UNSUPPORTED_COMPRESSION',
  OffsetOutOfRange: 'OFFSET_OUT_OF_RANGE',
  OffsetNotAvailable: 'OFFSET_NOT_AVAILABLE',
  RecordTooLarge: 'RECORD_TOO_LARGE',
  UnknownTopic: 'UNKNOWN_TOPIC',
  UnknownPartition: 'UNKNOWN_PARTITION',
  TopicExists: 'TOPIC_EXISTS',
  InvalidReplicationFactor: 'INVALID_REPLICATION_FACTOR',
  StaleBrokerEpoch: 'STALE_BROKER_EPOCH',
  NotEnoughReplicas: 'NOT_ENOUGH_REPLICAS',
  FencedLeaderEpoch: 'FENCED_LEADER_EPOCH',
  OutOfOrderSequence: 'OUT_OF_ORDER_SEQUENCE',
  ProducerFenced: 'PRODUCER_FENCED',
  NotLeader: 'NOT_LEADER',
  Unavailable: 'UNAVAILABLE',
  Timeout: 'TIMEOUT',
  KeyNotFound: 'KEY_NOT_FOUND',
  LeaseNotFound: 'LEASE_NOT_FOUND',
  Compacted: 'COMPACTED',
  StorageFull: 'STORAGE_FULL',
  LogClosed: 'LOG_CLOSED',
  UnknownGroup: 'UNKNOWN_GROUP',
  UnknownMemberId: 'UNKNOWN_MEMBER_ID',
  StaleGeneration: 'STALE_GENERATION',
  RebalanceInProgress: 'REBALANCE_IN_PROGRESS',
  GroupNotEmpty: 'GROUP_NOT_EMPTY',
  NoCommittedOffset: 'NO_COMMITTED_OFFSET',
  MemberIdRequired: 'MEMBER_ID_REQUIRED',
  FencedInstanceId: 'FENCED_INSTANCE_ID',
  InconsistentGroupProtocol: 'INCONSISTENT_GROUP_PROTOCOL',
  InvalidSessionTimeout: 'INVALID_SESSION_TIMEOUT',
  OffsetMetadataTooLarge: 'OFFSET_METADATA_TOO_LARGE',
  ReservedKey: 'RESERVED_KEY',
  InconsistentClusterId: 'INCONSISTENT_CLUSTER_ID',
  DuplicateBrokerRegistration: 'DUPLICATE_BROKER_REGISTRATION',
  AuthenticationFailed: 'AUTHENTICATION_FAILED',
  TopicAuthorizationFailed: 'TOPIC_AUTHORIZATION_FAILED',
  GroupAuthorizationFailed: 'GROUP_AUTHORIZATION_FAILED',
  ClusterAuthorizationFailed: 'CLUSTER_AUTHORIZATION_FAILED',
  KeyAuthorizationFailed: 'KEY_AUTHORIZATION_FAILED',
  UserExists: 'USER_EXISTS',
  UnknownUser: 'UNKNOWN_USER',
  /** A KV snapshot file that is truncated, damaged or of a format this release does not read. */
  CorruptSnapshot: 'CORRUPT_SNAPSHOT',
  /** No coordinator of that id is a member. */
  UnknownMember: 'UNKNOWN_MEMBER',
  /** A coordinator of that id (or at that address) is a member already. */
  MemberExists: 'MEMBER_EXISTS',
  /** A membership change refused: it would lose quorum, or the learner is not caught up. */
  MembershipRefused: 'MEMBERSHIP_REFUSED',
  /** The server does not offer the method: another service (a broker, not a coordinator) or version. */
  Unimplemented: 'UNIMPLEMENTED',
  TransportSecurity: 'TRANSPORT_SECURITY',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class StrandError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retriable = false,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bytes that do not form a valid RecordBatch: short, wrong magic, bad length, bad CRC... */
export class CorruptBatchError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.CorruptBatch, message);
  }
}

/** A valid record the partition refuses: e.g. one without a key on a compacted topic. */
export class InvalidRecordError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.InvalidRecord, message);
  }
}

export class InvalidRequestError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.InvalidRequest, message);
  }
}

export class InvalidConfigError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.InvalidConfig, message);
  }
}

export class UnsupportedCompressionError extends StrandError {
  constructor(codec: number) {
    super(ErrorCode.UnsupportedCompression, `unsupported compression codec ${codec}`);
  }
}

export class OffsetOutOfRangeError extends StrandError {
  constructor(
    readonly offset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
  ) {
    super(
      ErrorCode.OffsetOutOfRange,
      `offset ${offset} is outside [${logStartOffset}, ${logEndOffset}]`,
    );
  }
}

export class RecordTooLargeError extends StrandError {
  constructor(size: number, limit: number) {
    super(ErrorCode.RecordTooLarge, `batch of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/**
 * The disk is full: nothing was written. Retriable: writes resume by themselves once space is
 * freed (reads, deletes and the process itself carry on meanwhile).
 */
export class StorageFullError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.StorageFull, message, true);
  }
}

/** Whether an error from the OS or RocksDB says the disk (or a quota) is full. */
export function isNoSpaceError(err: unknown): boolean {
  if (err instanceof StrandError) return err.code === ErrorCode.StorageFull;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  return err instanceof Error && /No space left on device|Disk quota exceeded/i.test(err.message);
}

/** An operation on a log that was closed (or a partition that was deleted). */
export class LogClosedError extends StrandError {
  constructor(what: string) {
    super(ErrorCode.LogClosed, `${what} is closed`);
  }
}

/** The request needs the leader and this node is not it; `leaderId` / `leaderAddress` say where to go. */
export class NotLeaderError extends StrandError {
  constructor(
    readonly leaderId?: number,
    readonly leaderAddress?: string,
    message = leaderId
      ? `not the leader; the leader is ${leaderId}${leaderAddress ? ` at ${leaderAddress}` : ''}`
      : 'not the leader, and no leader is known',
  ) {
    super(ErrorCode.NotLeader, message, true);
  }
}

/**
 * A follower replica has not yet learned that records up to the asked offset are committed
 * (its high watermark lags the leader's); the leader can answer, or this replica shortly.
 */
export class OffsetNotAvailableError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.OffsetNotAvailable, message, true);
  }
}

/** The service cannot answer now (no quorum, no leader, shutting down); retrying later may work. */
export class UnavailableError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.Unavailable, message, true);
  }
}

export class TimeoutError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.Timeout, message, true);
  }
}

/** A watch or read asked for history older than the compaction point. */
export class CompactedError extends StrandError {
  constructor(readonly compactRevision: number) {
    super(ErrorCode.Compacted, `revision ${compactRevision} and older were compacted`);
  }
}

export class UnknownTopicError extends StrandError {
  constructor(
    readonly topic: string,
    message = `unknown topic "${topic}"`,
  ) {
    super(ErrorCode.UnknownTopic, message);
  }
}

export class UnknownPartitionError extends StrandError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly partitions?: number,
    message = partitions === undefined
      ? `topic "${topic}" has no partition ${partition}`
      : `topic "${topic}" has no partition ${partition} (it has ${partitions}: 0..${partitions - 1})`,
  ) {
    super(ErrorCode.UnknownPartition, message);
  }
}

export class TopicExistsError extends StrandError {
  constructor(
    readonly topic: string,
    message = `topic "${topic}" already exists`,
  ) {
    super(ErrorCode.TopicExists, message);
  }
}

/** More replicas than live brokers, or a factor outside 1..live brokers. */
export class InvalidReplicationFactorError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.InvalidReplicationFactor, message);
  }
}

/** A broker spoke with an epoch the controller no longer recognises: it must register again. */
export class StaleBrokerEpochError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.StaleBrokerEpoch, message);
  }
}

/** acks=all cannot be met: the ISR is smaller than min.insync.replicas (or shrank while waiting). */
export class NotEnoughReplicasError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.NotEnoughReplicas, message, true);
  }
}

/** A replica or leader spoke with a leader epoch that is not the partition's current one. */
export class FencedLeaderEpochError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.FencedLeaderEpoch, message, true);
  }
}

/** An idempotent producer's batch does not follow the last sequence the leader has. */
export class OutOfOrderSequenceError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.OutOfOrderSequence, message, true);
  }
}

/** A newer epoch of this producer id exists: this producer must stop. */
export class ProducerFencedError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.ProducerFenced, message);
  }
}

/** A group that has neither members nor committed offsets. */
export class UnknownGroupError extends StrandError {
  constructor(
    readonly group: string,
    message = `unknown group "${group}"`,
  ) {
    super(ErrorCode.UnknownGroup, message);
  }
}

/** The member id is not (or no longer) in the group, e.g. its session expired: join again. */
export class UnknownMemberIdError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.UnknownMemberId, message);
  }
}

/** A request carried a generation the group has left behind (a zombie member's commit). */
export class StaleGenerationError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.StaleGeneration, message);
  }
}

/** The group is rebalancing: the member must join again before it heartbeats or syncs. */
export class RebalanceInProgressError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.RebalanceInProgress, message, true);
  }
}

/** Resetting offsets or deleting a group needs a group without active members. */
export class GroupNotEmptyError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.GroupNotEmpty, message);
  }
}

/** A group consumer found no committed offset and `autoOffsetReset` is 'error'. */
export class NoCommittedOffsetError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.NoCommittedOffset, message);
  }
}

/**
 * A first join of a Kafka client (JoinGroup v4+) is refused with the member id it must join
 * with: only a member that got this answer, and so knows its id, can hold up a rebalance.
 */
export class MemberIdRequiredError extends StrandError {
  constructor(
    readonly memberId: string,
    message = `join again with member id "${memberId}"`,
  ) {
    super(ErrorCode.MemberIdRequired, message);
  }
}

/** Another process joined with this group instance id: this one is a zombie and must stop. */
export class FencedInstanceIdError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.FencedInstanceId, message);
  }
}

/** A member's protocol type or protocols do not fit the group's (or its kind of group). */
export class InconsistentGroupProtocolError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.InconsistentGroupProtocol, message);
  }
}

/** A session timeout outside the range the group coordinator accepts. */
export class InvalidSessionTimeoutError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.InvalidSessionTimeout, message);
  }
}

/** A committed offset's metadata string is longer than the coordinator keeps. */
export class OffsetMetadataTooLargeError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.OffsetMetadataTooLarge, message);
  }
}

/** No such lease: it expired or was revoked (or never existed). Not worth retrying. */
export class LeaseNotFoundError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.LeaseNotFound, message);
  }
}

/** A user write into the keyspace the cluster keeps its own metadata in (`/strand/`). */
export class ReservedKeyError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.ReservedKey, message);
  }
}

/** A node or broker of another cluster (its cluster id is not this cluster's). */
export class InconsistentClusterIdError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.InconsistentClusterId, message);
  }
}

/** A broker id that a live broker holds: a second process cannot take its registration over. */
export class DuplicateBrokerRegistrationError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.DuplicateBrokerRegistration, message);
  }
}

/** The sender is not who it says: not a configured peer, or without the broker's credential. */
export class AuthenticationFailedError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.AuthenticationFailed, message);
  }
}

/**
 * The principal may not do this (ACLs, or no ACL at all): the resource type is in the code, as
 * Kafka has TOPIC_, GROUP_ and CLUSTER_AUTHORIZATION_FAILED; the KV store's keys have their own.
 */
export class AuthorizationFailedError extends StrandError {
  constructor(
    code:
      | typeof ErrorCode.TopicAuthorizationFailed
      | typeof ErrorCode.GroupAuthorizationFailed
      | typeof ErrorCode.ClusterAuthorizationFailed
      | typeof ErrorCode.KeyAuthorizationFailed,
    message: string,
  ) {
    super(code, message);
  }
}

/** A user of that name exists already (create it once; change its password with passwd). */
export class UserExistsError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.UserExists, message);
  }
}

export class UnknownUserError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.UnknownUser, message);
  }
}

export class CorruptSnapshotError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.CorruptSnapshot, message);
  }
}

export class UnknownMemberError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.UnknownMember, message);
  }
}

export class MemberExistsError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.MemberExists, message);
  }
}

export class MembershipRefusedError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.MembershipRefused, message);
  }
}

/**
 * The two ends disagree about TLS: a plaintext client on a TLS port or the reverse, a server
 * certificate this client's CA did not sign, a client certificate the server refused. Not
 * worth retrying: the configuration must change.
 */
export class TransportSecurityError extends StrandError {
  constructor(message: string) {
    super(ErrorCode.TransportSecurity, message);
  }
}

/** Rebuilds the typed error a server meant from its code and message (clients use this). */
export function errorFromCode(code: string, message: string): StrandError {
  switch (code) {
    case ErrorCode.InvalidRequest:
      return new InvalidRequestError(message);
    case ErrorCode.InvalidConfig:
      return new InvalidConfigError(message);
    case ErrorCode.CorruptBatch:
      return new CorruptBatchError(message);
    case ErrorCode.InvalidRecord:
      return new InvalidRecordError(message);
    case ErrorCode.Timeout:
      return new TimeoutError(message);
    case ErrorCode.Unavailable:
      return new UnavailableError(message);
    case ErrorCode.OffsetNotAvailable:
      return new OffsetNotAvailableError(message);
    case ErrorCode.UnknownTopic:
      return new UnknownTopicError('', message);
    case ErrorCode.UnknownPartition:
      return new UnknownPartitionError('', -1, undefined, message);
    case ErrorCode.TopicExists:
      return new TopicExistsError('', message);
    case ErrorCode.InvalidReplicationFactor:
      return new InvalidReplicationFactorError(message);
    case ErrorCode.StaleBrokerEpoch:
      return new StaleBrokerEpochError(message);
    case ErrorCode.NotEnoughReplicas:
      return new NotEnoughReplicasError(message);
    case ErrorCode.FencedLeaderEpoch:
      return new FencedLeaderEpochError(message);
    case ErrorCode.OutOfOrderSequence:
      return new OutOfOrderSequenceError(message);
    case ErrorCode.ProducerFenced:
      return new ProducerFencedError(message);
    case ErrorCode.LogClosed:
      return new StrandError(ErrorCode.LogClosed, message, true);
    case ErrorCode.StorageFull:
      return new StorageFullError(message);
    case ErrorCode.UnknownGroup:
      return new UnknownGroupError('', message);
    case ErrorCode.UnknownMemberId:
      return new UnknownMemberIdError(message);
    case ErrorCode.StaleGeneration:
      return new StaleGenerationError(message);
    case ErrorCode.RebalanceInProgress:
      return new RebalanceInProgressError(message);
    case ErrorCode.GroupNotEmpty:
      return new GroupNotEmptyError(message);
    case ErrorCode.NoCommittedOffset:
      return new NoCommittedOffsetError(message);
    case ErrorCode.MemberIdRequired:
      return new MemberIdRequiredError('', message);
    case ErrorCode.FencedInstanceId:
      return new FencedInstanceIdError(message);
    case ErrorCode.InconsistentGroupProtocol:
      return new InconsistentGroupProtocolError(message);
    case ErrorCode.InvalidSessionTimeout:
      return new InvalidSessionTimeoutError(message);
    case ErrorCode.OffsetMetadataTooLarge:
      return new OffsetMetadataTooLargeError(message);
    case ErrorCode.ReservedKey:
      return new ReservedKeyError(message);
    case ErrorCode.LeaseNotFound:
      return new LeaseNotFoundError(message);
    case ErrorCode.InconsistentClusterId:
      return new InconsistentClusterIdError(message);
    case ErrorCode.DuplicateBrokerRegistration:
      return new DuplicateBrokerRegistrationError(message);
    case ErrorCode.AuthenticationFailed:
      return new AuthenticationFailedError(message);
    case ErrorCode.TopicAuthorizationFailed:
    case ErrorCode.GroupAuthorizationFailed:
    case ErrorCode.ClusterAuthorizationFailed:
    case ErrorCode.KeyAuthorizationFailed:
      return new AuthorizationFailedError(code, message);
    case ErrorCode.UserExists:
      return new UserExistsError(message);
    case ErrorCode.UnknownUser:
      return new UnknownUserError(message);
    case ErrorCode.TransportSecurity:
      return new TransportSecurityError(message);
    case ErrorCode.CorruptSnapshot:
      return new CorruptSnapshotError(message);
    case ErrorCode.UnknownMember:
      return new UnknownMemberError(message);
    case ErrorCode.MemberExists:
      return new MemberExistsError(message);
    case ErrorCode.MembershipRefused:
      return new MembershipRefusedError(message);
    default:
      return new StrandError(code as ErrorCode, message);
  }
}
