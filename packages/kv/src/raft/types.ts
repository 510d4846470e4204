/**
 * Types shared by the pure Raft core, its storage and the driver. Nothing here does I/O.
 * Node ids are positive integers; 0 means "none" (no vote, no leader).
 */
export type NodeId = number;
export const NONE: NodeId = 0;

export const EntryType = { Normal: 0, ConfChange: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque command bytes (empty for the no-op a new leader appends). */
  data: Uint8Array;
}

/** Must be persisted (synced) before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** The state machine's serialized state at metadata.index. */
  data: Uint8Array;
}
