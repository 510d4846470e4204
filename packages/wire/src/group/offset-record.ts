import type { CommittedOffset } from './group-keys.js';

/**
 * The compact layout of a committed offset (one per group and partition, the hottest metadata
 * write): version byte 1, offset (int64 BE), commit timestamp (int64 BE, ms), leader epoch
 * (int32 BE, -1 unknown), then the metadata string as UTF-8 to the end. 21 bytes plus the
 * metadata, where the JSON it replaces took ~60 plus the metadata (and base64 on top inside
 * the KV store). Offsets written before it are JSON objects, whose first byte is `{`; both are
 * read (see `parseCommittedOffset`).
 */
export const OFFSET_RECORD_VERSION = 1;
const HEADER = 21;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeCommittedOffset(o: CommittedOffset): Buffer {
  const meta = Buffer.from(o.metadata, 'utf8');
  const b = Buffer.allocUnsafe(HEADER + meta.length);
  b.writeUInt8(OFFSET_RECORD_VERSION, 0);
  b.writeBigInt64BE(BigInt(o.offset), 1);
  b.writeBigInt64BE(BigInt(Math.trunc(o.commitTimestamp)), 9);
  b.writeInt32BE(o.leaderEpoch, 17);
  meta.copy(b, HEADER);
  return b;
}

/**
 * A stored committed offset as a plain object for the schema to check: the compact layout, or
 * the JSON one offsets were stored in before it. Throws on anything else (the caller notes the
 * record as malformed and skips it).
 */
export function parseCommittedOffset(value: Uint8Array): unknown {
  const b = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (b[0] === 0x7b) return JSON.parse(b.toString('utf8'));
  if (b[0] !== OFFSET_RECORD_VERSION)
    throw new Error(
      b.length === 0
        ? 'an empty committed offset'
        : `committed offset layout ${b[0]} is not known to this version (it reads 1 and JSON)`,
    );
  if (b.length < HEADER) throw new Error(`a committed offset of ${b.length} bytes is cut short`);
  return {
    offset: safe(b.readBigInt64BE(1), 'offset'),
    commitTimestamp: safe(b.readBigInt64BE(9), 'commit timestamp'),
    leaderEpoch: b.readInt32BE(17),
    metadata: utf8.decode(b.subarray(HEADER)),
  };
}

function safe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))
    throw new Error(`the ${what} ${n} is out of range`);
  return Number(n);
}
