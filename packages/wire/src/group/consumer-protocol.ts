/**
 * Kafka's "consumer" group protocol: what Kafka consumers put in the opaque member metadata of
 * JoinGroup (their subscription) and in the assignments of SyncGroup. The group coordinator
 * never depends on it; it reads it only to show Kafka groups' members like Strand's own.
 * Layouts per Kafka's ConsumerProtocolSubscription / ConsumerProtocolAssignment schemas
 * (classic encoding, never flexible); fields of versions newer than these are ignored, as
 * Kafka's own consumers do.
 */

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface TopicPartitionList {
  topic: string;
  partitions: number[];
}

export interface ConsumerSubscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  /** v1+: what the member holds now (cooperative rebalancing). */
  ownedPartitions: TopicPartitionList[];
}

export interface ConsumerAssignment {
  version: number;
  partitions: TopicPartitionList[];
  userData: Buffer | null;
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): number {
    if (n < 0 || this.at + n > this.buf.length) throw new RangeError('truncated');
    const at = this.at;
    this.at += n;
    return at;
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  string(): string {
    const len = this.int16();
    if (len < 0) throw new RangeError('null string');
    return this.buf.toString('utf8', this.need(len), this.at);
  }
  bytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) return null;
    const at = this.need(len);
    return Buffer.from(this.buf.subarray(at, at + len));
  }
  array<T>(item: () => T): T[] {
    const n = this.int32();
    if (n < 0) return [];
    // Every item takes at least one byte: a count beyond what is left is a lie.
    if (n > this.buf.length - this.at) throw new RangeError('array count beyond the end');
    return Array.from({ length: n }, item);
  }
  get done(): boolean {
    return this.at >= this.buf.length;
  }
}

function topicPartitions(r: Reader): TopicPartitionList {
  return { topic: r.string(), partitions: r.array(() => r.int32()) };
}

/** A consumer's subscription, or undefined when the bytes are not one. */
export function decodeConsumerSubscription(buf: Buffer): ConsumerSubscription | undefined {
  try {
    const r = new Reader(buf);
    const version = r.int16();
    if (version < 0) return undefined;
    const topics = r.array(() => r.string());
    const userData = r.bytes();
    const ownedPartitions = version >= 1 && !r.done ? r.array(() => topicPartitions(r)) : [];
    return { version, topics, userData, ownedPartitions };
  } catch {
    return undefined;
  }
}

/** A consumer's assignment, or undefined when the bytes are not one (empty bytes: nothing). */
export function decodeConsumerAssignment(buf: Buffer): ConsumerAssignment | undefined {
  if (buf.length === 0) return { version: 0, partitions: [], userData: null };
  try {
    const r = new Reader(buf);
    const version = r.int16();
    if (version < 0) return undefined;
    const partitions = r.array(() => topicPartitions(r));
    const userData = r.done ? null : r.bytes();
    return { version, partitions, userData };
  } catch {
    return undefined;
  }
}

class Writer {
  private readonly parts: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.int16(b.length);
    this.parts.push(b);
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.parts.push(b);
    return this;
  }
  array<T>(items: T[], item: (x: T) => void): this {
    this.int32(items.length);
    for (const x of items) item(x);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function writeTopicPartitions(w: Writer, list: TopicPartitionList[]): void {
  w.array(list, (t) => {
    w.string(t.topic);
    w.array(t.partitions, (p) => w.int32(p));
  });
}

/** A subscription as a consumer sends it (v0, or v1 with owned partitions). */
export function encodeConsumerSubscription(
  s: Omit<ConsumerSubscription, 'version'> & { version?: 0 | 1 },
): Buffer {
  const version = s.version ?? (s.ownedPartitions.length > 0 ? 1 : 0);
  const w = new Writer().int16(version);
  w.array(s.topics, (t) => w.string(t));
  w.bytes(s.userData);
  if (version >= 1) writeTopicPartitions(w, s.ownedPartitions);
  return w.done();
}

/** An assignment as a group leader sends it (v0). */
export function encodeConsumerAssignment(a: Omit<ConsumerAssignment, 'version'>): Buffer {
  const w = new Writer().int16(0);
  writeTopicPartitions(w, a.partitions);
  return w.bytes(a.userData).done();
}
