import { crc32c } from '@node-rs/crc32';
import { CorruptBatchError } from '../errors/errors.js';

/**
 * Kafka RecordBatch v2 header, 61 bytes, big-endian:
 *
 *   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
 *  17 crc uint32 | 21 attributes int16 | 23 lastOffsetDelta int32 | 27 baseTimestamp int64
 *  35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16 | 53 baseSequence int32
 *  57 recordCount int32 | 61 records...
 *
 * batchLength counts the bytes after the batchLength field (so a batch occupies
 * 12 + batchLength bytes). The CRC32C covers attributes..end, so baseOffset and
 * partitionLeaderEpoch can be patched in place without recomputing it.
 *
 * 64-bit fields are exposed as `number`: offsets and millisecond timestamps stay far below
 * 2^53, and values outside the safe range are rejected as corrupt rather than rounded.
 */
export const BATCH_HEADER_SIZE = 61;
/** Bytes before batchLength's coverage starts: baseOffset + batchLength. */
export const BATCH_LOG_OVERHEAD = 12;
export const MAGIC_V2 = 2;

export const Offsets = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;

export const CompressionCodec = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
export type CompressionCodec = (typeof CompressionCodec)[keyof typeof CompressionCodec];

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Total bytes the batch occupies on the wire / on disk. */
export function batchSize(h: Pick<BatchHeader, 'batchLength'>): number {
  return BATCH_LOG_OVERHEAD + h.batchLength;
}

export function lastOffsetOf(h: Pick<BatchHeader, 'baseOffset' | 'lastOffsetDelta'>): number {
  return h.baseOffset + h.lastOffsetDelta;
}

export function compressionOf(h: Pick<BatchHeader, 'attributes'>): CompressionCodec {
  return (h.attributes & 0x07) as CompressionCodec;
}

export function isTransactional(h: Pick<BatchHeader, 'attributes'>): boolean {
  return (h.attributes & 0x10) !== 0;
}

export function isControl(h: Pick<BatchHeader, 'attributes'>): boolean {
  return (h.attributes & 0x20) !== 0;
}

function readSafeInt64(buf: Buffer, at: number, field: string): number {
  const v = buf.readBigInt64BE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new CorruptBatchError(`${field} ${v} is outside the safe integer range`);
  }
  return Number(v);
}

/**
 * Reads and sanity-checks the 61-byte header at `pos` without touching the records.
 * Checks: enough bytes for a header, magic 2, batchLength >= 49, the whole batch inside
 * `buf`, non-negative counts and deltas. Does not check the CRC (see `verifyBatchCrc`).
 */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  if (pos < 0 || buf.length - pos < BATCH_HEADER_SIZE) {
    throw new CorruptBatchError(
      `need ${BATCH_HEADER_SIZE} bytes for a batch header, have ${Math.max(0, buf.length - pos)}`,
    );
  }
  const magic = buf.readInt8(pos + Offsets.magic);
  if (magic !== MAGIC_V2) throw new CorruptBatchError(`unsupported magic ${magic}, expected 2`);
  const batchLength = buf.readInt32BE(pos + Offsets.batchLength);
  if (batchLength < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) {
    throw new CorruptBatchError(`batchLength ${batchLength} is shorter than a header`);
  }
  if (BATCH_LOG_OVERHEAD + batchLength > buf.length - pos) {
    throw new CorruptBatchError(
      `batchLength ${batchLength} runs past the end of the buffer (${buf.length - pos} bytes left)`,
    );
  }
  const lastOffsetDelta = buf.readInt32BE(pos + Offsets.lastOffsetDelta);
  const recordCount = buf.readInt32BE(pos + Offsets.recordCount);
  if (lastOffsetDelta < 0)
    throw new CorruptBatchError(`negative lastOffsetDelta ${lastOffsetDelta}`);
  if (recordCount < 0) throw new CorruptBatchError(`negative recordCount ${recordCount}`);
  return {
    baseOffset: readSafeInt64(buf, pos + Offsets.baseOffset, 'baseOffset'),
    batchLength,
    partitionLeaderEpoch: buf.readInt32BE(pos + Offsets.partitionLeaderEpoch),
    magic,
    crc: buf.readUInt32BE(pos + Offsets.crc),
    attributes: buf.readInt16BE(pos + Offsets.attributes),
    lastOffsetDelta,
    baseTimestamp: readSafeInt64(buf, pos + Offsets.baseTimestamp, 'baseTimestamp'),
    maxTimestamp: readSafeInt64(buf, pos + Offsets.maxTimestamp, 'maxTimestamp'),
    producerId: readSafeInt64(buf, pos + Offsets.producerId, 'producerId'),
    producerEpoch: buf.readInt16BE(pos + Offsets.producerEpoch),
    baseSequence: buf.readInt32BE(pos + Offsets.baseSequence),
    recordCount,
  };
}

