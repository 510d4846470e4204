/**
 * Every error Strand raises on purpose carries a stable `code`. Apps map codes to gRPC
 * status codes in one place (see `grpcStatusFor`), clients map them back to these classes.
 */
export const ErrorCode = {
  CorruptBatch: 'CORRUPT_BATCH',
  InvalidRequest: 'INVALID_REQUEST',
  InvalidConfig: 'INVALID_CONFIG',
  UnsupportedCompression: 'UNSUPPORTED_COMPRESSION',
  OffsetOutOfRange: 'OFFSET_OUT_OF_RANGE',
  RecordTooLarge: 'RECORD_TOO_LARGE',
  UnknownTopic: 'UNKNOWN_TOPIC',
  UnknownPartition: 'UNKNOWN_PARTITION',
  TopicExists: 'TOPIC_EXISTS',
  InvalidReplicationFactor: 'INVALID_REPLICATION_FACTOR',
  StaleBrokerEpoch: 'STALE_BROKER_EPOCH',
  NotLeader: 'NOT_LEADER',
  Unavailable: 'UNAVAILABLE',
  Timeout: 'TIMEOUT',
  KeyNotFound: 'KEY_NOT_FOUND',
  Compacted: 'COMPACTED',
  StorageFull: 'STORAGE_FULL',
  LogClosed: 'LOG_CLOSED',
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

/** Rebuilds the typed error a server meant from its code and message (clients use this). */
export function errorFromCode(code: string, message: string): StrandError {
  switch (code) {
    case ErrorCode.InvalidRequest:
      return new InvalidRequestError(message);
    case ErrorCode.InvalidConfig:
      return new InvalidConfigError(message);
    case ErrorCode.CorruptBatch:
      return new CorruptBatchError(message);
    case ErrorCode.Timeout:
      return new TimeoutError(message);
    case ErrorCode.Unavailable:
      return new UnavailableError(message);
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
    case ErrorCode.LogClosed:
      return new StrandError(ErrorCode.LogClosed, message, true);
    default:
      return new StrandError(code as ErrorCode, message);
  }
}
