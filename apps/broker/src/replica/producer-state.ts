import type { PartitionLog } from '@strand/log';
import {
  type BatchHeader,
  OutOfOrderSequenceError,
  ProducerFencedError,
  splitBatches,
} from '@strand/wire';

interface SeenBatch {
  firstSeq: number;
  lastSeq: number;
  /** The batch's base offset, once written (a promise while its append is in flight). */
  baseOffset: Promise<number>;
  /** The same, known synchronously once written. */
  written: number | undefined;
}

/** One producer's state as plain data: recent batches are [firstSeq, lastSeq, baseOffset]. */
export interface ProducerSnapshotEntry {
  id: number;
  epoch: number;
  nextSeq: number;
  recent: [number, number, number][];
}

interface ProducerEntry {
  epoch: number;
  /** The next sequence this producer must send: what keeps a batch from being written twice. */
  nextSeq: number;
  /** The newest batches, oldest first: a retry of one of them is answered, not written. */
  recent: SeenBatch[];
}

/**
 * How many batches per producer are remembered for duplicate detection: Kafka keeps 5 (its
 * limit of batches in flight); this client may have more in flight per partition.
 */
const RECENT = 64;

export type Admission = { written: (baseOffset: number) => void; failed: () => void };

/**
 * Idempotent producers on one partition: per producer id, its epoch, the next sequence number
 * it must send, and its newest batches. The leader admits a batch only if it starts at that
 * sequence; a batch it already has (a retry after a lost answer) gets the original offset and
 * is not written again. Followers record the same headers as they copy the log, so a new
 * leader knows them; a producer the partition has never seen may start anywhere.
 */
export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  /**
   * The original offset when `h` is a batch this partition already has (pending or written);
   * undefined when it is new or not idempotent. Changes nothing.
   */
  duplicateOf(h: BatchHeader): Promise<number> | undefined {
    if (h.producerId < 0) return undefined;
    const entry = this.producers.get(h.producerId);
    if (!entry || entry.epoch !== h.producerEpoch) return undefined;
    const lastSeq = h.baseSequence + h.lastOffsetDelta;
    return entry.recent.find((b) => b.firstSeq === h.baseSequence && b.lastSeq === lastSeq)
      ?.baseOffset;
  }

  /** Leader side, before the append, for a batch that is not a duplicate. Throws to refuse it. */
  admit(h: BatchHeader): Admission | undefined {
    if (h.producerId < 0) return undefined;
    const firstSeq = h.baseSequence;
    const lastSeq = h.baseSequence + h.lastOffsetDelta;
    let entry = this.producers.get(h.producerId);
    if (entry && h.producerEpoch < entry.epoch)
      throw new ProducerFencedError(
        `producer ${h.producerId} epoch ${h.producerEpoch} is older than ${entry.epoch}`,
      );
    if (entry && h.producerEpoch === entry.epoch && firstSeq !== entry.nextSeq)
      throw new OutOfOrderSequenceError(
        `producer ${h.producerId}: batch starts at sequence ${firstSeq}, expected ${entry.nextSeq}`,
      );
    if (!entry || h.producerEpoch > entry.epoch) {
      entry = { epoch: h.producerEpoch, nextSeq: firstSeq, recent: [] };
      this.producers.set(h.producerId, entry);
    }
    let resolve!: (n: number) => void;
    let reject!: (e: Error) => void;
    const seen: SeenBatch = {
      firstSeq,
      lastSeq,
      baseOffset: new Promise<number>((res, rej) => {
        resolve = res;
        reject = rej;
      }),
      written: undefined,
    };
    seen.baseOffset.catch(() => undefined);
    this.remember(entry, seen);
    const owner = entry;
    return {
      written: (baseOffset) => {
        seen.written = baseOffset;
        resolve(baseOffset);
      },
      failed: () => {
        // Not written: the producer must send this sequence again.
        owner.recent = owner.recent.filter((b) => b !== seen);
        owner.nextSeq = Math.min(owner.nextSeq, firstSeq);
        reject(new OutOfOrderSequenceError('the batch was not written'));
      },
    };
  }

  /** Follower side (and log recovery): a batch already in the log. */
  record(h: BatchHeader, baseOffset: number): void {
    if (h.producerId < 0) return;
    let entry = this.producers.get(h.producerId);
    if (!entry || h.producerEpoch > entry.epoch) {
      entry = { epoch: h.producerEpoch, nextSeq: 0, recent: [] };
      this.producers.set(h.producerId, entry);
    }
    if (h.producerEpoch < entry.epoch) return;
    const lastSeq = h.baseSequence + h.lastOffsetDelta;
    this.remember(entry, {
      firstSeq: h.baseSequence,
      lastSeq,
      baseOffset: Promise.resolve(baseOffset),
      written: baseOffset,
    });
  }

  clear(): void {
    this.producers.clear();
  }

  /** Every producer's state as plain data; undefined while some admitted batch is unwritten. */
  snapshot(): ProducerSnapshotEntry[] | undefined {
    const out: ProducerSnapshotEntry[] = [];
    for (const [id, e] of this.producers) {
      const recent: [number, number, number][] = [];
      for (const b of e.recent) {
        if (b.written === undefined) return undefined;
        recent.push([b.firstSeq, b.lastSeq, b.written]);
      }
      out.push({ id, epoch: e.epoch, nextSeq: e.nextSeq, recent });
    }
    return out;
  }

  static fromSnapshot(entries: readonly ProducerSnapshotEntry[]): ProducerStateTable {
    const table = new ProducerStateTable();
    for (const e of entries)
      table.producers.set(e.id, {
        epoch: e.epoch,
        nextSeq: e.nextSeq,
        recent: e.recent.map(([firstSeq, lastSeq, baseOffset]) => ({
          firstSeq,
          lastSeq,
          baseOffset: Promise.resolve(baseOffset),
          written: baseOffset,
        })),
      });
    return table;
  }

  private remember(entry: ProducerEntry, seen: SeenBatch): void {
    entry.recent.push(seen);
    if (entry.recent.length > RECENT) entry.recent.shift();
    entry.nextSeq = Math.max(entry.nextSeq, seen.lastSeq + 1);
  }
}

/**
 * Idempotent producers' state from the batch headers of the newest segment: enough to
 * recognise a retry of anything a producer could still be retrying after a restart.
 */
export async function recoverProducers(log: PartitionLog): Promise<ProducerStateTable> {
  const table = new ProducerStateTable();
  const segments = log.segmentInfo();
  // The last two segments: a roll just before a crash must not hide the newest batches.
  const from = segments[Math.max(0, segments.length - 2)]?.baseOffset ?? 0;
  let offset = Math.max(log.logStartOffset, from);
  while (offset < log.writtenOffset) {
    const { records } = await log.read(offset, 4 * 1024 * 1024);
    const batches = splitBatches(records, false);
    if (batches.length === 0) break;
    for (const b of batches) {
      table.record(b.header, b.header.baseOffset);
      offset = b.header.baseOffset + b.header.lastOffsetDelta + 1;
    }
  }
  return table;
}
