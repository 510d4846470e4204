import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTopicConfigs, topicConfig } from '../topic/topic-config.js';
import { decodeBatch, encodeBatch } from './codec.js';
import { CompressionCodec } from './header.js';
import { firstKeylessRecord, readRawBatch, rebuildBatch } from './rewrite.js';

describe('rebuildBatch', () => {
  it('keeps offsets, codec, timestamps, headers and producer fields of the records it keeps', () => {
    for (const compression of [
      CompressionCodec.None,
      CompressionCodec.Gzip,
      CompressionCodec.Zstd,
    ]) {
      const batch = encodeBatch(
        [
          { key: 'a', value: '1', timestamp: 1000, headers: { h: 'x' } },
          { key: 'b', value: null, timestamp: 1005 },
          { key: 'c', value: '3', timestamp: 1002, headers: { h: 'y' } },
        ],
        { baseOffset: 40, compression, producerId: 9, producerEpoch: 2, baseSequence: 17 },
      );
      const raw = readRawBatch(batch);
      const rebuilt = rebuildBatch(raw.header, [raw.records[0]!, raw.records[2]!]);
      const d = decodeBatch(rebuilt);
      expect(d.header).toMatchObject({
        baseOffset: 40,
        lastOffsetDelta: 2,
        recordCount: 2,
        baseTimestamp: 1000,
        maxTimestamp: 1002,
        producerId: 9,
        producerEpoch: 2,
        baseSequence: 17,
        attributes: compression,
      });
      expect(d.records.map((r) => [r.offset, r.key?.toString(), r.timestamp])).toEqual([
        [40, 'a', 1000],
        [42, 'c', 1002],
      ]);
      expect(d.records[1]!.headers).toEqual([{ key: 'h', value: Buffer.from('y') }]);
      const empty = decodeBatch(rebuildBatch(raw.header, []));
      expect(empty.header).toMatchObject({
        recordCount: 0,
        lastOffsetDelta: 2,
        maxTimestamp: 1005,
      });
      expect(empty.records).toEqual([]);
    }
  });

  it('finds a record without a key; random bytes never crash it, only CorruptBatchError', () => {
    expect(firstKeylessRecord(encodeBatch([{ key: 'a', value: '1' }]))).toBeUndefined();
    const two = Buffer.concat([
      encodeBatch([{ key: 'a', value: '1' }], { baseOffset: 0 }),
      encodeBatch([{ key: 'b', value: '1' }, { value: '2' }], { baseOffset: 1 }),
    ]);
    expect(firstKeylessRecord(two)).toBe(2);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          firstKeylessRecord(Buffer.from(bytes));
        } catch (err) {
          expect((err as { code?: string }).code).toMatch(/CORRUPT_BATCH|UNSUPPORTED_COMPRESSION/);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('compaction configs', () => {
  it('takes delete, compact and both (either order), with Kafka’s defaults', () => {
    expect(checkTopicConfigs({ 'cleanup.policy': 'delete, compact' })).toEqual({
      'cleanup.policy': 'compact,delete',
    });
    expect(topicConfig({ 'cleanup.policy': 'compact' })).toMatchObject({
      cleanupPolicy: 'compact',
      deleteRetentionMs: 86_400_000,
      minCleanableDirtyRatio: 0.5,
      minCompactionLagMs: 0,
    });
    expect(() => checkTopicConfigs({ 'cleanup.policy': 'shred' })).toThrow(/compact,delete/);
    expect(() => checkTopicConfigs({ 'min.cleanable.dirty.ratio': '1.5' })).toThrow(
      /min.cleanable.dirty.ratio/,
    );
  });
});
