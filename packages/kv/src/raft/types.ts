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

export const MessageType = {
  Hup: 0,
  PreVote: 1,
  PreVoteResp: 2,
  Vote: 3,
  VoteResp: 4,
  App: 5,
  AppResp: 6,
  Heartbeat: 7,
  HeartbeatResp: 8,
  Snap: 9,
  ReadIndex: 10,
  ReadIndexResp: 11,
  TimeoutNow: 12,
  TransferLeader: 13,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** A Raft message. Fields a type does not use are 0 / empty. */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: term of the entry before `entries`; votes: candidate's last log term; AppResp reject: term at rejectHint. */
  logTerm: number;
  /** App: index of the entry before `entries`; votes: candidate's last index; AppResp: match index or rejected index. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot?: Snapshot;
  /** ReadIndex request context (opaque), echoed in heartbeats and responses. */
  context?: Uint8Array;
}

export const Role = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface SoftState {
  leader: NodeId;
  role: Role;
}

export interface ReadState {
  /** The commit index at the time of the request: once applied >= index, a read is linearizable. */
  index: number;
  context: Uint8Array;
}

/**
 * One change at a time, in effect once applied. AddLearner: a new member that gets the log and
 * snapshots but neither votes nor counts for commit; AddNode: a voter (a learner's promotion).
 */
export const ConfChangeType = { AddNode: 0, RemoveNode: 1, AddLearner: 2 } as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to Raft (e.g. the node's address), carried to the driver when applied. */
  context?: Uint8Array;
}

/** Work handed to the driver: persist, send, apply, then call advance(). */
export interface Ready {
  softState?: SoftState;
  /** Persist (synced when mustSync) before sending messages. */
  hardState?: HardState;
  /** New or rewritten log entries to persist (overwriting any suffix from their first index). */
  entries: Entry[];
  /** A snapshot received from the leader: persist it and restore the state machine from it. */
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  mustSync: boolean;
}
