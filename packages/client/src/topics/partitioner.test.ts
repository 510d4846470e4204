import { InvalidRequestError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { makePartitioner, newSlot } from './partitioner.js';
import type { ProducerRecord } from './types.js';

const rec = (key?: string | Uint8Array | null): ProducerRecord => ({ topic: 't', value: 'v', key });

describe('partitioners', () => {
  it('agree with Kafka (Java and librdkafka murmur2) on keyed records', () => {
    // toPositive(murmur2(key)) % n, with the signed murmur2 values both clients compute.
    const javaMurmur2: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['kafka', 0xd067cf64 | 0],
      ['giberish123456789', 0x8f552b0c | 0],
      ['1234', 0x9fc97b14 | 0],
      ['4', 0x5a4b5ca1 | 0],
    ];
    for (const name of ['default', 'murmur2'] as const) {
      const p = makePartitioner(name);
      for (const [key, hash] of javaMurmur2) {
        for (const n of [1, 3, 12, 100]) {
          const expected = (hash & 0x7fffffff) % n;
          expect(p.choose(rec(key), n, newSlot())).toBe(expected);
          expect(p.choose(rec(Buffer.from(key)), n, newSlot())).toBe(expected);
          expect(p.choose(rec(new Uint8Array(Buffer.from(key))), n, newSlot())).toBe(expected);
        }
      }
    }
  });

  it('default: unkeyed records stick to one partition until its batch is sealed', () => {
    const p = makePartitioner('default');
    const slot = newSlot();
    const first = p.choose(rec(null), 8, slot);
    for (let i = 0; i < 100; i++) expect(p.choose(rec(undefined), 8, slot)).toBe(first);
    // Sealing another partition's batch changes nothing.
    p.sealed((first + 1) % 8, 8, slot);
    expect(p.choose(rec(null), 8, slot)).toBe(first);
    p.sealed(first, 8, slot);
    const second = p.choose(rec(null), 8, slot);
    expect(second).not.toBe(first);
    expect(second).toBeGreaterThanOrEqual(0);
    expect(second).toBeLessThan(8);
  });

  it('default: sticky switching reaches every partition, and copes with one partition', () => {
    const p = makePartitioner('default');
    const slot = newSlot();
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const q = p.choose(rec(null), 5, slot);
      seen.add(q);
      p.sealed(q, 5, slot);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    const one = newSlot();
    expect(p.choose(rec(null), 1, one)).toBe(0);
    p.sealed(0, 1, one);
    expect(p.choose(rec(null), 1, one)).toBe(0);
  });

  it('murmur2: unkeyed records go round-robin; round-robin ignores keys', () => {
    const m = makePartitioner('murmur2');
    const slot = newSlot();
    expect([0, 1, 2, 3].map(() => m.choose(rec(null), 3, slot))).toEqual([0, 1, 2, 0]);
    const rr = makePartitioner('round-robin');
    const s2 = newSlot();
    expect(['a', 'a', 'a', 'a'].map((k) => rr.choose(rec(k), 4, s2))).toEqual([0, 1, 2, 3]);
  });

  it('a custom function is used, and a choice out of range is rejected', () => {
    const p = makePartitioner((r, n) => (r.key === 'x' ? n - 1 : n));
    expect(p.choose(rec('x'), 4, newSlot())).toBe(3);
    expect(() => p.choose(rec('y'), 4, newSlot())).toThrow(InvalidRequestError);
  });
});
