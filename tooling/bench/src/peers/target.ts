/** One system under test in the topic benchmark: Strand or a peer, already started. */
export interface TopicTarget {
  readonly name: string;
  /** One line on how it runs (version, durability settings, client), for the report. */
  readonly describe: string;
  /** Creates an empty topic (a stream) named `topic`. */
  createTopic(topic: string): Promise<void>;
  /**
   * Produces `count` records holding `value` as fast as the client takes them and resolves once
   * every one is acknowledged; stops issuing new ones after `deadline` (performance.now()) and
   * returns how many were produced.
   */
  produce(topic: string, value: Buffer, count: number, deadline: number): Promise<number>;
  /**
   * Reads the topic from its beginning until `count` records were seen (or `deadline`);
   * returns the records and the value bytes seen.
   */
  consume(
    topic: string,
    count: number,
    deadline: number,
  ): Promise<{ records: number; bytes: number }>;
  /**
   * A one-record-at-a-time sender for the latency run: each promise resolves on the ack.
   * Absent when the target's produce path has no per-record acknowledgement to time.
   */
  sender?(
    topic: string,
    value: Buffer,
  ): Promise<{ send(): Promise<unknown>; close(): Promise<void> }>;
  /** Releases clients and stops the processes this target started. */
  close(): Promise<void>;
}

/** A KV system under test in the KV benchmark: clients that put one key each call. */
export interface KvTarget {
  readonly name: string;
  /** One line on how it runs (version, durability, client), for the report. */
  readonly describe: string;
  /** One writer per channel; a put resolves once the write is committed by a quorum. */
  readonly channels: ReadonlyArray<{ put(key: string, value: string): Promise<unknown> }>;
  /** The server processes by role (say, leader and followers), for CPU per write. */
  serverRoles(): Promise<KvRole[]>;
  close(): Promise<void>;
}

/** Server processes of one role in a KV target. */
export interface KvRole {
  readonly role: string;
  readonly pids: readonly number[];
}

/** A system that could not run here, with the reason. */
export class Skipped extends Error {}
