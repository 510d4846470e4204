import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CorruptBatchError,
  OffsetOutOfRangeError,
  RecordTooLargeError,
  readBatchHeader,
  splitBatches,
} from '@strand/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { makeBatch, manualClock, simpleBatch, tempDir } from './batches.test-util.js';
import type { LogConfigInput } from './config.js';
import { PartitionLog } from './partition-log.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d.path;
}

function offsetsOf(records: Buffer): number[] {
  return splitBatches(records).map((b) => b.header.baseOffset);
}

function checkInvariant(log: PartitionLog): void {
  const o = log.offsets();
  expect(o.flushedOffset).toBeLessThanOrEqual(o.writtenOffset);
  expect(o.writtenOffset).toBeLessThanOrEqual(o.endOffset);
}

describe('PartitionLog', () => {
  it('reports its size in bytes and how long each flush took', async () => {
    const flushes: number[] = [];
    const log = await PartitionLog.open(dir(), {}, { onFlush: (s) => flushes.push(s) });
    expect(log.sizeBytes).toBe(0);
    const a = simpleBatch(3, 10, 1000);
    const b = simpleBatch(2, 10, 1001);
    await log.append(Buffer.from(a));
    await log.append(Buffer.from(b));
    expect(log.sizeBytes).toBe(a.length + b.length);
    await log.flush();
    expect(flushes).toHaveLength(1);
    expect(flushes[0]).toBeGreaterThanOrEqual(0);
    await log.flush(); // nothing new: no sync, nothing reported
    expect(flushes).toHaveLength(1);
    await log.close();
  });

  it('assigns dense offsets from the log start and reads them back', async () => {
    const log = await PartitionLog.open(dir());
    const a = await log.append(simpleBatch(3, 10, 1000));
    const b = await log.append(Buffer.concat([simpleBatch(2, 10, 1001), simpleBatch(4, 10, 1002)]));
    expect(a).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    expect(b).toMatchObject({ baseOffset: 3, lastOffset: 8 });
    expect(log.logEndOffset).toBe(9);
    const all = await log.read(0, 1 << 20);
    expect(offsetsOf(all.records)).toEqual([0, 3, 5]);
    // The batch holding offset 4 comes first.
    expect(offsetsOf((await log.read(4, 1 << 20)).records)).toEqual([3, 5]);
    expect((await log.read(9, 100)).records.length).toBe(0);
    await log.close();
  });

  it('returns at least one whole batch even past the byte budget, and stops at maxOffset', async () => {
    const log = await PartitionLog.open(dir());
    for (let i = 0; i < 5; i++) await log.append(simpleBatch(2, 500, 1000 + i));
    const one = await log.read(0, 10);
    expect(offsetsOf(one.records)).toEqual([0]);
    const bounded = await log.read(0, 1 << 20, { maxOffset: 6 });
    expect(offsetsOf(bounded.records)).toEqual([0, 2, 4]);
    await log.close();
  });

  it('without minOneBatch reads nothing when the first batch is too big, and says how big it is', async () => {
    const log = await PartitionLog.open(dir());
    const batch = simpleBatch(2, 500, 1000);
    for (let i = 0; i < 3; i++) await log.append(Buffer.from(batch));
    const none = await log.read(2, 100, { minOneBatch: false });
    expect(none.records.length).toBe(0);
    expect(none.firstBatchBytes).toBe(batch.length);
    const exact = await log.read(2, batch.length, { minOneBatch: false });
    expect(offsetsOf(exact.records)).toEqual([2]);
    expect(exact.firstBatchBytes).toBeUndefined();
    // Past the high watermark it is not reported at all.
    const above = await log.read(2, 100, { minOneBatch: false, maxOffset: 3 });
    expect([above.records.length, above.firstBatchBytes]).toEqual([0, undefined]);
    await log.close();
  });

  it('rejects a bad batch and changes nothing', async () => {
    const log = await PartitionLog.open(dir());
    await log.append(simpleBatch(1, 10, 1));
    const good = simpleBatch(2, 10, 2);
    const bad = simpleBatch(2, 10, 3);
    bad[bad.length - 1]! ^= 0xff;
    await expect(log.append(Buffer.concat([good, bad]))).rejects.toBeInstanceOf(CorruptBatchError);
    const wrongMagic = simpleBatch(1, 10, 4);
    wrongMagic[16] = 1;
    await expect(log.append(wrongMagic)).rejects.toThrow(/magic/);
    await expect(log.append(simpleBatch(1, 10, 4).subarray(0, 70))).rejects.toBeInstanceOf(
      CorruptBatchError,
    );
    expect(log.logEndOffset).toBe(1);
    expect(offsetsOf((await log.read(0, 1 << 20)).records)).toEqual([0]);
    await log.close();
  });

  it('rejects oversize appends and out-of-range reads with typed errors', async () => {
    const log = await PartitionLog.open(dir(), { maxAppendBytes: 1024 });
    await expect(log.append(simpleBatch(2, 1000, 1))).rejects.toBeInstanceOf(RecordTooLargeError);
    await log.append(simpleBatch(1, 10, 1));
    await expect(log.read(5, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await expect(log.read(-1, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await log.close();
  });

  it('rolls segments by size and by age, and keeps reading across them', async () => {
    const clock = manualClock();
    const d = dir();
    const log = await PartitionLog.open(
      d,
      { segmentBytes: 2048, segmentMs: 60_000 },
      { now: clock.now },
    );
    for (let i = 0; i < 10; i++) await log.append(simpleBatch(1, 500, 1000 + i));
    expect(log.segmentCount).toBeGreaterThanOrEqual(4);
    const before = log.segmentCount;
    clock.advance(61_000);
    await log.append(simpleBatch(1, 10, 2000));
    expect(log.segmentCount).toBe(before + 1);
    for (let o = 0; o < 11; o++) {
      const first = readBatchHeader((await log.read(o, 1)).records);
      expect(first.baseOffset).toBe(o);
    }
    const names = readdirSync(d).filter((n) => n.endsWith('.log'));
    expect(names[0]).toBe('00000000000000000000.log');
    await log.close();
  });

  it('finds the first offset with timestamp >= t with out-of-order timestamps', async () => {
    const log = await PartitionLog.open(dir(), { indexIntervalBytes: 1 });
    await log.append(
      makeBatch([
        { timestamp: 100, value: Buffer.from('a') },
        { timestamp: 300, value: Buffer.from('b') },
      ]),
    );
    await log.append(makeBatch([{ timestamp: 200, value: Buffer.from('c') }]));
    await log.append(
      makeBatch([
        { timestamp: 500, value: Buffer.from('d') },
        { timestamp: 400, value: Buffer.from('e') },
      ]),
    );
    expect(await log.offsetForTimestamp(50)).toBe(0);
    expect(await log.offsetForTimestamp(150)).toBe(1);
    expect(await log.offsetForTimestamp(250)).toBe(1);
    expect(await log.offsetForTimestamp(301)).toBe(3);
    expect(await log.offsetForTimestamp(450)).toBe(3);
    expect(await log.offsetForTimestamp(501)).toBeUndefined();
    await log.close();
  });

  it('truncates to a batch boundary and continues appending from there', async () => {
    const log = await PartitionLog.open(dir(), { segmentBytes: 1024 });
    for (let i = 0; i < 10; i++) await log.append(simpleBatch(2, 200, 1000 + i));
    expect(await log.truncateTo(7)).toBe(6);
    expect(log.logEndOffset).toBe(6);
    const next = await log.append(simpleBatch(1, 10, 5000));
    expect(next.baseOffset).toBe(6);
    expect(offsetsOf((await log.read(4, 1 << 20)).records)).toEqual([4, 6]);
    await log.close();
    const again = await PartitionLog.open(log.dir, { segmentBytes: 1024 });
    expect(again.logEndOffset).toBe(7);
    await again.close();
  });

  it('resets to an empty log starting at a given offset, and stays there across a restart', async () => {
    const log = await PartitionLog.open(dir(), { segmentBytes: 1024 });
    for (let i = 0; i < 10; i++) await log.append(simpleBatch(2, 200, 1000 + i));
    await log.resetTo(500);
    expect(log.logStartOffset).toBe(500);
    expect(log.logEndOffset).toBe(500);
    checkInvariant(log);
    await expect(log.read(10, 1 << 20)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect((await log.append(simpleBatch(1, 10, 5000))).baseOffset).toBe(500);
    await log.close();
    const again = await PartitionLog.open(log.dir, { segmentBytes: 1024 });
    expect([again.logStartOffset, again.logEndOffset]).toEqual([500, 501]);
    expect(offsetsOf((await again.read(500, 1 << 20)).records)).toEqual([500]);
    await again.close();
  });

  it('keeps flushed <= written <= end under every durability policy', async () => {
    const policies: LogConfigInput['durability'][] = [
      { mode: 'always' },
      { mode: 'interval', intervalMs: 5, bytes: 2000 },
      { mode: 'os' },
    ];
    for (const durability of policies) {
      const log = await PartitionLog.open(dir(), { durability, segmentBytes: 4096 });
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 40; i++) {
        pending.push(log.append(simpleBatch(3, 100, i)));
        checkInvariant(log);
      }
      await Promise.all(pending);
      checkInvariant(log);
      if (durability?.mode === 'always') expect(log.flushedOffset).toBe(120);
      await log.flush();
      expect(log.offsets()).toMatchObject({
        flushedOffset: 120,
        writtenOffset: 120,
        endOffset: 120,
      });
      await log.close();
    }
  });

  it('survives a clean restart with data, offsets and log start intact', async () => {
    const d = dir();
    const log = await PartitionLog.open(d, { segmentBytes: 1024, retentionBytes: 2048 });
    for (let i = 0; i < 20; i++) await log.append(simpleBatch(1, 300, 1000 + i));
    await log.applyRetention();
    const start = log.logStartOffset;
    expect(start).toBeGreaterThan(0);
    await log.close();
    const again = await PartitionLog.open(d, { segmentBytes: 1024, retentionBytes: 2048 });
    expect(again.logStartOffset).toBe(start);
    expect(again.logEndOffset).toBe(20);
    expect(offsetsOf((await again.read(start, 1 << 20)).records)[0]).toBe(start);
    await expect(again.read(start - 1, 10)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
    await again.close();
  });

  it('recovers after losing the checkpoint file too', async () => {
    const d = dir();
    const log = await PartitionLog.open(d, { segmentBytes: 1024 });
    for (let i = 0; i < 12; i++) await log.append(simpleBatch(1, 300, 1000 + i));
    await log.flush();
    await log.abandon();
    rmSync(join(d, 'checkpoint'));
    const again = await PartitionLog.open(d, { segmentBytes: 1024 });
    expect(again.logEndOffset).toBe(12);
    await again.close();
  });
  it('never counts as flushed what a truncation removed while a sync was running', async () => {
    // A sync that started before truncateTo/resetTo must not raise the flushed offset past the
    // new end when it finishes (it did: flushed 6 > written 3 under load).
    const log = await PartitionLog.open(dir(), { segmentBytes: 1024 });
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 6; i++) await log.append(simpleBatch(2, 60, 1000 + i));
      const sync = log.flush();
      const end = log.logEndOffset;
      const cut = round % 2 === 0 ? log.truncateTo(end - 5) : log.resetTo(end + 1);
      await Promise.all([sync, cut]);
      checkInvariant(log);
    }
    await log.close();
  });
});