/** CRC32C of attributes..end of the batch that starts at `pos` and has `batchLength`. */
export function computeBatchCrc(buf: Buffer, pos: number, batchLength: number): number {
  const start = pos + Offsets.attributes;
  const end = pos + BATCH_LOG_OVERHEAD + batchLength;
  return crc32c(buf.subarray(start, end)) >>> 0;
}

/** Throws CorruptBatchError unless the stored CRC matches the bytes. */
export function verifyBatchCrc(buf: Buffer, h: BatchHeader, pos = 0): void {
  const actual = computeBatchCrc(buf, pos, h.batchLength);
  if (actual !== h.crc) {
    throw new CorruptBatchError(
      `CRC mismatch at baseOffset ${h.baseOffset}: stored ${h.crc.toString(16)}, computed ${actual.toString(16)}`,
    );
  }
}

/** Patches baseOffset in place; it lies outside the CRC, so the batch stays valid. */
export function setBaseOffset(buf: Buffer, offset: number, pos = 0): void {
  buf.writeBigInt64BE(BigInt(offset), pos + Offsets.baseOffset);
}

/** Patches partitionLeaderEpoch in place (also outside the CRC). */
export function setPartitionLeaderEpoch(buf: Buffer, epoch: number, pos = 0): void {
  buf.writeInt32BE(epoch, pos + Offsets.partitionLeaderEpoch);
}

/**
 * Sets an idempotent producer's id, epoch and first sequence in the batch at `pos` and
 * recomputes its CRC (those fields lie inside it). Done once, before a batch is first sent.
 */
export function stampProducer(
  buf: Buffer,
  producerId: number,
  producerEpoch: number,
  baseSequence: number,
  pos = 0,
): void {
  buf.writeBigInt64BE(BigInt(producerId), pos + Offsets.producerId);
  buf.writeInt16BE(producerEpoch, pos + Offsets.producerEpoch);
  buf.writeInt32BE(baseSequence, pos + Offsets.baseSequence);
  const batchLength = buf.readInt32BE(pos + Offsets.batchLength);
  buf.writeUInt32BE(computeBatchCrc(buf, pos, batchLength), pos + Offsets.crc);
}

/**
 * Splits a buffer holding one or more whole batches into header views, validating each
 * header and (when `checkCrc`) each CRC. Throws on the first bad batch or trailing bytes.
 */
export function splitBatches(buf: Buffer, checkCrc = true): { pos: number; header: BatchHeader }[] {
  const out: { pos: number; header: BatchHeader }[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const header = readBatchHeader(buf, pos);
    if (checkCrc) verifyBatchCrc(buf, header, pos);
    out.push({ pos, header });
    pos += batchSize(header);
  }
  return out;
}

/**
 * Writes a header at `pos` for a batch whose records (already encoded, possibly compressed)
 * occupy `recordsLength` bytes after it, then fills in the CRC. The records must already be
 * in place at `pos + 61`. Fields `batchLength`, `magic` and `crc` are computed here.
 */
export function writeBatchHeader(
  buf: Buffer,
  pos: number,
  h: Omit<BatchHeader, 'batchLength' | 'magic' | 'crc'>,
  recordsLength: number,
): void {
  const batchLength = BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD + recordsLength;
  buf.writeBigInt64BE(BigInt(h.baseOffset), pos + Offsets.baseOffset);
  buf.writeInt32BE(batchLength, pos + Offsets.batchLength);
  buf.writeInt32BE(h.partitionLeaderEpoch, pos + Offsets.partitionLeaderEpoch);
  buf.writeInt8(MAGIC_V2, pos + Offsets.magic);
  buf.writeInt16BE(h.attributes, pos + Offsets.attributes);
  buf.writeInt32BE(h.lastOffsetDelta, pos + Offsets.lastOffsetDelta);
  buf.writeBigInt64BE(BigInt(h.baseTimestamp), pos + Offsets.baseTimestamp);
  buf.writeBigInt64BE(BigInt(h.maxTimestamp), pos + Offsets.maxTimestamp);
  buf.writeBigInt64BE(BigInt(h.producerId), pos + Offsets.producerId);
  buf.writeInt16BE(h.producerEpoch, pos + Offsets.producerEpoch);
  buf.writeInt32BE(h.baseSequence, pos + Offsets.baseSequence);
  buf.writeInt32BE(h.recordCount, pos + Offsets.recordCount);
  buf.writeUInt32BE(computeBatchCrc(buf, pos, batchLength), pos + Offsets.crc);
}
