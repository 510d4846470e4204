import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompressionCodec, CorruptBatchError, decodeBatches, splitBatches } from '@strand/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, tempDir } from '../batches.test-util.js';
import { PartitionLog } from '../partition-log.js';
import { keyedBatch, readAllRecords } from './compaction.test-util.js';
import type { IoThrottle } from './throttle.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

const CONFIG = {
  compact: true,
  segmentBytes: 4096,
  indexIntervalBytes: 256,
  minCleanableDirtyRatio: 0,
};
const CLEAN = { bound: Number.POSITIVE_INFINITY, dedupeBufferBytes: 1 << 20 };

async function openLog(config: object = {}, clock = manualClock()) {
  const d = tempDir('strand-clean-');
  dirs.push(d);
  const log = await PartitionLog.open(d.path, { ...CONFIG, ...config }, { now: clock.now });
  return { log, dir: d.path, clock };
}

/** `rounds` × `keys` updates, one record per batch; key k's value in round r is `k:r`. */
async function fillUpdates(log: PartitionLog, keys: number, rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < keys; k++)
      await log.append(keyedBatch([{ key: `k${k}`, value: `k${k}:${r}:${'x'.repeat(40)}` }]));
}

const latestPerKey = (records: { key: string | null; value: string | null }[]) => {
  const m = new Map<string | null, string | null>();
  for (const r of records) m.set(r.key, r.value);
  return m;
};

