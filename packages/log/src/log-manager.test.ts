import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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

  it('an idle partition costs no timer, no descriptor and no write, even across restarts', async () => {
    const d = tempDir();
    dirs.push(d);
    const config = { durability: { mode: 'interval' as const, intervalMs: 20, bytes: 1 << 20 } };
    const ids = Array.from({ length: 100 }, (_, p) => ({ topic: 'idle', partition: p }));
    let mgr = await LogManager.open(d.path, { maxOpenFiles: 8 });
    for (const id of ids) await mgr.getOrCreate(id, config);
    const busy = await mgr.getOrCreate({ topic: 'busy', partition: 0 }, config);
    expect(mgr.background.waiting).toBe(0);
    await busy.append(simpleBatch(1, 10, 0));
    // A sync within the interval and a checkpoint later: the busy log's work only.
    expect(mgr.background.waiting).toBe(2);
    const deadline = Date.now() + 5000;
    while (busy.flushedOffset < 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    expect(busy.flushedOffset).toBe(1);
    await mgr.close();

    // Reopened after the clean close and closed again unchanged: no file of an idle partition
    // is written (its checkpoint and index files stay as they were).
    const stamp = (p: number) => {
      const dir = join(d.path, `idle-${p}`);
      return readdirSync(dir)
        .sort()
        .map((f) => `${f}@${statSync(join(dir, f)).mtimeMs}`)
        .join(',');
    };
    const before = ids.map((id) => stamp(id.partition));
    expect(before[0]).toMatch(/\.index@.*\.log@.*\.timeindex@.*checkpoint@/);
    mgr = await LogManager.open(d.path, { maxOpenFiles: 8 });
    for (const id of ids) await mgr.getOrCreate(id, config);
    expect(mgr.background.waiting).toBe(0);
    expect(mgr.fds.openCount).toBe(0);
    await mgr.close();
    expect(ids.map((id) => stamp(id.partition))).toEqual(before);
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
