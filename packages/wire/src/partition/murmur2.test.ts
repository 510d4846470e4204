import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, toPositive } from './murmur2.js';

describe('murmur2', () => {
  it("matches Kafka's known vectors (UtilsTest.testMurmur2)", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, expected] of cases) expect(murmur2(Buffer.from(key))).toBe(expected);
  });

  it('partitions by toPositive(murmur2) modulo the partition count', () => {
    expect(partitionForKey('foobar', 12)).toBe(toPositive(-790332482) % 12);
    expect(toPositive(-2147483648)).toBe(0);
    expect(() => partitionForKey('x', 0)).toThrow(RangeError);
  });

  it('always lands in range and is stable for the same key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        const p = partitionForKey(key, n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
        expect(partitionForKey(Buffer.from(key), n)).toBe(p);
      }),
    );
  });
});
