import { crc32c } from '@node-rs/crc32';

/**
 * The sparse index of one segment, kept in memory and written to two files when the segment
 * is sealed (rolled) or the log closes cleanly:
 *
 *   .index      entries of (relativeOffset u32, position u32), then a footer
 *   .timeindex  entries of (maxTimestampSoFar i64, relativeOffset u32), then a footer
 *
 * Entry i points at the start of a batch; its timestamp is the largest batch max-timestamp
 * seen in the segment up to and including that batch ("max so far"), which keeps timestamp
 * lookups correct when clients send out-of-order timestamps.
 *
 * The .index footer also records what a clean restart needs without reading the data file:
 * the data size the index describes, the next offset, the segment's max timestamp and the
 * wall-clock time of its last append. A footer that does not match (CRC, sizes, monotonic
 * entries, data size) makes the caller rebuild the index from the data.
 */
const OFFSET_ENTRY = 8;
const TIME_ENTRY = 12;
const OFFSET_MAGIC = 0x53495831; // "SIX1"
const TIME_MAGIC = 0x53544931; // "STI1"
const OFFSET_FOOTER = 40;
const TIME_FOOTER = 12;

export interface SegmentSummary {
  /** Bytes of data the index covers: the data file's valid length. */
  dataSize: number;
  /** Offset after the last batch of the segment. */
  nextOffset: number;
  /** Largest batch max-timestamp in the segment, -1 when empty. */
  maxTimestamp: number;
  /** Wall-clock ms of the last append (bounds retention when timestamps are in the future). */
  lastAppendTime: number;
}

export class SegmentIndex {
  private rel: Uint32Array;
  private pos: Uint32Array;
  private ts: Float64Array;
  private n = 0;

  constructor(capacity = 64) {
    this.rel = new Uint32Array(capacity);
    this.pos = new Uint32Array(capacity);
    this.ts = new Float64Array(capacity);
  }

  get length(): number {
    return this.n;
  }

  append(relOffset: number, position: number, maxTimestampSoFar: number): void {
    if (this.n === this.rel.length) this.grow();
    this.rel[this.n] = relOffset;
    this.pos[this.n] = position;
    this.ts[this.n] = maxTimestampSoFar;
    this.n += 1;
  }

  /** The entry with the largest relative offset <= `relOffset`, or the segment start. */
  floorOffset(relOffset: number): { relOffset: number; position: number } {
    return this.lastWhere((i) => this.rel[i]! <= relOffset);
  }

  /**
   * Where to start scanning for the first batch with max-timestamp >= t: the last entry whose
   * max-so-far is < t (every batch up to it is older than t), or the segment start.
   */
  floorTimestamp(t: number): { relOffset: number; position: number } {
    return this.lastWhere((i) => this.ts[i]! < t);
  }

  /** Binary search for the last entry satisfying `holds` (true on a prefix of the entries). */
  private lastWhere(holds: (i: number) => boolean): { relOffset: number; position: number } {
    let lo = 0;
    let hi = this.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (holds(mid)) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0
      ? { relOffset: 0, position: 0 }
      : { relOffset: this.rel[found]!, position: this.pos[found]! };
  }

  positionAt(i: number): number {
    return this.pos[i]!;
  }

  relOffsetAt(i: number): number {
    return this.rel[i]!;
  }

  timestampAt(i: number): number {
    return this.ts[i]!;
  }

  /** Drops entries pointing at or after `position` (after a truncation). */
  truncateToPosition(position: number): void {
    while (this.n > 0 && this.pos[this.n - 1]! >= position) this.n -= 1;
  }

