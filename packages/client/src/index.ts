// @strand/client — the Strand SDK.

// The replicated KV store: versions, compare-and-set, watches, linearizable or stale reads
export {
  type Bytes,
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
  ErrorCode,
  InvalidRequestError,
  NotLeaderError,
  StrandError,
  TimeoutError,
  UnavailableError,
} from '@strand/wire';
