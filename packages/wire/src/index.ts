// @strand/wire — formats shared by every Strand package.

// Errors with stable codes
export * from './errors/errors.js';

// RecordBatch v2: header view, CRC32C, in-place patching
export * from './batch/header.js';

// RecordBatch v2: records, encode/decode, compression (none, gzip, snappy, lz4, zstd)
export * from './batch/codec.js';
export type { RawRecord, RecordHeader } from './batch/records.js';
// Rewriting a batch with fewer records (the log cleaner), keyless-record checks (compacted topics)
export { firstKeylessRecord, type RawBatch, readRawBatch, rebuildBatch } from './batch/rewrite.js';
export { DEFAULT_MAX_DECOMPRESSED } from './compression/codecs.js';
export { varintSize, writeVarint } from './batch/varint.js';

// The KV store's key record, shared by the state machine and the SDK
export type { KeyValue } from './kv/key-value.js';
// KV backup files (strand kv snapshot save / restore): framed, versioned, SHA-256 checked
export {
  readSnapshotFile,
  SNAPSHOT_FILE_VERSION,
  SnapshotFileReader,
  type SnapshotFileHeader,
  snapshotFileChunks,
} from './kv/snapshot-file.js';

// Kafka's default partitioner (murmur2)
export * from './partition/murmur2.js';

// gRPC: the KV/Cluster/Raft, broker and group protos (loaded at run time) and the one error <-> status mapping
export {
  type BrokerServiceName,
  brokerService,
  type GroupServiceName,
  groupService,
  kvService,
  PROTO_DIR,
  type ProtoFile,
  protoDefinition,
  type SecurityServiceName,
  type ServiceName,
  securityService,
} from './rpc/load.js';
export {
  type ErrorFields,
  fromErrorFields,
  fromGrpcError,
  type GrpcServerError,
  toErrorFields,
  toGrpcError,
} from './rpc/errors.js';
export { parseRequest, type UnaryHandler, unaryHandler } from './rpc/serve.js';
export {
  type ChannelSecurity,
  ClientTls,
  channelCredentials,
  channelOptions,
  type ListenerKind,
  serverCredentials,
  type TlsOptions,
} from './rpc/credentials.js';
// TLS: a node's certificate files (reloaded), the listeners' TLS termination
export {
  checkMaterial,
  commonName,
  TLS_CLIENT_AUTH,
  TLS_FLAGS,
  type TlsClientAuth,
  TlsConfigShape,
  TlsFiles,
  type TlsMaterial,
  type TlsPaths,
  tlsPathsProblem,
} from './rpc/tls.js';
export { type ListenerTls, verifiedPeerName } from './rpc/tls-accept.js';
export { type LogSink, throttledLog } from './rpc/throttled-log.js';
export {
  CONNECTION_LIMIT_FLAGS,
  ConnectionGate,
  type ConnectionLimits,
  ConnectionLimitsSchema,
  type GatedListener,
  grpcServerOptions,
  type ListenOptions,
  listenGated,
  listenSockets,
} from './rpc/gate.js';
export {
  BULK_OPTIONS,
  ClientPool,
  DEFAULT_CONNECT_TIMEOUT_MS,
  RECONNECT_OPTIONS,
  type RpcClient,
  type UnaryCall,
  whenConnected,
} from './rpc/clients.js';
export {
  type BatchMethod,
  MAX_BATCH_BYTES,
  MAX_BATCH_REQUESTS,
  type Outcome,
} from './rpc/coalesce.js';
export { type BreakError, type Matched, MatchedStream } from './rpc/matched-stream.js';
export { LeaderCaller, type LeaderCallerOptions } from './rpc/leader-caller.js';

// Topics: names, per-topic configs (Kafka's names and defaults), the metadata records in the KV store
export * from './topic/topic-config.js';
export * from './topic/metadata.js';
export { brokerInfo, partitionInfo, topicInfo } from './topic/info.js';

// Consumer groups: group ids, their records and committed offsets in the KV store
export * from './group/group-keys.js';
export * from './group/offset-record.js';
// Offset commits many to a call: how a client pool batches CommitOffsets and ClassicCommitOffsets
export { CLASSIC_COMMIT_BATCH, COMMIT_OFFSETS_BATCH } from './group/commit-batch.js';
// Kafka's "consumer" protocol: the subscriptions and assignments inside Kafka groups' opaque bytes
export * from './group/consumer-protocol.js';
// App config: flags over environment over a JSON file, checked by a schema
export {
  type ConfigField,
  commaList,
  HostPortSchema,
  loadLayeredConfig,
} from './config/layered.js';
