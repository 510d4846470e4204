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
  /** A lower bound of the offset it is written at: the log's end when it was admitted. */
  floor: number;
}

/** One producer's state as plain data: recent batches are [firstSeq, lastSeq, baseOffset]. */
export interface ProducerSnapshotEntry {
  id: number;
  epoch: number;
  nextSeq: number;
  recent: [number, number, number][];
}

/** Producers' state as of one log offset: every batch below it counted, none above. */
export interface ProducerCheckpoint {
  offset: number;
  producers: ProducerSnapshotEntry[];
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

  /**
   * Leader side, before the append, for a batch that is not a duplicate. Throws to refuse it.
   * `floor` is the log's written end now: the batch lands at or above it.
   */
  admit(h: BatchHeader, floor = 0): Admission | undefined {
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
      floor,
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
      floor: baseOffset,
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

  /**
   * The state as of an offset at most `end` (the log's written end), taken while batches may
   * be in flight: one still being written may land anywhere from its floor, so the checkpoint
   * stops below the lowest such floor, and leaves out every batch at or above where it stops.
   * Replaying the log from there gives back the whole state.
   */
  checkpoint(end: number): ProducerCheckpoint {
    let offset = end;
    for (const e of this.producers.values())
      for (const b of e.recent) if (b.written === undefined) offset = Math.min(offset, b.floor);
    const producers: ProducerSnapshotEntry[] = [];
    for (const [id, e] of this.producers) {
      const recent: [number, number, number][] = [];
      let nextSeq = e.nextSeq;
      for (const b of e.recent) {
        if (b.written === undefined || b.written >= offset) {
          // Sequences run on without gaps: this batch is the next one the producer owes.
          nextSeq = b.firstSeq;
          break;
        }
        recent.push([b.firstSeq, b.lastSeq, b.written]);
      }
      producers.push({ id, epoch: e.epoch, nextSeq, recent });
    }
    return { offset, producers };
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
          floor: baseOffset,
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
 * Idempotent producers' state from the batch headers in the log: from `start` (a checkpoint
 * of the state as of some offset) on, else from the log's start. Every producer whose newest
 * batch is still in the log is found: a compacted log keeps each producer's newest batch, so
 * a retry after a crash is recognised however long ago the producer last wrote.
 */
export async function recoverProducers(
  log: PartitionLog,
  start?: ProducerCheckpoint,
): Promise<ProducerStateTable> {
  const table = start ? ProducerStateTable.fromSnapshot(start.producers) : new ProducerStateTable();
  let offset = Math.max(log.logStartOffset, start?.offset ?? 0);
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