describe('the cleaner on one log', () => {
  it('keeps the latest record per key, offsets unchanged, the active segment untouched', async () => {
    const { log } = await openLog();
    await fillUpdates(log, 10, 20);
    const before = await readAllRecords(log);
    const end = log.logEndOffset;
    const sizeBefore = log.sizeBytes;
    const report = await log.clean(CLEAN);
    expect(report.due).toBe(true);
    expect(report.segments).toBeGreaterThan(0);
    expect(log.logEndOffset).toBe(end);
    expect(log.sizeBytes).toBeLessThan(sizeBefore / 2);
    const after = await readAllRecords(log);
    // Every surviving record is the one produced at its offset.
    const byOffset = new Map(before.records.map((r) => [r.offset, r]));
    for (const r of after.records) expect(byOffset.get(r.offset)).toEqual(r);
    expect(latestPerKey(after.records)).toEqual(latestPerKey(before.records));
    // Below the active segment at most one record per key.
    const activeBase = log.segmentInfo().at(-1)!.baseOffset;
    const cleanedKeys = after.records.filter((r) => r.offset < activeBase).map((r) => r.key);
    expect(new Set(cleanedKeys).size).toBe(cleanedKeys.length);
    // The active segment's records are all there.
    expect(after.records.filter((r) => r.offset >= activeBase)).toEqual(
      before.records.filter((r) => r.offset >= activeBase),
    );
    // Segments stay contiguous.
    const segs = log.segmentInfo();
    for (let i = 1; i < segs.length; i++) expect(segs[i]!.baseOffset).toBe(segs[i - 1]!.nextOffset);
    await log.close();
  });

  it('a read inside a removed range starts at the next batch; time lookups skip the gaps', async () => {
    const { log, clock } = await openLog();
    for (let r = 0; r < 20; r++) {
      for (let k = 0; k < 10; k++)
        await log.append(
          keyedBatch([{ key: `k${k}`, value: `v${r}${'y'.repeat(40)}` }], { now: clock.now() }),
        );
      clock.advance(1000);
    }
    await log.clean(CLEAN);
    const { records } = await readAllRecords(log);
    const present = new Set(records.map((r) => r.offset));
    expect(present.has(0)).toBe(false);
    const inGap = 5;
    const { records: buf } = await log.read(inGap, 1 << 20);
    expect(splitBatches(buf)[0]!.header.baseOffset).toBeGreaterThan(inGap);
    // Reading on from there (empty batches keep each cleaned segment's end) reaches the first survivor.
    let at = inGap;
    let firstRecord: number | undefined;
    while (firstRecord === undefined) {
      const batches = decodeBatches((await log.read(at, 1 << 20)).records);
      firstRecord = batches.flatMap((b) => b.records)[0]?.offset;
      const last = batches.at(-1)!.header;
      at = last.baseOffset + last.lastOffsetDelta + 1;
    }
    expect(firstRecord).toBe(Math.min(...present));
    // Time lookups answer with a record that is there.
    const t = 1_700_000_000_000 + 3500;
    const found = await log.offsetForTimestamp(t);
    expect(found).toBeDefined();
    expect(found).toBeGreaterThanOrEqual(120);
    await log.close();
  });

  it('survives a restart (clean and unclean) with the same records', async () => {
    const { log, dir } = await openLog();
    await fillUpdates(log, 8, 15);
    await log.clean(CLEAN);
    const after = await readAllRecords(log);
    await log.close();
    const again = await PartitionLog.open(dir, CONFIG);
    expect(await readAllRecords(again)).toEqual(after);
    await again.flush();
    await again.abandon();
    // Unclean, with the indexes gone: everything is rebuilt from the (gapped) data.
    for (const n of readdirSync(dir))
      if (n.endsWith('.index') || n === 'checkpoint') writeFileSync(join(dir, n), 'junk');
    const third = await PartitionLog.open(dir, CONFIG);
    expect(await readAllRecords(third)).toEqual(after);
    await third.close();
  });

  it('tombstones stay for delete.retention.ms after their segment was cleaned, then go', async () => {
    const { log, clock } = await openLog({ deleteRetentionMs: 60_000 });
    await fillUpdates(log, 5, 10);
    await log.append(keyedBatch([{ key: 'k1', value: null }]));
    await fillUpdates(log, 1, 30); // pushes the tombstone out of the active segment
    await log.clean(CLEAN);
    let recs = (await readAllRecords(log)).records;
    expect(recs.some((r) => r.key === 'k1' && r.value === null)).toBe(true);
    expect(recs.some((r) => r.key === 'k1' && r.value !== null)).toBe(false);
    clock.advance(30_000);
    await fillUpdates(log, 1, 30);
    await log.clean(CLEAN);
    recs = (await readAllRecords(log)).records;
    expect(recs.some((r) => r.key === 'k1')).toBe(true);
    clock.advance(31_000);
    await fillUpdates(log, 1, 30);
    await log.clean(CLEAN);
    recs = (await readAllRecords(log)).records;
    expect(recs.some((r) => r.key === 'k1')).toBe(false);
    expect(latestPerKey(recs).get('k2')).toMatch(/^k2:9:/);
    await log.close();
  });

  it('keeps codec, headers and each producer’s last batch (empty if need be)', async () => {
    const { log } = await openLog();
    for (let r = 0; r < 30; r++)
      await log.append(
        keyedBatch(
          [
            { key: 'a', value: `a${r}${'z'.repeat(60)}` },
            { key: 'b', value: `b${r}${'z'.repeat(60)}` },
          ],
          {
            compression: CompressionCodec.Gzip,
            producerId: 7,
            producerEpoch: 0,
            baseSequence: r * 2,
          },
        ),
      );
    // Another producer overwrites both keys later: producer 7's batches lose every record.
    for (let r = 0; r < 30; r++)
      await log.append(
        keyedBatch(
          [
            { key: 'a', value: `A${r}${'z'.repeat(60)}` },
            { key: 'b', value: `B${r}${'z'.repeat(60)}` },
          ],
          { producerId: 8, producerEpoch: 0, baseSequence: r * 2 },
        ),
      );
    await log.clean(CLEAN);
    const { batches } = await readAllRecords(log);
    const seven = batches.filter((b) => b.producerId === 7);
    // Its newest batch is kept, empty, with its offsets (so its last sequence).
    expect(seven.at(-1)).toMatchObject({
      base: 58,
      last: 59,
      count: 0,
      codec: CompressionCodec.Gzip,
    });
    expect(seven.every((b) => b.count === 0 || b.last === 59 || b.base >= 0)).toBe(true);
    expect(seven.filter((b) => b.count === 0).length).toBeLessThan(5);
    await log.close();
  });

  it('a corrupt batch stops the clean with an error and changes nothing', async () => {
    const { log, dir } = await openLog();
    await fillUpdates(log, 8, 15);
    const before = readdirSync(dir).sort();
    const first = join(dir, '00000000000000000000.log');
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(first);
    bytes[bytes.length - 5]! ^= 0x10;
    writeFileSync(first, bytes);
    await expect(log.clean(CLEAN)).rejects.toBeInstanceOf(CorruptBatchError);
    expect(readdirSync(dir).sort()).toEqual(before);
    await log.abandon();
  });

  it('a small key map cleans what fits and the next passes go on', async () => {
    const { log } = await openLog();
    for (let r = 0; r < 4; r++)
      for (let k = 0; k < 200; k++)
        await log.append(keyedBatch([{ key: `key-${k}`, value: `${r}` }]));
    const before = await readAllRecords(log);
    const tiny = { ...CLEAN, dedupeBufferBytes: 2000 };
    const first = await log.clean(tiny);
    expect(first.more).toBe(true);
    let passes = 1;
    while ((await log.clean(tiny)).more) passes++;
    expect(passes).toBeGreaterThan(1);
    const after = await readAllRecords(log);
    expect(latestPerKey(after.records)).toEqual(latestPerKey(before.records));
    await log.close();
  });

  it('retention removing segments under a pass (compact,delete) stops it quietly', async () => {
    const { log } = await openLog();
    await fillUpdates(log, 10, 20);
    const start = log.segmentInfo()[2]!.baseOffset;
    let raced = false;
    const racing = {
      take: async () => {
        if (raced) return;
        raced = true;
        await log.advanceLogStart(start);
        await log.applyRetention();
      },
    } as unknown as IoThrottle;
    const report = await log.clean({ ...CLEAN, throttle: racing });
    expect(raced).toBe(true);
    expect(report.stopped).toMatch(/changed/);
    // The next pass cleans what is there.
    expect((await log.clean(CLEAN)).segments).toBeGreaterThan(0);
    expect((await readAllRecords(log)).records[0]!.offset).toBeGreaterThanOrEqual(start);
    await log.close();
  });

  it('compact,delete: retention deletes cleaned segments by time like any others', async () => {
    const { log, clock } = await openLog({ retentionMs: 60_000 });
    await fillUpdates(log, 10, 20);
    await log.clean(CLEAN);
    const cleanedSegments = log.segmentCount;
    clock.advance(61_000);
    await fillUpdates(log, 10, 5); // newer data, still within retention
    const removed = await log.applyRetention();
    expect(removed).toBeGreaterThanOrEqual(cleanedSegments - 1);
    const { records } = await readAllRecords(log);
    expect(records[0]!.offset).toBeGreaterThanOrEqual(200);
    expect(records.length).toBeGreaterThan(0);
    await log.close();
  });

  it('a follower copying a cleaned log keeps its offsets and reads the same', async () => {
    const { log } = await openLog();
    await fillUpdates(log, 10, 20);
    await log.clean(CLEAN);
    const d = tempDir('strand-copy-');
    dirs.push(d);
    const copy = await PartitionLog.open(d.path, { ...CONFIG, compact: false });
    let offset = 0;
    while (offset < log.logEndOffset) {
      const { records } = await log.read(offset, 3000);
      await copy.appendCopy(records);
      offset = copy.logEndOffset;
    }
    expect(copy.logEndOffset).toBe(log.logEndOffset);
    expect(await readAllRecords(copy)).toEqual(await readAllRecords(log));
    await copy.close();
    const reopened = await PartitionLog.open(d.path, CONFIG);
    expect(await readAllRecords(reopened)).toEqual(await readAllRecords(log));
    await reopened.close();
    await log.close();
  });
});

