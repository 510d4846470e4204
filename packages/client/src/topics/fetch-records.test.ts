import { encodeBatch, setBaseOffset } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { recordsFrom } from './fetch-records.js';

const batch = (base: number, values: string[], ts = 1000) => {
  const b = encodeBatch(
    values.map((v) => ({ key: `k${v}`, value: v, timestamp: ts })),
    { now: ts },
  );
  setBaseOffset(b, base);
  return b;
};

describe('recordsFrom', () => {
  it('skips records below the position (a batch may start earlier) and advances past the last batch', () => {
    const buf = Buffer.concat([batch(10, ['a', 'b', 'c']), batch(13, ['d', 'e'])]);
    const { records, next } = recordsFrom('t', 2, buf, 12);
    expect(records.map((r) => [r.offset, r.value!.toString()])).toEqual([
      [12, 'c'],
      [13, 'd'],
      [14, 'e'],
    ]);
    expect(records[0]).toMatchObject({ topic: 't', partition: 2, timestamp: 1000, headers: [] });
    expect(records[0]!.key!.toString()).toBe('kc');
    expect(next).toBe(15);
  });

  it('skips whole batches below the position', () => {
    const buf = Buffer.concat([batch(0, ['a', 'b']), batch(2, ['c'])]);
    expect(recordsFrom('t', 0, buf, 2).records.map((r) => r.offset)).toEqual([2]);
    expect(recordsFrom('t', 0, buf, 3)).toEqual({ records: [], next: 3 });
  });

  it('leaves a batch cut off at the end for the next fetch', () => {
    const whole = batch(5, ['a']);
    const cut = batch(6, ['b', 'c']).subarray(0, 40);
    const { records, next } = recordsFrom('t', 0, Buffer.concat([whole, cut]), 5);
    expect(records.map((r) => r.offset)).toEqual([5]);
    expect(next).toBe(6);
    expect(recordsFrom('t', 0, Buffer.alloc(0), 7)).toEqual({ records: [], next: 7 });
  });
});
