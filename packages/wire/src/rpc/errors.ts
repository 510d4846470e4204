import * as grpc from '@grpc/grpc-js';
import {
  AuthenticationFailedError,
  CompactedError,
  ErrorCode,
  errorFromCode,
  InvalidRequestError,
  isNoSpaceError,
  MemberIdRequiredError,
  NotLeaderError,
  StorageFullError,
  StrandError,
  TimeoutError,
  TransportSecurityError,
  UnavailableError,
} from '../errors/errors.js';

/** The one mapping between Strand error codes and gRPC status codes. */
const STATUS: Record<string, grpc.status> = {
  [ErrorCode.InvalidRequest]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.InvalidConfig]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.CorruptBatch]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.InvalidRecord]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.UnsupportedCompression]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.RecordTooLarge]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.OffsetOutOfRange]: grpc.status.OUT_OF_RANGE,
  [ErrorCode.OffsetNotAvailable]: grpc.status.UNAVAILABLE,
  [ErrorCode.Compacted]: grpc.status.OUT_OF_RANGE,
  [ErrorCode.UnknownTopic]: grpc.status.NOT_FOUND,
  [ErrorCode.UnknownPartition]: grpc.status.NOT_FOUND,
  [ErrorCode.TopicExists]: grpc.status.ALREADY_EXISTS,
  [ErrorCode.InvalidReplicationFactor]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.StaleBrokerEpoch]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.NotEnoughReplicas]: grpc.status.UNAVAILABLE,
  [ErrorCode.FencedLeaderEpoch]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.OutOfOrderSequence]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.ProducerFenced]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.KeyNotFound]: grpc.status.NOT_FOUND,
  [ErrorCode.LeaseNotFound]: grpc.status.NOT_FOUND,
  [ErrorCode.NotLeader]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.Unavailable]: grpc.status.UNAVAILABLE,
  [ErrorCode.Timeout]: grpc.status.DEADLINE_EXCEEDED,
  [ErrorCode.StorageFull]: grpc.status.RESOURCE_EXHAUSTED,
  [ErrorCode.LogClosed]: grpc.status.UNAVAILABLE,
  [ErrorCode.UnknownGroup]: grpc.status.NOT_FOUND,
  [ErrorCode.UnknownMemberId]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.StaleGeneration]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.RebalanceInProgress]: grpc.status.ABORTED,
  [ErrorCode.GroupNotEmpty]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.NoCommittedOffset]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.MemberIdRequired]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.FencedInstanceId]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.InconsistentGroupProtocol]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.InvalidSessionTimeout]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.OffsetMetadataTooLarge]: grpc.status.INVALID_ARGUMENT,
  [ErrorCode.ReservedKey]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.InconsistentClusterId]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.DuplicateBrokerRegistration]: grpc.status.ALREADY_EXISTS,
  [ErrorCode.AuthenticationFailed]: grpc.status.UNAUTHENTICATED,
  [ErrorCode.TopicAuthorizationFailed]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.GroupAuthorizationFailed]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.ClusterAuthorizationFailed]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.KeyAuthorizationFailed]: grpc.status.PERMISSION_DENIED,
  [ErrorCode.UserExists]: grpc.status.ALREADY_EXISTS,
  [ErrorCode.UnknownUser]: grpc.status.NOT_FOUND,
  [ErrorCode.Unimplemented]: grpc.status.UNIMPLEMENTED,
  [ErrorCode.TransportSecurity]: grpc.status.UNAVAILABLE,
  [ErrorCode.CorruptSnapshot]: grpc.status.DATA_LOSS,
  [ErrorCode.UnknownMember]: grpc.status.NOT_FOUND,
  [ErrorCode.MemberExists]: grpc.status.ALREADY_EXISTS,
  [ErrorCode.MembershipRefused]: grpc.status.FAILED_PRECONDITION,
  [ErrorCode.Internal]: grpc.status.INTERNAL,
};

export type GrpcServerError = Partial<grpc.StatusObject> & {
  code: grpc.status;
  details: string;
  metadata: grpc.Metadata;
};

/** A Strand error as plain fields (the KvError message of streamed responses). */
export interface ErrorFields {
  code: string;
  message: string;
  leader_id?: number;
  leader_address?: string;
  compact_revision?: number;
}

/** Any thrown value as the Strand error it means: a full disk anywhere is STORAGE_FULL. */
function asStrandError(err: unknown): StrandError {
  if (err instanceof StrandError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isNoSpaceError(err)) return new StorageFullError(message);
  return new StrandError(ErrorCode.Internal, message);
}

export function toErrorFields(err: unknown): ErrorFields {
  const strand = asStrandError(err);
  return {
    code: strand.code,
    message: strand.message,
    ...(strand instanceof NotLeaderError
      ? { leader_id: strand.leaderId ?? 0, leader_address: strand.leaderAddress ?? '' }
      : {}),
    ...(strand instanceof CompactedError ? { compact_revision: strand.compactRevision } : {}),
  };
}

