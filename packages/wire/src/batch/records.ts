import { CorruptBatchError } from '../errors/errors.js';
import { Reader, varintSize, writeVarint } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record as stored: deltas relative to the batch's base offset and base timestamp. */
export interface RawRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** The smallest encoded record: 7 one-byte fields. Bounds recordCount before looping. */
export const MIN_RECORD_BYTES = 7;

function bodySize(r: RawRecord): number {
  let size = 1 + varintSize(r.timestampDelta) + varintSize(r.offsetDelta);
  size += r.key === null ? 1 : varintSize(r.key.length) + r.key.length;
  size += r.value === null ? 1 : varintSize(r.value.length) + r.value.length;
  size += varintSize(r.headers.length);
  for (const h of r.headers) {
    const k = Buffer.byteLength(h.key, 'utf8');
    size += varintSize(k) + k;
    size += h.value === null ? 1 : varintSize(h.value.length) + h.value.length;
  }
  return size;
}

function writeBytes(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) return writeVarint(buf, pos, -1);
  pos = writeVarint(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}

/** Encodes records back to back, each with its length prefix. */
export function encodeRecords(records: RawRecord[]): Buffer {
  const sizes = records.map(bodySize);
  const total = sizes.reduce((sum, s) => sum + varintSize(s) + s, 0);
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  records.forEach((r, i) => {
    pos = writeVarint(buf, pos, sizes[i]!);
    buf.writeInt8(r.attributes, pos++);
    pos = writeVarint(buf, pos, r.timestampDelta);
    pos = writeVarint(buf, pos, r.offsetDelta);
    pos = writeBytes(buf, pos, r.key);
    pos = writeBytes(buf, pos, r.value);
    pos = writeVarint(buf, pos, r.headers.length);
    for (const h of r.headers) {
      pos = writeBytes(buf, pos, Buffer.from(h.key, 'utf8'));
      pos = writeBytes(buf, pos, h.value);
    }
  });
  return buf;
}

/** Decodes exactly `count` records filling `buf`; anything malformed is CorruptBatchError. */
export function decodeRecords(buf: Buffer, count: number): RawRecord[] {
  if (count * MIN_RECORD_BYTES > buf.length) {
    throw new CorruptBatchError(`recordCount ${count} cannot fit in ${buf.length} bytes`);
  }
  const out: RawRecord[] = [];
  const reader = new Reader(buf, 0, buf.length);
  for (let i = 0; i < count; i++) {
    const length = reader.varint();
    if (length < MIN_RECORD_BYTES - 1 || length > reader.remaining) {
      throw new CorruptBatchError(`record length ${length} is invalid (${reader.remaining} left)`);
    }
    const r = new Reader(buf, reader.pos, reader.pos + length);
    const attributes = r.int8();
    const timestampDelta = r.varint();
    const offsetDelta = r.varint();
    const key = r.bytes('key');
    const value = r.bytes('value');
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount * 2 > r.remaining) {
      throw new CorruptBatchError(`header count ${headerCount} is invalid`);
    }
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hk = r.bytes('header key');
      if (hk === null) throw new CorruptBatchError('null header key');
      headers.push({ key: hk.toString('utf8'), value: r.bytes('header value') });
    }
    if (r.remaining !== 0) throw new CorruptBatchError(`record has ${r.remaining} trailing bytes`);
    reader.pos += length;
    out.push({ attributes, timestampDelta, offsetDelta, key, value, headers });
  }
  if (reader.remaining !== 0) {
    throw new CorruptBatchError(`${reader.remaining} bytes after the last record`);
  }
  return out;
}
