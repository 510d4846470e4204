/** One key of the KV store as the state machine keeps it and the KV API returns it. */
export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  /** Puts since the key was (re)created; 0 for a deleted key. */
  version: number;
  lease: number;
}