  encode(summary: SegmentSummary): { offsetIndex: Buffer; timeIndex: Buffer } {
    const off = Buffer.alloc(this.n * OFFSET_ENTRY + OFFSET_FOOTER);
    const time = Buffer.alloc(this.n * TIME_ENTRY + TIME_FOOTER);
    for (let i = 0; i < this.n; i++) {
      off.writeUInt32BE(this.rel[i]!, i * OFFSET_ENTRY);
      off.writeUInt32BE(this.pos[i]!, i * OFFSET_ENTRY + 4);
      time.writeBigInt64BE(BigInt(this.ts[i]!), i * TIME_ENTRY);
      time.writeUInt32BE(this.rel[i]!, i * TIME_ENTRY + 8);
    }
    let f = this.n * OFFSET_ENTRY;
    off.writeUInt32BE(OFFSET_MAGIC, f);
    off.writeUInt32BE(this.n, f + 4);
    off.writeUInt32BE(summary.dataSize, f + 8);
    off.writeBigInt64BE(BigInt(summary.nextOffset), f + 12);
    off.writeBigInt64BE(BigInt(summary.maxTimestamp), f + 20);
    off.writeBigInt64BE(BigInt(summary.lastAppendTime), f + 28);
    off.writeUInt32BE(crc32c(off.subarray(0, f + 36)) >>> 0, f + 36);
    f = this.n * TIME_ENTRY;
    time.writeUInt32BE(TIME_MAGIC, f);
    time.writeUInt32BE(this.n, f + 4);
    time.writeUInt32BE(crc32c(time.subarray(0, f + 8)) >>> 0, f + 8);
    return { offsetIndex: off, timeIndex: time };
  }

  /**
   * Parses both files; returns undefined (rebuild needed) unless both are intact, agree with
   * each other and with `baseOffset`, and describe exactly `actualDataSize` bytes (or, with
   * `prefix`, at most that many: the rest is then verified by the caller).
   */
  static decode(
    offsetIndex: Buffer | undefined,
    timeIndex: Buffer | undefined,
    baseOffset: number,
    actualDataSize: number,
    prefix = false,
  ): { index: SegmentIndex; summary: SegmentSummary } | undefined {
    if (!offsetIndex || !timeIndex) return undefined;
    if (offsetIndex.length < OFFSET_FOOTER || timeIndex.length < TIME_FOOTER) return undefined;
    const f = offsetIndex.length - OFFSET_FOOTER;
    const tf = timeIndex.length - TIME_FOOTER;
    if (f % OFFSET_ENTRY !== 0 || tf % TIME_ENTRY !== 0) return undefined;
    const n = f / OFFSET_ENTRY;
    if (tf / TIME_ENTRY !== n) return undefined;
    if (offsetIndex.readUInt32BE(f) !== OFFSET_MAGIC || offsetIndex.readUInt32BE(f + 4) !== n)
      return undefined;
    if (timeIndex.readUInt32BE(tf) !== TIME_MAGIC || timeIndex.readUInt32BE(tf + 4) !== n)
      return undefined;
    if (crc32c(offsetIndex.subarray(0, f + 36)) >>> 0 !== offsetIndex.readUInt32BE(f + 36))
      return undefined;
    if (crc32c(timeIndex.subarray(0, tf + 8)) >>> 0 !== timeIndex.readUInt32BE(tf + 8))
      return undefined;
    const summary: SegmentSummary = {
      dataSize: offsetIndex.readUInt32BE(f + 8),
      nextOffset: Number(offsetIndex.readBigInt64BE(f + 12)),
      maxTimestamp: Number(offsetIndex.readBigInt64BE(f + 20)),
      lastAppendTime: Number(offsetIndex.readBigInt64BE(f + 28)),
    };
    const sizeOk = prefix
      ? summary.dataSize <= actualDataSize
      : summary.dataSize === actualDataSize;
    if (!sizeOk || summary.nextOffset < baseOffset) return undefined;
    const index = new SegmentIndex(Math.max(n, 64));
    let prevRel = -1;
    let prevPos = -1;
    let prevTs = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const rel = offsetIndex.readUInt32BE(i * OFFSET_ENTRY);
      const pos = offsetIndex.readUInt32BE(i * OFFSET_ENTRY + 4);
      const ts = Number(timeIndex.readBigInt64BE(i * TIME_ENTRY));
      if (timeIndex.readUInt32BE(i * TIME_ENTRY + 8) !== rel) return undefined;
      if (rel <= prevRel || pos <= prevPos || ts < prevTs || pos >= summary.dataSize)
        return undefined;
      if (baseOffset + rel >= summary.nextOffset) return undefined;
      index.append(rel, pos, ts);
      prevRel = rel;
      prevPos = pos;
      prevTs = ts;
    }
    return { index, summary };
  }

  private grow(): void {
    const cap = this.rel.length * 2;
    const rel = new Uint32Array(cap);
    const pos = new Uint32Array(cap);
    const ts = new Float64Array(cap);
    rel.set(this.rel);
    pos.set(this.pos);
    ts.set(this.ts);
    this.rel = rel;
    this.pos = pos;
    this.ts = ts;
  }
}