export function fromErrorFields(f: ErrorFields): StrandError {
  switch (f.code) {
    case ErrorCode.NotLeader:
      return new NotLeaderError(f.leader_id || undefined, f.leader_address || undefined, f.message);
    case ErrorCode.Compacted:
      return new CompactedError(f.compact_revision ?? 0);
    default:
      return errorFromCode(f.code, f.message);
  }
}

/** The longest error message a gRPC answer carries. */
const MAX_DETAILS = 1024;

/** For servers: any thrown value becomes a gRPC error carrying the Strand code in metadata. */
export function toGrpcError(err: unknown): GrpcServerError {
  const strand = asStrandError(err);
  const metadata = new grpc.Metadata();
  metadata.set('strand-code', strand.code);
  if (strand instanceof NotLeaderError) {
    if (strand.leaderId) metadata.set('strand-leader-id', String(strand.leaderId));
    if (strand.leaderAddress) metadata.set('strand-leader-address', strand.leaderAddress);
  }
  if (strand instanceof CompactedError)
    metadata.set('strand-compact-revision', String(strand.compactRevision));
  if (strand instanceof MemberIdRequiredError) metadata.set('strand-member-id', strand.memberId);
  // The message travels in a trailer: an echo of a huge bad input must not outgrow the peer's
  // header limit (its client then sees only a protocol error, not the typed one).
  const details =
    strand.message.length > MAX_DETAILS
      ? `${strand.message.slice(0, MAX_DETAILS)}…`
      : strand.message;
  return { code: STATUS[strand.code] ?? grpc.status.INTERNAL, details, metadata };
}

function meta(err: grpc.ServiceError, key: string): string | undefined {
  const v = err.metadata?.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/** For clients: a gRPC error becomes the typed StrandError the server meant. */
export function fromGrpcError(err: unknown): StrandError {
  if (err instanceof StrandError) return err;
  const e = err as grpc.ServiceError;
  if (typeof e?.code !== 'number') return new StrandError(ErrorCode.Internal, String(err));
  const code = meta(e, 'strand-code');
  const message = e.details || e.message;
  switch (code) {
    case ErrorCode.NotLeader: {
      const id = meta(e, 'strand-leader-id');
      return new NotLeaderError(
        id ? Number(id) : undefined,
        meta(e, 'strand-leader-address'),
        message,
      );
    }
    case ErrorCode.Compacted:
      return new CompactedError(Number(meta(e, 'strand-compact-revision') ?? 0));
    case ErrorCode.MemberIdRequired:
      return new MemberIdRequiredError(meta(e, 'strand-member-id') ?? '', message);
    case undefined:
      break;
    default:
      return errorFromCode(code, message);
  }
  // No Strand code: a transport-level failure, or one of the client's own call credentials.
  if (e.code === grpc.status.UNAUTHENTICATED)
    return new AuthenticationFailedError(message.replace(PLUGIN_PREFIX, ''));
  if (e.code === grpc.status.UNAVAILABLE) {
    const tls = tlsProblem(message);
    return tls ? new TransportSecurityError(tls) : new UnavailableError(`unreachable: ${message}`);
  }
  if (e.code === grpc.status.DEADLINE_EXCEEDED)
    return new TimeoutError(`deadline exceeded: ${message}`);
  if (e.code === grpc.status.INVALID_ARGUMENT) return new InvalidRequestError(message);
  if (e.code === grpc.status.UNIMPLEMENTED)
    return new StrandError(ErrorCode.Unimplemented, message);
  return new StrandError(ErrorCode.Internal, message);
}

/** How grpc-js words a failure of the client's call credentials (the SDK's token source). */
const PLUGIN_PREFIX = 'Getting metadata from plugin failed with error: ';

/** What TLS failures (OpenSSL's words, as grpc-js passes them on) mean for the user. */
const TLS_PROBLEMS: ReadonlyArray<[RegExp, string]> = [
  [
    /self[- ]signed certificate|unable to (verify the first|get local issuer) certificate|certificate signature failure/i,
    "the server's certificate is not signed by the CA this client trusts (the tls ca option, --tls-ca)",
  ],
  [
    /does not match certificate's altnames/i,
    "the server's certificate is not for the address dialled",
  ],
  [
    /certificate has expired|certificate is not yet valid/i,
    "the server's certificate is expired or not yet valid",
  ],
  [
    /certificate required|alert number 116|peer did not return a certificate/i,
    'the server requires a client certificate (the tls cert and key options, --tls-cert and --tls-key)',
  ],
  [
    /alert (bad certificate|unknown ca)|alert number (42|48)/i,
    "the server refused this client's certificate (is it signed by the cluster's CA?)",
  ],
  [
    /before secure TLS connection was established|wrong version number|packet length too long|http_request/i,
    'the server does not speak TLS here: is it a plaintext port? (dial it without tls)',
  ],
];

function tlsProblem(message: string): string | undefined {
  const hit = TLS_PROBLEMS.find(([pattern]) => pattern.test(message));
  return hit ? `${hit[1]}: ${message}` : undefined;
}
