import { CompressionCodec, decodeBatches, encodeBatch } from '@strand/wire';
import type { PartitionLog } from '../partition-log.js';

export interface KeyedRecord {
  key: string | null;
  /** null: a tombstone. */
  value: string | null;
}

export function keyedBatch(
  records: KeyedRecord[],
  opts: {
    now?: number;
    compression?: CompressionCodec;
    producerId?: number;
    producerEpoch?: number;
    baseSequence?: number;
  } = {},
): Buffer {
  return encodeBatch(
    records.map((r) => ({ key: r.key, value: r.value, headers: { h: 'x' } })),
    {
      now: opts.now ?? 1_700_000_000_000,
      compression: opts.compression ?? CompressionCodec.None,
      ...opts,
    },
  );
}

export interface ReadRecord {
  offset: number;
  key: string | null;
  value: string | null;
}

/**
 * Every record of the log from its start, through the public read path, checking that batches
 * go forward and records come in increasing offsets. Also returns the batches' headers.
 */
export async function readAllRecords(
  log: PartitionLog,
  maxBytes = 1 << 20,
): Promise<{
  records: ReadRecord[];
  batches: { base: number; last: number; count: number; producerId: number; codec: number }[];
}> {
  const records: ReadRecord[] = [];
  const batches: {
    base: number;
    last: number;
    count: number;
    producerId: number;
    codec: number;
  }[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records: buf } = await log.read(offset, maxBytes);
    if (buf.length === 0)
      throw new Error(`no batch at or after ${offset} below ${log.logEndOffset}`);
    for (const b of decodeBatches(buf)) {
      const last = b.header.baseOffset + b.header.lastOffsetDelta;
      if (last < offset)
        throw new Error(`batch ${b.header.baseOffset}..${last} is before ${offset}`);
      batches.push({
        base: b.header.baseOffset,
        last,
        count: b.header.recordCount,
        producerId: b.header.producerId,
        codec: b.header.attributes & 0x07,
      });
      for (const r of b.records) {
        const prev = records[records.length - 1];
        if (prev && r.offset <= prev.offset)
          throw new Error(`offset ${r.offset} after ${prev.offset}`);
        records.push({
          offset: r.offset,
          key: r.key === null ? null : r.key.toString(),
          value: r.value === null ? null : r.value.toString(),
        });
      }
      offset = last + 1;
    }
  }
  return { records, batches };
}
