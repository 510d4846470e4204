import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, StrandError } from '@strand/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { simpleBatch, tempDir } from './batches.test-util.js';
import { PartitionLog } from './partition-log.js';

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

// /dev/full answers every write with ENOSPC: a real full disk without mounting anything.
describe('a full disk', () => {
  it('gives a typed STORAGE_FULL error and leaves the log unchanged', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = await PartitionLog.open(d.path, { segmentBytes: 1024, durability: { mode: 'os' } });
    await log.append(simpleBatch(1, 600, 1));
    // The next append rolls into a new segment file, which will live on a full disk.
    symlinkSync('/dev/full', join(d.path, '00000000000000000001.log'));
    const err = await log.append(simpleBatch(1, 600, 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrandError);
    expect((err as StrandError).code).toBe(ErrorCode.StorageFull);
    expect(log.offsets()).toMatchObject({ endOffset: 1, writtenOffset: 1 });
    const { records } = await log.read(0, 1 << 20);
    expect(records.readBigInt64BE(0)).toBe(0n);
    expect((await log.read(1, 1 << 20)).records.length).toBe(0);
    await log.abandon();
  });
});
