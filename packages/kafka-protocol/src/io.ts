import { KafkaProtocolError } from './protocol-error.js';

const TWO_32 = 2 ** 32;

/** Reads Kafka's primitive encodings from a buffer; running past `end` is a typed error. */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, what: string): void {
    if (n > this.end - this.pos)
      throw new KafkaProtocolError(
        `truncated ${what}: needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`,
      );
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** As a number: exact up to 2^53 (offsets, timestamps and producer ids stay below). */
  int64(): number {
    this.need(8, 'int64');
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** An unsigned varint of at most 32 bits (5 bytes). */
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1, 'varint');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) break;
        return value;
      }
    }
    throw new KafkaProtocolError(`a varint longer than 32 bits at offset ${this.pos}`);
  }

  /** `n` bytes as a view of the same memory (no copy). */
  slice(n: number, what: string): Buffer {
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  utf8(n: number): string {
    this.need(n, 'string');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

/** Copied into the scratch buffer below this size; larger buffers are passed on as they are. */
const COPY_LIMIT = 1024;
const INITIAL = 2048;

/**
 * Writes Kafka's primitive encodings. Output is a list of chunks: small fields go into a
 * scratch buffer, large byte fields (records) are passed through without a copy, so a fetch
 * answer costs no memory copy of the records it carries.
 */
export class Writer {
  private buf = Buffer.allocUnsafe(INITIAL);
  private start = 0;
  private pos = 0;
  private readonly chunks: Buffer[] = [];
  private done = 0;

  get length(): number {
    return this.done + this.pos - this.start;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.cut();
    this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    this.start = 0;
    this.pos = 0;
  }

  private cut(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.done += this.pos - this.start;
    }
    this.start = this.pos;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  int64(v: number): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
  }

  uvarint(v: number): void {
    this.ensure(5);
    let x = v >>> 0;
    while (x >= 0x80) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
  }

  raw(b: Uint8Array): void {
    if (b.length < COPY_LIMIT) {
      this.ensure(b.length);
      this.buf.set(b, this.pos);
      this.pos += b.length;
      return;
    }
    this.cut();
    this.chunks.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));
    this.done += b.length;
  }

  utf8(s: string, byteLength: number): void {
    this.ensure(byteLength);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** The chunks written so far, in order; the writer must not be used afterwards. */
  finish(): Buffer[] {
    this.cut();
    return this.chunks;
  }
}

/** One buffer from a list of chunks. */
export function concat(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
