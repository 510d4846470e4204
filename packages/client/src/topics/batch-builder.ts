import {
  BATCH_HEADER_SIZE,
  type Bytes,
  InvalidRequestError,
  varintSize,
  writeBatchHeader,
  writeVarint,
} from '@strand/wire';

export type RecordHeaders = Record<string, Bytes> | { key: string; value: Bytes | null }[];

const INITIAL_CAPACITY = 16 * 1024;
const lengthOf = (b: Bytes): number => (typeof b === 'string' ? Buffer.byteLength(b) : b.length);

/** Size of a length-prefixed byte field (-1 length for null). */
const fieldSize = (b: Bytes | null | undefined): number => {
  if (b === null || b === undefined) return 1;
  const n = lengthOf(b);
  return varintSize(n) + n;
};

function writeField(buf: Buffer, pos: number, b: Bytes | null | undefined): number {
  if (b === null || b === undefined) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  if (typeof b === 'string') {
    const n = Buffer.byteLength(b);
    pos = writeVarint(buf, pos, n);
    return pos + buf.write(b, pos, n, 'utf8');
  }
  pos = writeVarint(buf, pos, b.length);
  buf.set(b, pos);
  return pos + b.length;
}

function headerList(h: RecordHeaders | undefined): { key: string; value: Bytes | null }[] {
  if (!h) return [];
  if (Array.isArray(h)) return h;
  return Object.keys(h).map((key) => ({ key, value: h[key] ?? null }));
}

/**
 * Encodes records straight into one growing buffer, in the Kafka v2 record format, as they
 * are appended; `seal()` writes the 61-byte header and the CRC. So each record is encoded
 * exactly once, with no per-record objects, and the exact batch size is always known.
 */
export class BatchBuilder {
  private buf: Buffer;
  private pos = BATCH_HEADER_SIZE;
  count = 0;
  baseTimestamp = 0;
  maxTimestamp = 0;

  /**
   * `limit`: the batch size at which appends start to be refused (one record always fits).
   * `capacity`: the first allocation (grows by doubling up to `limit`).
   */
  constructor(
    private readonly limit: number,
    capacity = INITIAL_CAPACITY,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(limit, Math.max(capacity, 64)));
  }

  /** Bytes used so far, header included. */
  get bytes(): number {
    return this.pos;
  }

  /**
   * Appends one record; returns the bytes it took, or 0 when it does not fit (the batch
   * already holds records and would grow past its limit): seal this batch and start another.
   */
  append(
    timestamp: number,
    key: Bytes | null | undefined,
    value: Bytes | null,
    headers: RecordHeaders | undefined,
  ): number {
    if (this.count === 0) {
      this.baseTimestamp = timestamp;
      this.maxTimestamp = timestamp;
    } else if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const tsDelta = timestamp - this.baseTimestamp;
    const hs = headers === undefined ? undefined : headerList(headers);
    let body = 1 + varintSize(tsDelta) + varintSize(this.count) + fieldSize(key) + fieldSize(value);
    if (hs === undefined) body += 1;
    else {
      body += varintSize(hs.length);
      for (const h of hs) body += fieldSize(h.key) + fieldSize(h.value);
    }
    const size = varintSize(body) + body;
    const end = this.pos + size;
    if (end > this.buf.length) {
      if (this.count > 0 && end > this.limit) return 0;
      this.grow(end);
    }
    const buf = this.buf;
    let pos = writeVarint(buf, this.pos, body);
    buf[pos++] = 0; // attributes
    pos = writeVarint(buf, pos, tsDelta);
    pos = writeVarint(buf, pos, this.count);
    pos = writeField(buf, pos, key);
    pos = writeField(buf, pos, value);
    if (hs === undefined) buf[pos++] = 0;
    else {
      pos = writeVarint(buf, pos, hs.length);
      for (const h of hs) {
        pos = writeField(buf, pos, h.key);
        pos = writeField(buf, pos, h.value);
      }
    }
    this.pos = pos;
    this.count++;
    return size;
  }

  private grow(needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(needed, Math.min(this.limit, this.buf.length * 2)));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Writes the header (offsets relative: baseOffset 0) and returns the finished batch. */
  seal(): Buffer {
    if (this.count === 0) throw new InvalidRequestError('a batch needs at least one record');
    writeBatchHeader(
      this.buf,
      0,
      {
        baseOffset: 0,
        partitionLeaderEpoch: -1,
        attributes: 0,
        lastOffsetDelta: this.count - 1,
        baseTimestamp: this.baseTimestamp,
        maxTimestamp: this.maxTimestamp,
        producerId: -1,
        producerEpoch: -1,
        baseSequence: -1,
        recordCount: this.count,
      },
      this.pos - BATCH_HEADER_SIZE,
    );
    return this.buf.subarray(0, this.pos);
  }
}