describe('max.compaction.lag.ms', () => {
  it('rolls the active segment once its records waited that long, and dates segments by their first batch after a reopen', async () => {
    const clock = manualClock(1_700_000_000_000);
    const config = { segmentBytes: 1 << 20, maxCompactionLagMs: 5000 };
    const { log, dir } = await openLog(config, clock);
    await log.append(keyedBatch([{ key: 'a', value: '1' }], { now: clock.now() }));
    clock.advance(4000);
    await log.append(keyedBatch([{ key: 'a', value: '2' }], { now: clock.now() }));
    expect(log.segmentCount).toBe(1);
    // Without the lag, segment.ms (7 days) would keep both in the active segment, never cleaned.
    clock.advance(2000);
    await log.append(keyedBatch([{ key: 'b', value: '3' }], { now: clock.now() }));
    expect(log.segmentCount).toBe(2);
    await log.close();

    const again = await PartitionLog.open(dir, { ...CONFIG, ...config }, { now: clock.now });
    expect(again.segmentInfo()[0]?.firstBatchTime).toBeUndefined(); // opened from its index
    // A pass that may clean nothing (bound 0) still dates every segment.
    await again.clean({ ...CLEAN, bound: 0 });
    expect(again.segmentInfo()[0]?.firstBatchTime).toBe(1_700_000_000_000);
    await again.clean(CLEAN);
    expect((await readAllRecords(again)).records.map((r) => r.value)).toEqual(['2', '3']);
    await again.close();
  });
});
