import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DiskGuard } from '@strand/disk';
import { mountSmallFilesystem, type SmallFilesystem } from '@strand/testkit';
import { ErrorCode, StrandError, splitBatches } from '@strand/wire';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { simpleBatch } from './batches.test-util.js';
import { LogManager } from './log-manager.js';
import type { PartitionLog } from './partition-log.js';

// Every write path of the log on a real full filesystem (a small tmpfs): a write that does not
// fit is refused with STORAGE_FULL and leaves nothing behind, what was acknowledged stays
// readable, the log stays usable, and once space is back writes resume with no restart.

const MiB = 1024 * 1024;
const mounted = mountSmallFilesystem(16 * MiB);
const fsys = typeof mounted === 'string' ? undefined : mounted;
if (typeof mounted === 'string') console.warn(`disk-full tests do not run: ${mounted}`);
afterAll(() => fsys?.cleanup());

let n = 0;
async function open(fs: SmallFilesystem, config = {}) {
  const dir = join(fs.path, `case-${n++}`);
  const space = await DiskGuard.open(dir, { reserveBytes: MiB, checkMs: 20 });
  const mgr = await LogManager.open(join(dir, 'logs'), { space });
  const log = await mgr.getOrCreate({ topic: 't', partition: 0 }, config);
  return { dir, space, mgr, log };
}

const code = (err: unknown) => (err as StrandError).code;

async function offsetsOf(log: PartitionLog): Promise<number[]> {
  const { records } = await log.read(log.logStartOffset, 64 * MiB);
  return splitBatches(records).map((b) => b.header.baseOffset);
}

async function untilRoom(space: DiskGuard): Promise<void> {
  for (const until = Date.now() + 10_000; space.full && Date.now() < until; )
    await new Promise((r) => setTimeout(r, 20));
  expect(space.full).toBe(false);
}

describe.skipIf(!fsys)('a log on a full disk', () => {
  const fs = fsys!;
  beforeEach(() => fs.unfill());

  it('an append that does not fit is refused and leaves nothing; later ones are refused at once; writes resume when space returns', async () => {
    const { space, mgr, log } = await open(fs, { durability: { mode: 'os' } });
    await log.append(simpleBatch(2, 100, 0));
    const file = join(log.dir, '00000000000000000000.log');
    const before = statSync(file).size;
    fs.fill();
    const err = await log.append(simpleBatch(1, 512 * 1024, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrandError);
    expect(code(err)).toBe(ErrorCode.StorageFull);
    expect((err as StrandError).retriable).toBe(true);
    expect(statSync(file).size).toBe(before);
    expect(log.offsets()).toMatchObject({ endOffset: 2, writtenOffset: 2 });
    expect(space.full).toBe(true);
    // Refused without touching the disk, even a tiny one the freed reserve would take.
    expect(code(await log.append(simpleBatch(1, 10, 2)).catch((e: unknown) => e))).toBe(
      ErrorCode.StorageFull,
    );
    expect(await offsetsOf(log)).toEqual([0]);
    fs.unfill();
    await untilRoom(space);
    expect((await log.append(simpleBatch(1, 10, 3))).baseOffset).toBe(2);
    await mgr.close();
    const again = await LogManager.open(join(log.dir, '..'));
    expect(await offsetsOf(await again.getOrCreate({ topic: 't', partition: 0 }))).toEqual([0, 2]);
    await again.close();
    space.close();
  });

  it('a roll into a new segment that does not fit is refused whole', async () => {
    const { space, mgr, log } = await open(fs, {
      segmentBytes: 64 * 1024,
      durability: { mode: 'os' },
    });
    for (let i = 0; i < 3; i++) await log.append(simpleBatch(1, 20 * 1024, i));
    const segments = log.segmentCount;
    fs.fill();
    const err = await log.append(simpleBatch(1, 60 * 1024, 9)).catch((e: unknown) => e);
    expect(code(err)).toBe(ErrorCode.StorageFull);
    expect(log.logEndOffset).toBe(3);
    expect(log.segmentCount).toBeLessThanOrEqual(segments + 1);
    expect(await offsetsOf(log)).toEqual([0, 1, 2]);
    fs.unfill();
    await untilRoom(space);
    expect((await log.append(simpleBatch(1, 60 * 1024, 9))).baseOffset).toBe(3);
    await mgr.close();
    space.close();
  });

  it('closes cleanly on a full disk (its checkpoint finds room) and reopens with everything', async () => {
    const { dir, space, mgr, log } = await open(fs, { durability: { mode: 'os' } });
    for (let i = 0; i < 5; i++) await log.append(simpleBatch(3, 100, i));
    fs.fill();
    await expect(log.append(simpleBatch(1, 2 * MiB, 0))).rejects.toMatchObject({
      code: ErrorCode.StorageFull,
    });
    await mgr.close();
    // Reopened while still full: opening a log writes nothing it cannot do without.
    const again = await LogManager.open(join(dir, 'logs'), { space });
    const reopened = await again.getOrCreate({ topic: 't', partition: 0 });
    expect(await offsetsOf(reopened)).toEqual([0, 3, 6, 9, 12]);
    await again.close();
    space.close();
  });

  it('after a crash, an unclean start on a full disk recovers and checkpoints in the reserve', async () => {
    const { dir, space, mgr, log } = await open(fs, { durability: { mode: 'os' } });
    for (let i = 0; i < 5; i++) await log.append(simpleBatch(1, 1000, i));
    await log.abandon(); // a crash: no checkpoint at the end
    await mgr.close();
    fs.fill();
    const again = await LogManager.open(join(dir, 'logs'), { space });
    const reopened = await again.getOrCreate({ topic: 't', partition: 0 });
    expect(await offsetsOf(reopened)).toEqual([0, 1, 2, 3, 4]);
    expect(space.full).toBe(true); // the checkpoint needed the reserve
    await again.close();
    space.close();
  });

  it('retention and truncation still run on a full disk, and free its space', async () => {
    const { space, mgr, log } = await open(fs, {
      segmentBytes: 256 * 1024,
      retentionBytes: 300 * 1024,
      durability: { mode: 'os' },
    });
    for (let i = 0; i < 12; i++) await log.append(simpleBatch(1, 100 * 1024, i));
    fs.fill();
    await expect(log.append(simpleBatch(1, 64 * 1024, 99))).rejects.toMatchObject({
      code: ErrorCode.StorageFull,
    });
    const free = fs.freeBytes();
    expect(await log.applyRetention()).toBeGreaterThan(0);
    expect(fs.freeBytes()).toBeGreaterThan(free + 200 * 1024);
    const start = log.logStartOffset;
    expect(start).toBeGreaterThan(0);
    expect(await log.truncateTo(11)).toBe(11);
    expect((await offsetsOf(log))[0]).toBe(start);
    await mgr.close();
    space.close();
  });
});
