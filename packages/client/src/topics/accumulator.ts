import type { Bytes } from '@strand/wire';
import type { RecordHeaders } from './batch-builder.js';
import { compressBatch } from './compress.js';
import type { Partitioner, PartitionerSlot } from './partitioner.js';
import { ProducerBatch } from './producer-batch.js';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** One partition's batches: at most one open, then sealed ones in send order. */
export class PartitionQueue {
  open: ProducerBatch | undefined;
  readonly ready: ProducerBatch[] = [];
  inFlight = 0;
  /** Set after a retriable failure: the partition then sends one batch at a time, in order. */
  retrying = false;
  backoffUntil = 0;
  nextSeq = 0;
  /** The idempotent producer's next sequence number on this partition. */
  nextSequence = 0;
  /**
   * A batch with a sequence number failed for good: the leader waits for that sequence, which
   * will never come. Once nothing is in flight, the partition moves to a new epoch
   * (`epochBump`) and numbers its batches from 0 again (Kafka bumps the epoch likewise).
   */
  sequenceGap = false;
  epochBump = 0;
  /** Size of the last sealed batch: a busy partition's next batch starts that large. */
  lastBytes = 0;

  constructor(
    readonly topic: TopicState,
    readonly partition: number,
  ) {}

  /** Puts a failed batch back, ahead of every later one. */
  requeue(b: ProducerBatch): void {
    let i = 0;
    while (i < this.ready.length && this.ready[i]!.seq < b.seq) i++;
    this.ready.splice(i, 0, b);
  }
}

export class TopicState {
  readonly queues: PartitionQueue[] = [];
  readonly slot: PartitionerSlot = { sticky: -1, next: 0 };
  numPartitions = 0;

  constructor(readonly name: string) {}

  resize(n: number): void {
    for (let p = this.queues.length; p < n; p++) this.queues.push(new PartitionQueue(this, p));
    this.numPartitions = n;
  }
}

export interface AccumulatorOptions {
  lingerMs: number;
  batchBytes: number;
  bufferBytes: number;
  compression: Compression;
  /**
   * false (the default): a batch lingers only while its partition is busy (a batch of it in
   * flight or waiting to go); on an idle partition it leaves at the end of this turn of the
   * event loop, and one that lingered leaves as soon as its partition's answers are back.
   * true: every batch lingers `lingerMs` (Kafka's linger.ms).
   */
  lingerWhenIdle: boolean;
}

/**
 * Collects records into per-partition batches, seals a batch when it is full or has lingered
 * long enough, and hands sealed batches to the sender through `onReady`. It also keeps the
 * byte count behind back-pressure: bytes count from append until their batch is done.
 */
export class Accumulator {
  /** Queues that hold sealed batches not yet sent. */
  readonly readyQueues = new Set<PartitionQueue>();
  /** Every batch not yet done (for flush). */
  readonly incomplete = new Set<ProducerBatch>();
  buffered = 0;
  private readonly openQueues = new Set<PartitionQueue>();
  /** Cancels the armed linger timer; set while one is armed. */
  private lingerTimer: (() => void) | undefined;
  private writableWaiters: (() => void)[] = [];
  /** Open batches of idle partitions, sealed at the end of this turn. */
  private readonly sealSoon = new Set<PartitionQueue>();
  private sealSoonImmediate: NodeJS.Immediate | undefined;

  constructor(
    private readonly opts: AccumulatorOptions,
    private readonly partitioner: Partitioner,
    private readonly onReady: () => void,
  ) {}

  get writable(): boolean {
    return this.buffered < this.opts.bufferBytes;
  }

