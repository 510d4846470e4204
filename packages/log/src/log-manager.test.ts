import { InvalidRequestError, splitBatches } from '@strand/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { openFilesUnder, simpleBatch, tempDir } from './batches.test-util.js';
import { LogManager } from './log-manager.js';

const openDataFiles = (dir: string) => openFilesUnder(dir, '.log');

const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

describe('LogManager', () => {
  it('keeps open data files bounded across many partitions and segments', async () => {
    const d = tempDir();
    dirs.push(d);
    const mgr = await LogManager.open(d.path, { maxOpenFiles: 8 });
    const config = { segmentBytes: 1024 };
    // Warm up first: libuv opens a few descriptors of its own on first use.
    await (await mgr.getOrCreate({ topic: 'warmup', partition: 0 }, config)).append(
      simpleBatch(1, 10, 0),
    );
    for (let round = 0; round < 6; round++) {
      for (let p = 0; p < 20; p++) {
        const log = await mgr.getOrCreate({ topic: 'events', partition: p }, config);
        await log.append(simpleBatch(1, 500, round));
      }
    }
    expect(mgr.fds.peakOpen).toBeLessThanOrEqual(8);
    const open = openDataFiles(d.path);
    expect(open).toBeGreaterThan(0);
    expect(open).toBeLessThanOrEqual(8);
    // Every partition reads all of its segments back, still within the bound.
    for (let p = 0; p < 20; p++) {
      const log = await mgr.getOrCreate({ topic: 'events', partition: p }, config);
      expect(log.segmentCount).toBeGreaterThanOrEqual(3);
      for (let o = 0; o < 6; o++) {
        const { records } = await log.read(o, 1);
        expect(splitBatches(records)[0]!.header.baseOffset).toBe(o);
      }
    }
    expect(mgr.fds.peakOpen).toBeLessThanOrEqual(8);
    await mgr.close();
    const again = await LogManager.open(d.path, { maxOpenFiles: 8 });
    expect((await again.listOnDisk()).length).toBe(21);
    const log = await again.getOrCreate({ topic: 'events', partition: 7 }, config);
    expect(log.logEndOffset).toBe(6);
    await again.delete({ topic: 'events', partition: 7 });
    expect((await again.listOnDisk()).length).toBe(20);
    await again.close();
  });

  it('rejects bad topic names and partitions', async () => {
    const d = tempDir();
    dirs.push(d);
    const mgr = await LogManager.open(d.path);
    expect(() => mgr.getOrCreate({ topic: '../etc', partition: 0 })).toThrow(InvalidRequestError);
    expect(() => mgr.getOrCreate({ topic: 'ok', partition: -1 })).toThrow(InvalidRequestError);
    expect(() => mgr.getOrCreate({ topic: '', partition: 0 })).toThrow(InvalidRequestError);
    await mgr.close();
  });
});
