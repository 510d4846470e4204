import { compress, DEFAULT_MAX_DECOMPRESSED, decompress } from '../compression/codecs.js';
import {
  BATCH_HEADER_SIZE,
  type BatchHeader,
  batchSize,
  compressionOf,
  readBatchHeader,
  verifyBatchCrc,
  writeBatchHeader,
} from './header.js';
import { decodeRecords, encodeRecords, type RawRecord } from './records.js';

const LOG_APPEND_TIME = 0x08;

/** A batch's header and its records as stored (deltas, attributes, headers untouched). */
export interface RawBatch {
  header: BatchHeader;
  records: RawRecord[];
}

/** Decodes the batch at `pos` into raw records, CRC checked (CorruptBatchError otherwise). */
export function readRawBatch(
  buf: Buffer,
  pos = 0,
  maxDecompressed = DEFAULT_MAX_DECOMPRESSED,
): RawBatch {
  const header = readBatchHeader(buf, pos);
  verifyBatchCrc(buf, header, pos);
  const body = buf.subarray(pos + BATCH_HEADER_SIZE, pos + batchSize(header));
  const records = decodeRecords(
    decompress(compressionOf(header), body, maxDecompressed),
    header.recordCount,
  );
  return { header, records };
}

/**
 * The same batch holding only `kept` (a subset of its records, in order): base offset, last
 * offset delta, attributes (codec, timestamp type), base timestamp, leader epoch and the
 * producer's id, epoch and base sequence stay as they were, so offsets, sequence numbers and
 * the producer-state rebuild see the batch as before. The max timestamp is that of the kept
 * records (the original's when none is kept or under LogAppendTime). `kept` may be empty: an
 * empty batch keeps a producer's last sequence or a segment's last offset.
 */
export function rebuildBatch(header: BatchHeader, kept: RawRecord[]): Buffer {
  const body = compress(compressionOf(header), encodeRecords(kept));
  const logAppendTime = (header.attributes & LOG_APPEND_TIME) !== 0;
  const maxTimestamp =
    kept.length === 0 || logAppendTime
      ? header.maxTimestamp
      : Math.max(...kept.map((r) => header.baseTimestamp + r.timestampDelta));
  const buf = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  body.copy(buf, BATCH_HEADER_SIZE);
  writeBatchHeader(
    buf,
    0,
    {
      baseOffset: header.baseOffset,
      partitionLeaderEpoch: header.partitionLeaderEpoch,
      attributes: header.attributes,
      lastOffsetDelta: header.lastOffsetDelta,
      baseTimestamp: header.baseTimestamp,
      maxTimestamp,
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      baseSequence: header.baseSequence,
      recordCount: kept.length,
    },
    body.length,
  );
  return buf;
}

/** The offset of the first record without a key in the batches of `buf`, if any. */
export function firstKeylessRecord(
  buf: Buffer,
  maxDecompressed = DEFAULT_MAX_DECOMPRESSED,
): number | undefined {
  let pos = 0;
  while (pos < buf.length) {
    const { header, records } = readRawBatch(buf, pos, maxDecompressed);
    const r = records.find((x) => x.key === null);
    if (r) return header.baseOffset + r.offsetDelta;
    pos += batchSize(header);
  }
  return undefined;
}
