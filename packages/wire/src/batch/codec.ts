import {
  compress as compressWith,
  DEFAULT_MAX_DECOMPRESSED,
  decompress,
} from '../compression/codecs.js';
import { CorruptBatchError, InvalidRequestError } from '../errors/errors.js';
import {
  BATCH_HEADER_SIZE,
  type BatchHeader,
  batchSize,
  CompressionCodec,
  compressionOf,
  readBatchHeader,
  verifyBatchCrc,
  writeBatchHeader,
} from './header.js';
import { decodeRecords, encodeRecords, type RawRecord, type RecordHeader } from './records.js';

export type Bytes = Buffer | Uint8Array | string;

export interface RecordInput {
  key?: Bytes | null;
  value: Bytes | null;
  /** Either a list (duplicates allowed, order kept) or an object of header name → value. */
  headers?: RecordHeader[] | Record<string, Bytes | null>;
  /** CreateTime in ms; defaults to the batch's `now`. */
  timestamp?: number;
}

export interface EncodeOptions {
  baseOffset?: number;
  compression?: CompressionCodec;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  /** Stamp every record with the broker's time (attribute bit 3). */
  logAppendTime?: boolean;
  now?: number;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface DecodedBatch {
  header: BatchHeader;
  records: DecodedRecord[];
}

const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;

function toBuffer(b: Bytes | null | undefined): Buffer | null {
  if (b === null || b === undefined) return null;
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function toHeaders(h: RecordInput['headers']): RecordHeader[] {
  if (!h) return [];
  if (Array.isArray(h)) return h.map((x) => ({ key: x.key, value: toBuffer(x.value) }));
  return Object.entries(h).map(([key, value]) => ({ key, value: toBuffer(value) }));
}

/** Encodes records into one Kafka v2 RecordBatch (CRC filled in). */
export function encodeBatch(records: RecordInput[], opts: EncodeOptions = {}): Buffer {
  if (records.length === 0) throw new InvalidRequestError('a batch needs at least one record');
  const now = opts.now ?? Date.now();
  const timestamps = records.map((r) => r.timestamp ?? now);
  for (const t of timestamps) {
    if (!Number.isSafeInteger(t)) throw new InvalidRequestError(`invalid timestamp ${t}`);
  }
  const baseTimestamp = Math.min(...timestamps);
  const maxTimestamp = Math.max(...timestamps);
  const raw: RawRecord[] = records.map((r, i) => ({
    attributes: 0,
    timestampDelta: timestamps[i]! - baseTimestamp,
    offsetDelta: i,
    key: toBuffer(r.key),
    value: toBuffer(r.value),
    headers: toHeaders(r.headers),
  }));
  const codec = opts.compression ?? CompressionCodec.None;
  const body = compressWith(codec, encodeRecords(raw));
  let attributes = codec;
  if (opts.logAppendTime) attributes |= TIMESTAMP_TYPE_BIT;
  if (opts.transactional) attributes |= TRANSACTIONAL_BIT;
  const buf = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  body.copy(buf, BATCH_HEADER_SIZE);
  writeBatchHeader(
    buf,
    0,
    {
      baseOffset: opts.baseOffset ?? 0,
      partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
      attributes,
      lastOffsetDelta: records.length - 1,
      baseTimestamp,
      maxTimestamp,
      producerId: opts.producerId ?? -1,
      producerEpoch: opts.producerEpoch ?? -1,
      baseSequence: opts.baseSequence ?? -1,
      recordCount: records.length,
    },
    body.length,
  );
  return buf;
}

/** Decodes the batch at `pos` (CRC checked), with absolute offsets and timestamps. */
export function decodeBatch(
  buf: Buffer,
  pos = 0,
  maxDecompressed = DEFAULT_MAX_DECOMPRESSED,
): DecodedBatch {
  const header = readBatchHeader(buf, pos);
  verifyBatchCrc(buf, header, pos);
  if (header.lastOffsetDelta < header.recordCount - 1) {
    throw new CorruptBatchError(
      `lastOffsetDelta ${header.lastOffsetDelta} < recordCount - 1 (${header.recordCount - 1})`,
    );
  }
  const body = buf.subarray(pos + BATCH_HEADER_SIZE, pos + batchSize(header));
  const records = decodeRecords(
    decompress(compressionOf(header), body, maxDecompressed),
    header.recordCount,
  );
  const appendTime = (header.attributes & TIMESTAMP_TYPE_BIT) !== 0;
  return {
    header,
    records: records.map((r) => ({
      offset: header.baseOffset + r.offsetDelta,
      timestamp: appendTime ? header.maxTimestamp : header.baseTimestamp + r.timestampDelta,
      key: r.key,
      value: r.value,
      headers: r.headers,
    })),
  };
}

/** Decodes every batch in a buffer of back-to-back batches (e.g. a fetch response). */
export function decodeBatches(
  buf: Buffer,
  maxDecompressed = DEFAULT_MAX_DECOMPRESSED,
): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const batch = decodeBatch(buf, pos, maxDecompressed);
    out.push(batch);
    pos += batchSize(batch.header);
  }
  return out;
}
