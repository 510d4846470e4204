import { BatchBuilder } from './batch-builder.js';
import type { RecordMetadata } from './types.js';

/**
 * A batch of records for one partition: open (records being appended), sealed (encoded,
 * waiting or in flight), then done. One deferred per batch; each record's promise is
 * `promise.then(metadata)`, so a batch's outcome settles all its records at once.
 */
export class ProducerBatch {
  builder: BatchBuilder | undefined;
  /** The encoded batch, once sealed. */
  data: Buffer | undefined;
  count = 0;
  bytes = 0;
  attempts = 0;
  /** The producer epoch its bytes carry, once stamped (a retry at that epoch resends them). */
  stampedEpoch: number | undefined;
  /**
   * Set when an attempt at `stampedEpoch` ended without an answer that says it was not written
   * (no answer, a timeout, the ISR shrinking after the append): the log may hold it. Such a
   * batch is resent only with the bytes it had, which the leader recognises; renumbered at a
   * new epoch it would be written a second time. Never cleared: OUT_OF_ORDER_SEQUENCE does not
   * say the log lacks it (a leader also answers that to retried batches it has, sent together
   * with new ones or with batches not written next to them).
   */
  maybeWritten: Error | undefined;
  done = false;
  /** Each record's timestamp, in append order. */
  readonly timestamps: number[] = [];
  /** Indexes of the records that asked for `promise.then(metadata)`, in the order they asked. */
  private readonly expecting: number[] = [];
  private answered = 0;
  readonly promise: Promise<number>;
  private resolveFn!: (baseOffset: number) => void;
  private rejectFn!: (err: Error) => void;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** Order of the batch within its partition: retries go back in this order. */
    readonly seq: number,
    readonly createdAt: number,
    limit: number,
    capacity?: number,
  ) {
    this.builder = new BatchBuilder(limit, capacity);
    this.promise = new Promise<number>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
  }

  /**
   * The RecordMetadata of the next record, for `promise.then(batch.metadata)`: reactions to
   * one promise run in the order they were added, i.e. in append order, so a counter tells
   * each call its record. One function per batch instead of a closure per record: with
   * hundreds of thousands of records in flight, per-record garbage is what limits throughput.
   */
  readonly metadata = (baseOffset: number): RecordMetadata =>
    this.recordMetadata(baseOffset, this.expecting[this.answered++]!);

  /** Record `index`'s promise is `promise.then(metadata)`, registered right after this call. */
  expect(index: number): void {
    this.expecting.push(index);
  }

  /** The metadata of record `index` (for callers that await the batch itself). */
  recordMetadata(baseOffset: number, index: number): RecordMetadata {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: baseOffset < 0 ? -1 : baseOffset + index,
      timestamp: this.timestamps[index]!,
    };
  }

  /** baseOffset of the first record; -1 when unknown (acks=0). */
  resolve(baseOffset: number): void {
    this.done = true;
    this.resolveFn(baseOffset);
  }

  reject(err: Error): void {
    this.done = true;
    this.rejectFn(err);
  }
}
