import { BATCH_HEADER_SIZE, decodeBatches, encodeBatch } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { BatchBuilder } from './batch-builder.js';

describe('BatchBuilder', () => {
  it('encodes records the wire codec decodes, byte for byte as encodeBatch would', () => {
    const b = new BatchBuilder(1 << 20);
    const t0 = 1_700_000_000_000;
    const inputs = [
      { key: 'k1', value: 'v1', timestamp: t0 },
      { key: null, value: Buffer.from([1, 2, 3]), timestamp: t0 + 5 },
      { key: new Uint8Array([9]), value: null, timestamp: t0 + 2 },
      { key: 'ü', value: 'x'.repeat(300), timestamp: t0 + 1_000_000, headers: { h: 'hv' } },
      {
        value: 'v',
        timestamp: t0,
        headers: [
          { key: 'a', value: null },
          { key: 'a', value: Buffer.from('second') },
        ],
      },
    ];
    for (const r of inputs)
      expect(b.append(r.timestamp, r.key, r.value, r.headers)).toBeGreaterThan(0);
    const sealed = b.seal();
    expect(sealed).toEqual(encodeBatch(inputs, { now: t0 }));
    const [batch] = decodeBatches(sealed);
    expect(batch!.header.recordCount).toBe(5);
    expect(batch!.header.maxTimestamp).toBe(t0 + 1_000_000);
    const recs = batch!.records;
    expect(recs.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(recs.map((r) => r.timestamp)).toEqual(inputs.map((r) => r.timestamp));
    expect(recs[0]!.key!.toString()).toBe('k1');
    expect(recs[1]!.key).toBeNull();
    expect(recs[2]!.value).toBeNull();
    expect(recs[3]!.key!.toString()).toBe('ü');
    expect(recs[3]!.headers).toEqual([{ key: 'h', value: Buffer.from('hv') }]);
    expect(recs[4]!.headers).toEqual([
      { key: 'a', value: null },
      { key: 'a', value: Buffer.from('second') },
    ]);
  });

  it('grows past its initial capacity and refuses records beyond its limit', () => {
    const limit = 64 * 1024;
    const b = new BatchBuilder(limit);
    const value = Buffer.alloc(100, 7);
    let n = 0;
    while (b.append(1000, null, value, undefined) > 0) n++;
    expect(n).toBeGreaterThan(500);
    expect(b.bytes).toBeLessThanOrEqual(limit);
    expect(b.count).toBe(n);
    const [batch] = decodeBatches(b.seal());
    expect(batch!.records).toHaveLength(n);
    expect(batch!.records[n - 1]!.value).toEqual(value);
  });

  it('always takes a first record, even one larger than the limit', () => {
    const b = new BatchBuilder(1024);
    const big = Buffer.alloc(5000, 1);
    expect(b.append(1, null, big, undefined)).toBeGreaterThan(5000);
    expect(b.append(1, null, 'more', undefined)).toBe(0);
    expect(b.seal().length).toBeGreaterThan(5000 + BATCH_HEADER_SIZE);
  });

  it('handles timestamps that go backwards and large deltas', () => {
    const b = new BatchBuilder(4096);
    const ts = [2_000_000_000_000, 1_000_000_000_000, 2_000_000_000_001];
    for (const t of ts) b.append(t, null, 'v', undefined);
    const [batch] = decodeBatches(b.seal());
    expect(batch!.records.map((r) => r.timestamp)).toEqual(ts);
  });
});
