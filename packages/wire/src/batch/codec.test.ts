import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptBatchError, UnsupportedCompressionError } from '../errors/errors.js';
import { decodeBatch, decodeBatches, encodeBatch, type RecordInput } from './codec.js';
import { CompressionCodec, computeBatchCrc, setBaseOffset } from './header.js';

const codecs = [
  CompressionCodec.None,
  CompressionCodec.Gzip,
  CompressionCodec.Snappy,
  CompressionCodec.Lz4,
  CompressionCodec.Zstd,
];

const recordArb: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    { nil: null },
  ),
  value: fc.option(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    { nil: null },
  ),
  headers: fc.array(
    fc.record({
      key: fc.string({ maxLength: 10 }),
      value: fc.option(
        fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
        { nil: null },
      ),
    }),
    { maxLength: 3 },
  ),
  timestamp: fc.integer({ min: 0, max: 2 ** 42 }),
});

function isTyped(err: unknown): boolean {
  return err instanceof CorruptBatchError || err instanceof UnsupportedCompressionError;
}

describe('RecordBatch codec', () => {
  it('round-trips arbitrary records under every codec', () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 20 }),
        fc.constantFrom(...codecs),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (records, compression, base) => {
          const buf = encodeBatch(records, { compression, baseOffset: base });
          const { header, records: out } = decodeBatch(buf);
          expect(header.recordCount).toBe(records.length);
          expect(header.lastOffsetDelta).toBe(records.length - 1);
          expect(header.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp!)));
          out.forEach((r, i) => {
            const want = records[i]!;
            expect(r.offset).toBe(base + i);
            expect(r.timestamp).toBe(want.timestamp);
            expect(r.key).toEqual(want.key);
            expect(r.value).toEqual(want.value);
            expect(r.headers).toEqual(want.headers);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('lays out the header byte for byte', () => {
    const buf = encodeBatch(
      [
        { key: 'k', value: 'v', timestamp: 1000 },
        { value: 'w', timestamp: 1005 },
      ],
      {
        baseOffset: 7,
        producerId: 42,
        producerEpoch: 3,
        baseSequence: 9,
        partitionLeaderEpoch: 5,
        now: 1,
      },
    );
    expect(buf.readBigInt64BE(0)).toBe(7n);
    expect(buf.readInt32BE(8)).toBe(buf.length - 12);
    expect(buf.readInt32BE(12)).toBe(5);
    expect(buf.readInt8(16)).toBe(2);
    expect(buf.readInt16BE(21)).toBe(0);
    expect(buf.readInt32BE(23)).toBe(1);
    expect(buf.readBigInt64BE(27)).toBe(1000n);
    expect(buf.readBigInt64BE(35)).toBe(1005n);
    expect(buf.readBigInt64BE(43)).toBe(42n);
    expect(buf.readInt16BE(51)).toBe(3);
    expect(buf.readInt32BE(53)).toBe(9);
    expect(buf.readInt32BE(57)).toBe(2);
    // First record: length 8 (zigzag 16), attrs 0, tsDelta 0, offDelta 0, key len 1 'k', value len 1 'v', 0 headers.
    expect([...buf.subarray(61, 61 + 9)]).toEqual([16, 0, 0, 0, 2, 0x6b, 2, 0x76, 0]);
  });

  it('decodes several batches and keeps baseOffset patches outside the CRC', () => {
    const a = encodeBatch([{ value: 'a' }]);
    const b = encodeBatch([{ value: 'b' }, { value: 'c' }], { compression: CompressionCodec.Gzip });
    setBaseOffset(b, 1);
    const all = decodeBatches(Buffer.concat([a, b]));
    expect(all.flatMap((x) => x.records.map((r) => [r.offset, r.value?.toString()]))).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
  });

  it('never throws anything but a typed error on truncated or bit-flipped batches', () => {
    fc.assert(
      fc.property(
        fc.array(recordArb, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...codecs),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (records, compression, where, bit, truncate) => {
          const buf = encodeBatch(records, { compression });
          const bad = truncate ? buf.subarray(0, where % buf.length) : Buffer.from(buf);
          if (!truncate) bad[where % bad.length]! ^= 1 << (bit % 8);
          try {
            decodeBatch(bad);
          } catch (err) {
            expect(isTyped(err)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rejects random bytes with typed errors only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeBatches(Buffer.from(bytes));
        } catch (err) {
          expect(isTyped(err)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects lying counts and lengths before allocating', () => {
    const buf = encodeBatch([{ value: 'x' }]);
    // Patch a CRC-covered field and re-seal the CRC, so only the lie itself can be caught.
    const lie = (at: number, v: number, at2 = at, v2 = v) => {
      const b = Buffer.from(buf);
      b.writeInt32BE(v, at);
      b.writeInt32BE(v2, at2);
      b.writeUInt32BE(computeBatchCrc(b, 0, b.readInt32BE(8)), 17);
      return b;
    };
    expect(() => decodeBatch(lie(57, 1_000_000_000))).toThrow(/lastOffsetDelta/);
    expect(() => decodeBatch(lie(57, 1_000_000_000, 23, 999_999_999))).toThrow(/cannot fit/);
    expect(() => decodeBatch(lie(57, -1))).toThrow(/negative recordCount/);
    expect(() => decodeBatch(lie(23, -5))).toThrow(/negative lastOffsetDelta/);
    const hugeLength = Buffer.from(buf);
    hugeLength.writeInt32BE(0x7fffffff, 8);
    expect(() => decodeBatch(hugeLength)).toThrow(/past the end/);
  });

  it.each([
    CompressionCodec.Gzip,
    CompressionCodec.Snappy,
    CompressionCodec.Lz4,
    CompressionCodec.Zstd,
  ])('bounds decompression with codec %i (a zip bomb gets a typed error)', (compression) => {
    const bomb = encodeBatch([{ value: Buffer.alloc(2 * 1024 * 1024) }], { compression });
    expect(bomb.length).toBeLessThan(120_000);
    expect(() => decodeBatch(bomb, 0, 1024 * 1024)).toThrow(CorruptBatchError);
    expect(decodeBatch(bomb).records[0]!.value!.length).toBe(2 * 1024 * 1024);
  });

  it('refuses a truncated or garbled zstd body with a typed error', () => {
    const good = encodeBatch([{ value: Buffer.alloc(4096, 7) }], {
      compression: CompressionCodec.Zstd,
    });
    const bodyStart = 61;
    for (const body of [
      good.subarray(bodyStart, good.length - 3),
      Buffer.from('not zstd at all'),
      Buffer.alloc(0),
    ]) {
      const bad = Buffer.concat([good.subarray(0, bodyStart), body]);
      bad.writeInt32BE(bad.length - 12, 8);
      bad.writeUInt32BE(computeBatchCrc(bad, 0, bad.length - 12), 17);
      expect(() => decodeBatch(bad)).toThrow(CorruptBatchError);
    }
  });

  it('reports an unknown compression codec with a typed error', () => {
    const unknownCodec = 5 as CompressionCodec;
    expect(() => encodeBatch([{ value: 'x' }], { compression: unknownCodec })).toThrow(
      UnsupportedCompressionError,
    );
    const batch = encodeBatch([{ value: 'x' }]);
    batch.writeInt16BE(unknownCodec, 21);
    batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length - 12), 17);
    expect(() => decodeBatch(batch)).toThrow(UnsupportedCompressionError);
  });
});
