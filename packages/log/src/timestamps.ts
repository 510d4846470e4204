import { BATCH_HEADER_SIZE, type BatchHeader, compressionOf } from '@strand/wire';

const LOG_APPEND_TIME = 0x08;

/** Reads a zigzag varint (up to 64 bits, as a JS number) at `pos`; undefined when malformed. */
function readVarlong(buf: Buffer, pos: number): { value: number; next: number } | undefined {
  let result = 0n;
  let shift = 0n;
  for (let i = pos; i < buf.length && shift < 70n; i++) {
    const b = buf[i]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      const v = (result >> 1n) ^ -(result & 1n);
      return { value: Number(v), next: i + 1 };
    }
    shift += 7n;
  }
  return undefined;
}

/**
 * The offset of the first record in `batch` whose timestamp is >= t, reading only the record
 * prefixes (length, attributes, timestampDelta, offsetDelta). Compressed batches and
 * LogAppendTime batches are answered at batch granularity: the batch's first offset >=
 * minOffset when its max timestamp is >= t. Returns undefined when no record qualifies.
 */
export function firstOffsetAtOrAfter(
  batch: Buffer,
  h: BatchHeader,
  t: number,
  minOffset = 0,
): number | undefined {
  if (h.maxTimestamp < t) return undefined;
  if (compressionOf(h) !== 0 || (h.attributes & LOG_APPEND_TIME) !== 0) {
    return Math.max(h.baseOffset, minOffset);
  }
  let pos = BATCH_HEADER_SIZE;
  for (let i = 0; i < h.recordCount; i++) {
    const len = readVarlong(batch, pos);
    if (!len) break;
    const ts = readVarlong(batch, len.next + 1);
    if (!ts) break;
    const delta = readVarlong(batch, ts.next);
    if (!delta) break;
    const offset = h.baseOffset + delta.value;
    if (h.baseTimestamp + ts.value >= t && offset >= minOffset) return offset;
    pos = len.next + len.value;
  }
  if (pos >= batch.length) return undefined;
  // Malformed record prefixes (the CRC held, so the producer wrote them): fall back to the batch.
  return Math.max(h.baseOffset, minOffset);
}
