// @strand/kv — the replicated key-value store.

// The pure Raft core: no I/O, no clock, no randomness of its own
export * from './raft/types.js';
export {
  RaftNode,
  type RaftConfig,
  type RaftInitialState,
  type RaftStatus,
  encodeConfChange,
  decodeConfChange,
} from './raft/raft.js';
export {
  decodeEntries,
  decodeEntry,
  decodeMessage,
  decodeSnapshot,
  encodeEntries,
  encodeEntry,
  encodeMessage,
  encodeSnapshot,
} from './raft/codec.js';

// The deterministic simulator (seeded, virtual clock, faulty network, crashes)
export {
  type Faults,
  type SimOptions,
  type SimResult,
  Simulation,
  simulate,
} from './sim/simulator.js';

// Storage on RocksDB and the versioned KV state machine
export { KvDb, prefixEnd } from './storage/db.js';
export { RaftLogStore } from './storage/raft-store.js';
export type { Compare, KvCommand, KvOp, RowOp } from './store/command.js';
export {
  decodeKvCommand,
  ENTRY_VERSION,
  encodeKvCommand,
  encodeKvCommands,
  UnsupportedFormatError,
} from './store/command-codec.js';
export { type KeyValue, type KvResult, KvStateMachine, type WatchEvent } from './store/kv-store.js';

// The node that drives it all (transport supplied by the coordinator app)
export {
  KvNode,
  type KvNodeEvents,
  type KvNodeOptions,
  type KvNodeStats,
  type NodeHeader,
  type NodeStatus,
  type Transport,
} from './node/kv-node.js';
export { type MemberInfo, MEMBERS_PREFIX } from './node/members.js';
