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
