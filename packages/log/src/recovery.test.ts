import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptBatchError, splitBatches } from '@strand/wire';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { simpleBatch, tempDir } from './batches.test-util.js';
import { PartitionLog } from './partition-log.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

const CONFIG = { segmentBytes: 64 * 1024, indexIntervalBytes: 512 };

/** Appends `n` batches of varied sizes; returns each batch's [baseOffset, byte end in the file]. */
async function fill(
  dir: string,
  n: number,
  seed: number,
): Promise<{ base: number; next: number; end: number }[]> {
  const log = await PartitionLog.open(dir, CONFIG);
  const out: { base: number; next: number; end: number }[] = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const batch = simpleBatch(1 + ((seed + i) % 4), 20 + ((seed * 7 + i * 13) % 200), 1000 + i);
    const r = await log.append(batch);
    pos += batch.length;
    out.push({ base: r.baseOffset, next: r.lastOffset + 1, end: pos });
  }
  await log.flush();
  await log.abandon(); // a crash: no clean marker, no final checkpoint
  return out;
}

/** Reads every batch from the start through the public API, checking density. */
async function readAll(log: PartitionLog): Promise<number[]> {
  const bases: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 1 << 20);
    const batches = splitBatches(records, true);
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) {
      expect(b.header.baseOffset).toBe(offset);
      bases.push(b.header.baseOffset);
      offset = b.header.baseOffset + b.header.lastOffsetDelta + 1;
    }
  }
  return bases;
}

describe('crash recovery', () => {
  it('says once what an open recovered: nothing after a clean close, a cut tail after a torn write', async () => {
    const d = tempDir();
    dirs.push(d);
    const fresh = await PartitionLog.open(d.path, CONFIG);
    expect(fresh.takeRecovery()).toBeUndefined(); // a new log
    await fresh.close();
    const clean = await PartitionLog.open(d.path, CONFIG);
    expect(clean.takeRecovery()).toBeUndefined();
    await clean.close();
    rmSync(d.path, { recursive: true, force: true });

    const batches = await fill(d.path, 20, 3);
    const crashed = await PartitionLog.open(d.path, CONFIG);
    expect(crashed.takeRecovery()).toMatchObject({
      truncated: false,
      logEndOffset: batches.at(-1)!.next,
      ms: expect.any(Number),
    });
    expect(crashed.takeRecovery()).toBeUndefined(); // once
    await crashed.abandon();
    const segment = readdirSync(d.path).find((f) => f.endsWith('.log'))!;
    truncateSync(join(d.path, segment), batches.at(-1)!.end - 3); // a torn last batch
    const torn = await PartitionLog.open(d.path, CONFIG);
    expect(torn.takeRecovery()).toMatchObject({
      truncated: true,
      logEndOffset: batches.at(-1)!.base,
    });
    await torn.close();
  });

  it('cut at any byte: reopening yields the longest valid prefix and appends continue', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (seed, where) => {
          const d = tempDir();
          dirs.push(d);
          const batches = await fill(d.path, 30, seed);
          const total = batches[batches.length - 1]!.end;
          const cut = Math.floor(where * total);
          truncateSync(join(d.path, '00000000000000000000.log'), cut);
          rmSync(join(d.path, 'checkpoint'), { force: true }); // no recovery point: verify everything
          const kept = batches.filter((b) => b.end <= cut);
          const expectedEnd = kept.length === 0 ? 0 : kept[kept.length - 1]!.next;
          const log = await PartitionLog.open(d.path, CONFIG);
          expect(log.logEndOffset).toBe(kept.length === 0 ? 0 : expectedEnd);
          expect(await readAll(log)).toEqual(kept.map((b) => b.base));
          const next = await log.append(simpleBatch(1, 10, 5));
          expect(next.baseOffset).toBe(log.logEndOffset - 1);
          expect(next.baseOffset).toBe(kept.length === 0 ? 0 : expectedEnd);
          await log.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('flipped bits: recovery keeps exactly the batches before the first damaged one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 0.9999, noNaN: true }),
        fc.integer({ min: 0, max: 7 }),
        async (seed, where, bit) => {
          const d = tempDir();
          dirs.push(d);
          const batches = await fill(d.path, 30, seed);
          const file = join(d.path, '00000000000000000000.log');
          const bytes = readFileSync(file);
          const at = Math.floor(where * bytes.length);
          bytes[at]! ^= 1 << bit;
          writeFileSync(file, bytes);
          rmSync(join(d.path, 'checkpoint'), { force: true });
          const damaged = batches.findIndex((b) => b.end > at);
          const log = await PartitionLog.open(d.path, CONFIG);
          const got = await readAll(log);
          // partitionLeaderEpoch (bytes 12..15 of a header) is outside the CRC: a flip there is
          // undetectable by design, so the batch may survive; nothing else may.
          const start = damaged === 0 ? 0 : batches[damaged - 1]!.end;
          const inEpoch = at - start >= 12 && at - start < 16;
          if (inEpoch) expect(got.length).toBeGreaterThanOrEqual(damaged);
          else expect(got).toEqual(batches.slice(0, damaged).map((b) => b.base));
          await log.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('corruption below the recovery point is never served', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = await PartitionLog.open(d.path, CONFIG);
    for (let i = 0; i < 20; i++) await log.append(simpleBatch(2, 100, i));
    await log.close(); // clean: indexes trusted, data not rescanned
    const file = join(d.path, '00000000000000000000.log');
    const bytes = readFileSync(file);
    bytes[bytes.length - 20]! ^= 0x01; // inside the last batch's records
    writeFileSync(file, bytes);
    const again = await PartitionLog.open(d.path, CONFIG);
    expect(again.logEndOffset).toBe(40);
    await expect(again.read(38, 1 << 20)).rejects.toBeInstanceOf(CorruptBatchError);
    // A read that starts before it gets every good batch up to it, then the error from there.
    const { records } = await again.read(0, 1 << 20);
    expect(splitBatches(records).length).toBe(19);
    const { records: some } = await again.read(30, 1 << 20);
    expect(splitBatches(some).map((b) => b.header.baseOffset)).toEqual([30, 32, 34, 36]);
    await again.close();
  });

  it('drops every segment after a torn one', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = await PartitionLog.open(d.path, { segmentBytes: 2048 });
    for (let i = 0; i < 30; i++) await log.append(simpleBatch(1, 300, i));
    await log.flush();
    await log.abandon();
    const segs = readdirSync(d.path)
      .filter((n) => n.endsWith('.log'))
      .sort();
    expect(segs.length).toBeGreaterThan(3);
    // Damage the second segment's data and its index: recovery must stop there.
    const second = join(d.path, segs[1]!);
    truncateSync(second, 100);
    rmSync(join(d.path, segs[1]!.replace('.log', '.index')), { force: true });
    rmSync(join(d.path, 'checkpoint'), { force: true });
    const again = await PartitionLog.open(d.path, { segmentBytes: 2048 });
    expect(again.logEndOffset).toBe(Number(segs[1]!.slice(0, 20)));
    expect(readdirSync(d.path).filter((n) => n.endsWith('.log')).length).toBe(2);
    await again.close();
  });
});
