import { CorruptBatchError } from '../errors/errors.js';

const TWO_POW_53 = 2 ** 53;

const INT30 = 0x40000000;

/** Number of bytes the zigzag varint encoding of `n` takes. */
export function varintSize(n: number): number {
  // Small values (nearly all lengths and deltas) in 32-bit arithmetic, the rest exactly.
  if (n > -INT30 && n < INT30) {
    const z = ((n << 1) ^ (n >> 31)) >>> 0;
    return z < 0x80 ? 1 : z < 0x4000 ? 2 : z < 0x200000 ? 3 : z < 0x10000000 ? 4 : 5;
  }
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    size += 1;
  }
  return size;
}

/** Writes the zigzag varint of a safe integer at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, n: number): number {
  if (n > -INT30 && n < INT30) {
    let z = ((n << 1) ^ (n >> 31)) >>> 0;
    while (z >= 0x80) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[pos++] = z;
    return pos;
  }
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 128) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

/**
 * A bounds-checked cursor over record bytes. Every read that would run past `end`, and every
 * varint longer than 10 bytes or outside the safe integer range, throws CorruptBatchError.
 */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  int8(): number {
    if (this.pos >= this.end) throw new CorruptBatchError('record truncated');
    return this.buf.readInt8(this.pos++);
  }

  varint(): number {
    let z = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new CorruptBatchError('varint runs past the end');
      const b = this.buf[this.pos++]!;
      z += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (z >= TWO_POW_53) throw new CorruptBatchError('varint outside the safe integer range');
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      scale *= 128;
    }
    throw new CorruptBatchError('varint longer than 10 bytes');
  }

  /** A length-prefixed byte string; -1 means null. */
  bytes(what: string): Buffer | null {
    const len = this.varint();
    if (len === -1) return null;
    if (len < -1) throw new CorruptBatchError(`negative ${what} length ${len}`);
    if (len > this.remaining) {
      throw new CorruptBatchError(
        `${what} length ${len} runs past the end (${this.remaining} left)`,
      );
    }
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}