  whenWritable(): Promise<void> {
    if (this.writable) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /**
   * Appends a record to its partition's open batch (starting one if needed) and returns that
   * batch; the record is its `count - 1`th.
   */
  append(
    q: PartitionQueue,
    timestamp: number,
    key: Bytes | null | undefined,
    value: Bytes | null,
    headers: RecordHeaders | undefined,
  ): ProducerBatch {
    let b = q.open ?? this.start(q);
    let size = b.builder!.append(timestamp, key, value, headers);
    if (size === 0) {
      this.seal(q);
      b = this.start(q);
      size = b.builder!.append(timestamp, key, value, headers);
    }
    b.count++;
    b.timestamps.push(timestamp);
    b.bytes += size;
    this.buffered += size;
    // Seal a batch that will not take another record of the same size: no reason to wait.
    if (this.opts.batchBytes - b.builder!.bytes < size) this.seal(q);
    return b;
  }

  private start(q: PartitionQueue): ProducerBatch {
    const b = new ProducerBatch(
      q.topic.name,
      q.partition,
      q.nextSeq++,
      Date.now(),
      this.opts.batchBytes,
      q.lastBytes || undefined,
    );
    q.open = b;
    this.incomplete.add(b);
    this.openQueues.add(q);
    if (!this.lingerTimer) this.armLinger(this.opts.lingerMs);
    this.sealSoonIfIdle(q);
    return b;
  }

  /**
   * The sender got the answers of `q`'s batches in flight (or their failure): if that left it
   * idle, its open batch need not linger any longer.
   */
  answered(q: PartitionQueue): void {
    if (q.open) this.sealSoonIfIdle(q);
  }

  private sealSoonIfIdle(q: PartitionQueue): void {
    if (this.opts.lingerWhenIdle || q.inFlight > 0 || q.ready.length > 0) return;
    this.sealSoon.add(q);
    this.sealSoonImmediate ??= setImmediate(() => {
      this.sealSoonImmediate = undefined;
      for (const idle of [...this.sealSoon]) this.seal(idle);
    });
  }

  /** Seals the open batch of `q` (encoding it once, for good) and queues it for sending. */
  seal(q: PartitionQueue): void {
    const b = q.open;
    if (!b) return;
    q.open = undefined;
    this.openQueues.delete(q);
    this.sealSoon.delete(q);
    const raw = b.builder!.seal();
    q.lastBytes = raw.length;
    b.builder = undefined;
    b.data = this.opts.compression === 'none' ? raw : compressBatch(raw, this.opts.compression);
    q.ready.push(b);
    this.readyQueues.add(q);
    this.partitioner.sealed(q.partition, q.topic.numPartitions, q.topic.slot);
    this.onReady();
  }

  sealAll(): void {
    for (const q of [...this.openQueues]) this.seal(q);
  }

  /** Holds room for records not yet appended (waiting for their topic's metadata). */
  reserve(bytes: number): void {
    this.buffered += bytes;
  }

  unreserve(bytes: number): void {
    this.buffered -= bytes;
    this.wakeWriters();
  }

  /** A batch is done (acked or failed): its bytes leave the buffer. */
  release(b: ProducerBatch): void {
    this.incomplete.delete(b);
    this.buffered -= b.bytes;
    this.wakeWriters();
  }

  private wakeWriters(): void {
    if (this.writable && this.writableWaiters.length > 0) {
      const waiters = this.writableWaiters;
      this.writableWaiters = [];
      for (const w of waiters) w();
    }
  }

  private armLinger(ms: number): void {
    const fire = () => {
      this.lingerTimer = undefined;
      const now = Date.now();
      let next = Number.POSITIVE_INFINITY;
      for (const q of [...this.openQueues]) {
        const age = now - q.open!.createdAt;
        if (age >= this.opts.lingerMs) this.seal(q);
        else next = Math.min(next, this.opts.lingerMs - age);
      }
      if (next !== Number.POSITIVE_INFINITY) this.armLinger(next);
    };
    // lingerMs 0: seal at the end of this turn of the event loop, so a loop of sends shares a batch.
    if (ms <= 0) {
      const t = setImmediate(fire);
      this.lingerTimer = () => clearImmediate(t);
    } else {
      const t = setTimeout(fire, ms);
      this.lingerTimer = () => clearTimeout(t);
    }
  }

  close(): void {
    this.lingerTimer?.();
    this.lingerTimer = undefined;
    if (this.sealSoonImmediate) clearImmediate(this.sealSoonImmediate);
    this.sealSoonImmediate = undefined;
    this.sealSoon.clear();
  }
}
