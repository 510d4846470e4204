import { describe, expect, it } from 'vitest';
import { CorruptBatchError } from '../errors/errors.js';
import {
  BATCH_HEADER_SIZE,
  batchSize,
  readBatchHeader,
  setBaseOffset,
  verifyBatchCrc,
  writeBatchHeader,
} from './header.js';

function frame(payload: Buffer): Buffer {
  const buf = Buffer.alloc(BATCH_HEADER_SIZE + payload.length);
  payload.copy(buf, BATCH_HEADER_SIZE);
  writeBatchHeader(
    buf,
    0,
    {
      baseOffset: 0,
      partitionLeaderEpoch: 3,
      attributes: 0,
      lastOffsetDelta: 1,
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_005,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 2,
    },
    payload.length,
  );
  return buf;
}

describe('batch header', () => {
  it('round-trips the header and survives a baseOffset patch', () => {
    const buf = frame(Buffer.from('opaque records'));
    setBaseOffset(buf, 42);
    const h = readBatchHeader(buf);
    expect(h.baseOffset).toBe(42);
    expect(batchSize(h)).toBe(buf.length);
    expect(h.recordCount).toBe(2);
    expect(() => verifyBatchCrc(buf, h)).not.toThrow();
  });

  it('rejects a flipped bit inside the CRC range', () => {
    const buf = frame(Buffer.from('opaque records'));
    buf[BATCH_HEADER_SIZE + 3]! ^= 0x10;
    expect(() => verifyBatchCrc(buf, readBatchHeader(buf))).toThrow(CorruptBatchError);
  });

  it('rejects short buffers, wrong magic and lengths past the end', () => {
    const buf = frame(Buffer.from('x'));
    expect(() => readBatchHeader(buf.subarray(0, 60))).toThrow(CorruptBatchError);
    expect(() => readBatchHeader(buf.subarray(0, buf.length - 1))).toThrow(/past the end/);
    const wrongMagic = Buffer.from(buf);
    wrongMagic[16] = 1;
    expect(() => readBatchHeader(wrongMagic)).toThrow(/magic/);
  });
});
